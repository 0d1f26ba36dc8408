-- PDF downloads, counted like page views: per CV and day at its public address, and per private
-- link beside its opens. Nothing about the visitor is kept.
alter table cv_daily_views add column pdf_downloads integer not null default 0;
alter table share_links add column pdf_downloads integer not null default 0;

-- Whether search engines may index a CV: the owner's choice, off by default. Served as an
-- X-Robots-Tag header, which crawlers see on every page they fetch.
alter table cvs add column allow_indexing boolean not null default false;

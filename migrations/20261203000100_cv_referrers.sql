-- Where a public CV's visitors came from, per day: the referring site's host name only, never
-- the full address and never the visitor's.
create table cv_daily_referrers (
    owner_id uuid not null,
    cv_id uuid not null,
    day date not null,
    host text not null,
    views integer not null default 0,
    primary key (owner_id, cv_id, day, host),
    foreign key (owner_id, cv_id) references cvs (owner_id, id) on delete cascade
);

-- CVs and their versions. Every tenant-owned table leads with owner_id, in its primary key and in
-- its foreign keys, so that a sharded PostgreSQL (Citus) can distribute them all by owner and
-- keep an account's rows together.
create table cvs (
    owner_id uuid not null references users (id) on delete cascade,
    id uuid not null,
    slug text not null,
    title text not null,
    is_primary boolean not null default false,
    published boolean not null default false,
    theme text not null default 'classic',
    -- JSON pointers of fields kept off the public page and resume.json, e.g. '/basics/email'.
    hidden_fields text[] not null default '{}',
    created_at timestamptz not null default now(),
    -- Bumped by anything that changes what the public sees (publish state, theme, hidden fields).
    updated_at timestamptz not null default now(),
    primary key (owner_id, id),
    unique (owner_id, slug)
);
create unique index cvs_one_primary_per_owner on cvs (owner_id) where is_primary;

-- Every successful save is an immutable version, numbered from 1 per CV. The document is kept as
-- the pretty-printed text the editor shows, so diffs and "unchanged" checks work on what people
-- see.
create table cv_versions (
    owner_id uuid not null,
    cv_id uuid not null,
    number integer not null,
    content text not null,
    size_bytes integer not null,
    created_by uuid,
    created_at timestamptz not null default now(),
    primary key (owner_id, cv_id, number),
    foreign key (owner_id, cv_id) references cvs (owner_id, id) on delete cascade
);

-- Public page views per CV and day: a counter, no cookies, no addresses.
create table cv_daily_views (
    owner_id uuid not null,
    cv_id uuid not null,
    day date not null,
    views integer not null default 0,
    primary key (owner_id, cv_id, day),
    foreign key (owner_id, cv_id) references cvs (owner_id, id) on delete cascade
);

-- Cover letters, written in the background from a CV version and a job description.
create table cover_letters (
    owner_id uuid not null references users (id) on delete cascade,
    id uuid not null,
    cv_id uuid not null,
    cv_version integer not null,
    company text,
    job_title text,
    job_description text not null,
    status text not null default 'pending'
        check (status in ('pending', 'running', 'successful', 'failed')),
    content text,
    -- In words the owner can act on; the technical detail goes to the log.
    failure_reason text,
    attempts integer not null default 0,
    provider text,
    model text,
    latency_ms integer,
    created_at timestamptz not null default now(),
    started_at timestamptz,
    -- Touched at every attempt, so a letter whose worker vanished can be told from a slow one.
    attempted_at timestamptz,
    finished_at timestamptz,
    -- (owner_id, id): the status poll is one index lookup scoped by its owner.
    primary key (owner_id, id),
    foreign key (owner_id, cv_id, cv_version)
        references cv_versions (owner_id, cv_id, number) on delete cascade
);
create index cover_letters_owner_created_idx on cover_letters (owner_id, created_at desc);
create index cover_letters_unfinished_idx on cover_letters (attempted_at)
    where status in ('pending', 'running');

-- Every generation asked for (a new letter or a retry), for the daily quota.
create table cover_letter_generations (
    owner_id uuid not null references users (id) on delete cascade,
    requested_at timestamptz not null default now()
);
create index cover_letter_generations_owner_idx on cover_letter_generations (owner_id, requested_at);

-- Sign in with GitHub. An account may be linked to one GitHub account, found again by GitHub's
-- numeric user id: never by login or email, which their owner can change (ASVS 6.8.1).
create table github_accounts (
    owner_id uuid primary key references users (id) on delete cascade,
    github_id bigint not null unique,
    -- The GitHub login when last seen, to show in settings; never used to find the account.
    login text not null,
    linked_at timestamptz not null default now()
);

-- An account made by signing in with GitHub has no password until its owner sets one.
alter table users alter column password_hash drop not null;

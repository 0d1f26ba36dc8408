-- Accounts and their sessions.
create table users (
    id uuid primary key,
    username text not null,
    email text not null,
    password_hash text not null,
    role text not null default 'member' check (role in ('member', 'admin')),
    status text not null default 'active' check (status in ('active', 'suspended')),
    created_at timestamptz not null default now(),
    last_login_at timestamptz
);
-- Usernames are stored case-folded by the domain type; emails keep their case but are unique
-- regardless of it.
create unique index users_username_key on users (username);
create unique index users_email_key on users (lower(email));

-- tower-sessions records. `user_id` is copied out of the record so an account's sessions can be
-- ended at once (password change, suspension, deletion) and so the table is keyed by its owner.
create table sessions (
    id text primary key,
    user_id uuid references users (id) on delete cascade,
    data jsonb not null,
    expires_at timestamptz not null
);
create index sessions_user_id_idx on sessions (user_id);
create index sessions_expires_at_idx on sessions (expires_at);

-- Failed logins and signups, counted over a sliding window to throttle guessing. Shared by every
-- web process because it lives here rather than in memory.
create table auth_attempts (
    scope text not null,
    key text not null,
    attempted_at timestamptz not null default now()
);
create index auth_attempts_lookup_idx on auth_attempts (scope, key, attempted_at);

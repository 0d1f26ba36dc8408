-- Personal access tokens for the JSON API and the txtcv CLI. Keyed by owner like every tenant
-- table. The secret is high-entropy (256 random bits), so a fast hash (SHA-256) is enough to make
-- a stolen table useless, and it lets a request find its token by hash with one index lookup.
create table access_tokens (
    owner_id uuid not null references users (id) on delete cascade,
    id uuid not null,
    name text not null,
    scope text not null check (scope in ('read', 'write')),
    secret_hash bytea not null,
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz,
    -- The per-token rate limit: a fixed one-minute window and the requests counted in it, kept in
    -- the row so that every process agrees and checking a token and counting it is one update.
    rate_window_start timestamptz,
    rate_window_requests integer not null default 0,
    primary key (owner_id, id)
);
-- A request carries only the secret: its hash finds the token (and so the owner). A unique index
-- without owner_id cannot live on a table distributed by owner, so on a sharded PostgreSQL this
-- table would be a reference table; tokens are few and small.
create unique index access_tokens_by_secret_hash on access_tokens (secret_hash);

-- Two-factor sign-in with TOTP. The secret is kept as it is, because every code is computed from
-- it; it is shown only until the member confirms it with a code (`enabled_at` is null until
-- then), never again after.
create table two_factor (
    owner_id uuid not null references users (id) on delete cascade,
    secret bytea not null,
    created_at timestamptz not null default now(),
    enabled_at timestamptz,
    -- The 30-second step of the last code accepted: a code of that step or an earlier one is
    -- refused, so each code works once.
    last_step bigint not null default 0,
    primary key (owner_id)
);

-- Single-use codes for a lost phone: only the SHA-256 of their 80 random bits is kept.
create table recovery_codes (
    owner_id uuid not null references users (id) on delete cascade,
    code_hash bytea not null,
    used_at timestamptz,
    primary key (owner_id, code_hash)
);

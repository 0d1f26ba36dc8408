-- Mail is composed where the change that causes it happens, and kept here in the same transaction
-- as that change, beside the job that sends it: nothing is lost if the server stops, and no
-- request waits for SMTP. The bodies may carry a single-use link, so they are cleared once the
-- mail is sent or given up; what was sent, to whom and when stays.
create table outgoing_mails (
    owner_id uuid not null references users (id) on delete cascade,
    id uuid not null,
    kind text not null,
    to_address text not null,
    subject text not null,
    text_body text,
    html_body text,
    created_at timestamptz not null default now(),
    attempts integer not null default 0,
    sent_at timestamptz,
    failed_at timestamptz,
    failure text,
    primary key (owner_id, id)
);

-- When the account's current address was confirmed by following a link sent to it.
alter table users add column email_confirmed_at timestamptz;

-- Single-use links mailed to an account: only the SHA-256 of their 256-bit secret is kept. A link
-- confirms the address it was sent to (`email`), or resets the password.
create table account_links (
    owner_id uuid not null references users (id) on delete cascade,
    token_hash bytea not null,
    purpose text not null check (purpose in ('confirm-email', 'reset-password')),
    email text not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz,
    primary key (owner_id, token_hash)
);
-- A link arrives with its secret alone, so it is found by its hash.
create unique index account_links_token_key on account_links (token_hash);

-- Passkeys (WebAuthn discoverable credentials). A passkey answers "which account?" with its user
-- handle, the account's id, so a sign-in finds its row by (owner_id, credential_id): the owner
-- first, as every tenant table here.
create table passkeys (
    owner_id uuid not null references users (id) on delete cascade,
    id uuid not null,
    credential_id bytea not null,
    -- What the person called it ("MacBook", "YubiKey").
    name text not null,
    -- webauthn-rs's Passkey as JSON: the public key and the signature counter.
    credential jsonb not null,
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    primary key (owner_id, id),
    unique (owner_id, credential_id)
);

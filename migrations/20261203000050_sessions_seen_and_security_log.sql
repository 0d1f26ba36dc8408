-- What a member sees of their sessions at /settings/sessions: when each began (a login always
-- makes a new session) and when it was last used. `last_seen_at` is written at most every few
-- minutes per session and process, so it is "last seen" to within that.
alter table sessions add column created_at timestamptz not null default now();
alter table sessions add column last_seen_at timestamptz not null default now();

-- Web processes keep session records in memory and must hear when one changes or ends; a
-- session merely being seen again changes nothing they keep, so it tells nobody.
drop trigger sessions_evict on sessions;
create trigger sessions_evict after update of id, user_id, data, expires_at or delete on sessions
    for each row execute function txtcv_notify_session_changed();

-- A link that changes an account's address: sent to the new address, which replaces the old one
-- only when the link is followed.
alter table account_links drop constraint account_links_purpose_check;
alter table account_links add constraint account_links_purpose_check
    check (purpose in ('confirm-email', 'change-email', 'reset-password'));

-- The account's security log (ASVS 16.3.1): sign-ins and their failures, two-factor changes,
-- resets, address changes and ended sessions. The owner reads the latest at /settings/security,
-- administrators on the account's page. No secret is ever written here.
create table security_events (
    owner_id uuid not null references users (id) on delete cascade,
    id uuid not null,
    kind text not null,
    -- Words for the owner, e.g. which factors a sign-in used, or the address an email change
    -- asked for.
    detail text not null default '',
    client_addr text,
    -- The browser and system in a few words, as read from the User-Agent.
    device text,
    created_at timestamptz not null default now(),
    primary key (owner_id, id)
);
create index security_events_owner_created_idx on security_events (owner_id, created_at desc);

-- Moderation: admins' actions on accounts, abuse reports from the public, and a record of both.

-- Why a moderator took a CV off the public web, shown to its owner on the dashboard. The owner's
-- own publishing clears it.
alter table cvs add column moderation_note text;

-- Usernames of deleted accounts, kept from re-registration for a while so nobody can step into a
-- name that links and people still point at.
create table blocked_usernames (
    username text primary key,
    blocked_until timestamptz not null
);

-- Reports from visitors of a public CV. No account is needed and nothing about the reporter is
-- kept. They go with the reported account (the audit log keeps what was done about them).
create table abuse_reports (
    target_id uuid not null references users (id) on delete cascade,
    id uuid not null,
    category text not null
        check (category in ('spam', 'impersonation', 'harassment', 'illegal', 'other')),
    details text not null,
    created_at timestamptz not null default now(),
    resolved_at timestamptz,
    resolved_by text,
    resolution text check (resolution in ('dismiss', 'unpublish', 'suspend')),
    resolution_note text,
    primary key (target_id, id)
);
create unique index abuse_reports_id_key on abuse_reports (id);
create index abuse_reports_open_idx on abuse_reports (created_at desc) where resolved_at is null;

-- Every moderation action. Names are kept as text and ids carry no foreign key, so the record
-- outlives the accounts it names.
create table audit_log (
    id bigint generated always as identity primary key,
    admin_id uuid,
    admin_username text not null,
    action text not null,
    target_id uuid,
    target_username text not null,
    reason text,
    report_id uuid,
    at timestamptz not null default now()
);
create index audit_log_at_idx on audit_log (at desc);
create index audit_log_admin_idx on audit_log (admin_username, at desc);
create index audit_log_target_idx on audit_log (target_username, at desc);

-- Append-only in the database itself, not only by convention in the code.
create function audit_log_refuse_change() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only';
end;
$$;
create trigger audit_log_append_only
    before update or delete on audit_log
    for each row execute function audit_log_refuse_change();
create trigger audit_log_no_truncate
    before truncate on audit_log
    for each statement execute function audit_log_refuse_change();

-- Turns a txtcv database on a Citus coordinator into a distributed one (src/citus.rs runs it after
-- the migrations, once, when the citus extension is present). See tests/citus/README.md for why
-- each table goes where it goes.
--
-- Citus refuses to distribute a table that a local table references, or that references a local
-- one, so the foreign keys between our tables are dropped first and put back once every table is
-- where it belongs.
set local citus.enable_unsafe_triggers = on;
-- One connection per node for the whole transaction: DDL on shards in parallel connections
-- cannot see what the transaction did before.
set local citus.multi_shard_modify_mode = 'sequential';

create temporary table txtcv_foreign_keys on commit drop as
    select conrelid::regclass as tab, conname, pg_get_constraintdef(oid) as def
    from pg_constraint
    where contype = 'f' and connamespace = 'public'::regnamespace;

do $$
declare
    fk record;
begin
    for fk in select * from txtcv_foreign_keys loop
        execute format('alter table %s drop constraint %I', fk.tab, fk.conname);
    end loop;
end $$;

-- users is a reference table: a copy on every node, the coordinator included. Its trigger runs on
-- each copy, but a NOTIFY on a worker reaches no web process and makes the two-phase commit fail
-- ("cannot PREPARE a transaction that has executed LISTEN, UNLISTEN, or NOTIFY"); only the
-- coordinator's copy, committed without PREPARE, may notify. (The distributed tables have no
-- triggers: the application announces their changes, migration 20261204000010.)
create or replace function txtcv_notify_user_changed() returns trigger language plpgsql as $$
begin
    if not citus_is_coordinator() then
        return null;
    end if;
    perform pg_notify('txtcv_evict', 'user:' || old.id);
    perform pg_notify('txtcv_evict', 'cv:' || old.username);
    if tg_op = 'UPDATE' and new.username <> old.username then
        perform pg_notify('txtcv_evict', 'cv:' || new.username);
    end if;
    return null;
end $$;

-- A unique index on a distributed table must include its distribution column. These secrets are
-- 256 random bits, so uniqueness was never in doubt; the lookups by hash stay indexed, and go to
-- every shard.
drop index access_tokens_by_secret_hash;
create index access_tokens_by_secret_hash on access_tokens (secret_hash);
drop index account_links_token_key;
create index account_links_token_key on account_links (token_hash);

-- Looked up across accounts (by username, email, GitHub id, report id): one copy per node.
select create_reference_table('users');
select create_reference_table('github_accounts');
select create_reference_table('blocked_usernames');
select create_reference_table('abuse_reports');

-- An account's data, all on the shard of its owner.
select create_distributed_table('cvs', 'owner_id');
select create_distributed_table(t, 'owner_id', colocate_with => 'cvs')
from unnest(array[
    'cv_versions', 'cv_daily_views', 'cv_daily_referrers', 'cv_pdfs', 'share_links',
    'cover_letters', 'cover_letter_generations', 'outgoing_mails', 'security_events',
    'passkeys', 'two_factor', 'recovery_codes', 'access_tokens', 'account_links'
]) as t;

-- A session is found by its id alone, and its user_id changes at sign-in (or is null), so it is
-- distributed by id, in a colocation group of its own.
select create_distributed_table('sessions', 'id', colocate_with => 'none');

-- audit_log, auth_attempts and apalis's tables stay local to the coordinator.

do $$
declare
    fk record;
begin
    for fk in select * from txtcv_foreign_keys loop
        execute format('alter table %s add constraint %I %s', fk.tab, fk.conname, fk.def);
    end loop;
end $$;

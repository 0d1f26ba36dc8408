-- Web processes keep hot data in memory (sessions, signed-in users, the published state of public
-- CVs). Every change to those rows tells all of them at commit, on one channel, whichever process
-- or script made it: `session:<id>`, `user:<id>` or `cv:<username>`. A process evicts what it is
-- told; its caches also expire after a few seconds in case a notification is missed.

create function txtcv_notify_session_deleted() returns trigger language plpgsql as $$
begin
    perform pg_notify('txtcv_evict', 'session:' || old.id);
    return null;
end $$;

create trigger sessions_evict after delete on sessions
    for each row execute function txtcv_notify_session_deleted();

create function txtcv_notify_user_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('txtcv_evict', 'user:' || old.id);
    -- Suspension and renames change what the public sees, under the old name and the new one.
    perform pg_notify('txtcv_evict', 'cv:' || old.username);
    if tg_op = 'UPDATE' and new.username <> old.username then
        perform pg_notify('txtcv_evict', 'cv:' || new.username);
    end if;
    return null;
end $$;

create trigger users_evict after update or delete on users
    for each row execute function txtcv_notify_user_changed();

create function txtcv_notify_cv_changed() returns trigger language plpgsql as $$
declare
    owner uuid;
begin
    if tg_op = 'DELETE' then
        owner := old.owner_id;
    else
        owner := new.owner_id;
    end if;
    perform pg_notify('txtcv_evict', 'cv:' || username) from users where id = owner;
    return null;
end $$;

create trigger cvs_evict after insert or update or delete on cvs
    for each row execute function txtcv_notify_cv_changed();
create trigger cv_versions_evict after insert or delete on cv_versions
    for each row execute function txtcv_notify_cv_changed();

-- Web processes keep unfinished letters in memory for their status polls.
create function txtcv_notify_letter_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('txtcv_evict', 'letter:' || old.owner_id || ':' || old.id);
    return null;
end $$;

create trigger cover_letters_evict after update or delete on cover_letters
    for each row execute function txtcv_notify_letter_changed();

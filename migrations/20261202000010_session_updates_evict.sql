-- A session's record changes (a login, a flash message, a daily renewal) as well as ending, and
-- every web process that keeps it in memory must hear of both: a process serving an old record
-- could otherwise write it back over the new one, or act on what it no longer says.
create function txtcv_notify_session_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('txtcv_evict', 'session:' || old.id);
    return null;
end $$;

drop trigger sessions_evict on sessions;
drop function txtcv_notify_session_deleted();

create trigger sessions_evict after update or delete on sessions
    for each row execute function txtcv_notify_session_changed();

-- Changes to sessions, CVs, their versions and cover letters are announced on `txtcv_evict` by
-- the store functions that make them (`store::evictions::announce`), in the same transaction,
-- rather than by these triggers. On Citus these tables are distributed: a trigger runs on a
-- shard, on a worker, where no web process listens, and a NOTIFY there makes the two-phase commit
-- of a transaction that spans nodes fail. One way for both plain PostgreSQL and Citus. The price:
-- a change made by hand in psql is no longer announced, and caches keep the old row until they
-- expire (`cache::FRESH_FOR`, about a minute). `users` keeps its trigger: it is a reference table
-- on Citus, with a copy on the coordinator (src/citus.sql).
drop trigger if exists sessions_evict on sessions;
drop trigger if exists cvs_evict on cvs;
drop trigger if exists cv_versions_evict on cv_versions;
drop trigger if exists cover_letters_evict on cover_letters;
drop function txtcv_notify_session_changed();
drop function txtcv_notify_cv_changed();
drop function txtcv_notify_letter_changed();

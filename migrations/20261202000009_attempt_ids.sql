-- Throttled attempts are counted before the work they guard and given back when they should not
-- count (a right password), so each needs an id to be given back by.
alter table auth_attempts add column id bigint generated always as identity;

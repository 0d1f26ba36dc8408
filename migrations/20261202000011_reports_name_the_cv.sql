-- An account may publish several CVs; a report says which one it is about, so the moderator
-- looks at the right page and unpublishing takes down that CV alone. Reports made before this
-- have no CV. No foreign key: a report outlives the CV it names, which the admin pages say.
alter table abuse_reports add column cv_id uuid;

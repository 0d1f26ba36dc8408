-- Seeds the benchmark database. Variables (psql -v): users, sessions_per_user, sample (the JSON
-- Resume sample's text). Expects the account `bench`, signed up over HTTP: its password hash and
-- session record are the templates (an argon2 hash per account would take minutes).
\set ON_ERROR_STOP on

create temp table template as
select u.password_hash, s.data
from users u join sessions s on s.user_id = u.id
where u.username = 'bench'
limit 1;

-- Accounts user1..userN, each with the sample CV published, half in each theme.
insert into users (id, username, email, password_hash)
select gen_random_uuid(), 'user' || n, 'user' || n || '@example.org', t.password_hash
from generate_series(1, :users) n, template t;

insert into cvs (owner_id, id, slug, title, is_primary, published, theme)
select u.id, gen_random_uuid(), 'cv', 'CV', true, true,
       case when substr(u.username, 5)::int % 2 = 0 then 'classic' else 'modern' end
from users u where u.username ~ '^user[0-9]+$';

insert into cv_versions (owner_id, cv_id, number, content, size_bytes, created_by)
select c.owner_id, c.id, 1, :'sample', octet_length(:'sample'), c.owner_id
from cvs c join users u on u.id = c.owner_id where u.username ~ '^user[0-9]+$';

-- Pollers: sessions_per_user browsers per account, each signed in with a session of its own and
-- watching a letter of its own. Ordered so that neighbours belong to different accounts.
create table bench_pollers as
select rtrim(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '=')
           as session_id,
       u.id as owner_id, c.id as cv_id, gen_random_uuid() as letter_id,
       (k - 1) * :users + n as ord
from generate_series(1, :users) n
join users u on u.username = 'user' || n
join cvs c on c.owner_id = u.id
cross join generate_series(1, :sessions_per_user) k;

insert into sessions (id, user_id, data, expires_at)
select p.session_id, p.owner_id,
       -- axum-login's session hash is the account's id (src/auth/backend.rs), as bytes.
       jsonb_set(jsonb_set(t.data, '{auth,user_id}', to_jsonb(p.owner_id::text)),
                 '{auth,auth_hash}',
                 (select jsonb_agg(get_byte(uuid_send(p.owner_id), i) order by i)
                  from generate_series(0, 15) i)),
       now() + interval '14 days'
from bench_pollers p, template t;

insert into cover_letters (owner_id, id, cv_id, cv_version, company, job_title, job_description)
select owner_id, letter_id, cv_id, 1, 'Acme', 'Rust Engineer', 'We are hiring a Rust engineer.'
from bench_pollers;

analyze;

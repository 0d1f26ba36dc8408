-- PDFs of public CVs, printed once and shared by every process: a repeat download reads the row
-- instead of starting Chromium again, and is the same bytes. `render_key` names the theme, the
-- hidden fields and the paper; the version is a column, so only the newest version's PDF is kept
-- per key and a save replaces it rather than piling up old ones.
create table cv_pdfs (
    owner_id uuid not null,
    cv_id uuid not null,
    version_number integer not null,
    render_key text not null,
    pdf bytea not null,
    created_at timestamptz not null default now(),
    primary key (owner_id, cv_id, render_key),
    foreign key (owner_id, cv_id) references cvs (owner_id, id) on delete cascade
);

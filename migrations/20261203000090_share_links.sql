-- Private links to one CV, one per company: <username>.<base domain>/s/<token>. A link shows the
-- CV even while it is unpublished; it can expire and be revoked, and counts its opens (no
-- addresses kept). The token sits under its owner's host, so a link is found by the owner and
-- the token together, as every tenant table here is keyed by its owner first.
create table share_links (
    owner_id uuid not null,
    id uuid not null,
    cv_id uuid not null,
    -- 256 random bits as hex. Kept, not hashed: the owner copies the link again from the CV's
    -- page, as with a secret gist.
    token text not null,
    label text not null,
    expires_at timestamptz,
    revoked_at timestamptz,
    opens integer not null default 0,
    created_at timestamptz not null default now(),
    primary key (owner_id, id),
    unique (owner_id, token),
    foreign key (owner_id, cv_id) references cvs (owner_id, id) on delete cascade
);

-- v5: the people at the bureau (bureau/docs/people.md): accounts with roles
-- scoped to a jurisdiction, console sessions, failed logins, and the audit log.

-- A person who signs in to the console or the API. The password is kept as an
-- argon2id PHC string only.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    disabled_ms   BIGINT
);

-- What a user may do, and where: a role over a jurisdiction and everything in it.
CREATE TABLE user_roles (
    user_id      TEXT NOT NULL REFERENCES users (id),
    role         TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    PRIMARY KEY (user_id, role, jurisdiction)
);

-- A signed-in browser: the cookie's SHA-256, and the CSRF token its forms carry.
CREATE TABLE user_sessions (
    token_hash   BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    csrf_token   TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL,
    ended_ms     BIGINT
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);

-- Failed logins per account (`account:` and the username's SHA-256) and per
-- address (`address:` and the IP): what slows the next attempt.
CREATE TABLE login_failures (
    subject         TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_ms BIGINT NOT NULL
);

-- Who did what, when: appended only, each entry hashing the one before it.
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    at_ms        BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    jurisdiction TEXT,
    detail       TEXT NOT NULL,
    entry_sha256 BYTEA NOT NULL
);
INSERT INTO counters (name, value) VALUES ('audit_log', 0);

-- What the console filters and counts by, kept beside the body: the matter, the
-- text a search looks in (address and findings, never the responsible party),
-- and the legal review of an accepted case marked for penalty.
ALTER TABLE inspections ADD COLUMN matter TEXT;
ALTER TABLE inspections ADD COLUMN search_text TEXT;
ALTER TABLE inspections ADD COLUMN penalty BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inspections ADD COLUMN legal_status TEXT;
ALTER TABLE inspections ADD COLUMN legal_comment TEXT;
ALTER TABLE inspections ADD COLUMN legal_reviewed_ms BIGINT;
UPDATE inspections SET
    matter = CAST(body AS JSONB) ->> 'matter',
    search_text = coalesce(CAST(body AS JSONB) #>> '{site,address}', '') || ' ' || coalesce(CAST(body AS JSONB) ->> 'findings', '');
-- The case list's order (newest first), and the dashboard's count, which reads
-- nothing but this index. Flagged evidence records, few, have an index of their own.
CREATE INDEX inspections_by_received ON inspections (received_ms, id);
CREATE INDEX inspections_dashboard ON inspections (received_ms, jurisdiction, matter, status, id);
CREATE INDEX evidence_flagged ON evidence_records (inspection_id)
    WHERE status <> 'accepted' OR media_status = 'mismatch';

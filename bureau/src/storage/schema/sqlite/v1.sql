-- Bureau schema version 1, SQLite dialect. Keep in step with postgres/v1.sql: same tables,
-- columns and constraints, only the column types differ. No semicolons in
-- comments: statements are split on them.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('change_feed', 0), ('custody_log', 0);

CREATE TABLE officers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE enrollment_codes (
    code_hash    BLOB PRIMARY KEY,
    officer_id   TEXT NOT NULL REFERENCES officers (id),
    jurisdiction TEXT NOT NULL,
    role         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    used_ms      INTEGER,
    device_id    TEXT
);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    officer_id   TEXT NOT NULL REFERENCES officers (id),
    jurisdiction TEXT NOT NULL,
    role         TEXT NOT NULL,
    public_key   BLOB NOT NULL,
    key_id       BLOB NOT NULL UNIQUE,
    attestation  BLOB,
    certificate  BLOB NOT NULL,
    enrolled_ms  INTEGER NOT NULL,
    revoked_ms   INTEGER
);

CREATE TABLE device_tokens (
    token_hash BLOB PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices (id),
    issued_ms  INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);

-- Every key a device has signed with: the enrolled one, then each rotation's.
CREATE TABLE device_keys (
    key_id     BLOB PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices (id),
    public_key BLOB NOT NULL,
    from_seq   INTEGER NOT NULL
);

-- The head of each device's evidence chain as the bureau has received it.
CREATE TABLE device_chains (
    device_id          TEXT PRIMARY KEY REFERENCES devices (id),
    key_id             BLOB NOT NULL,
    last_seq           INTEGER NOT NULL,
    last_payload_sha256 BLOB
);

CREATE TABLE applied_ops (
    op_id      TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    result     TEXT NOT NULL,
    applied_ms INTEGER NOT NULL
);

CREATE TABLE inspections (
    id           TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    officer_id   TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    status       TEXT NOT NULL,
    amends_id    TEXT REFERENCES inspections (id),
    body         TEXT NOT NULL,
    received_ms  INTEGER NOT NULL,
    review_comment TEXT,
    reviewed_ms  INTEGER
);
CREATE INDEX inspections_by_jurisdiction ON inspections (jurisdiction, status, received_ms);

CREATE TABLE evidence_records (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id      TEXT NOT NULL,
    seq            INTEGER,
    kind           TEXT,
    signed         BLOB NOT NULL,
    payload_sha256 BLOB,
    media_sha256   BLOB,
    media_size     INTEGER,
    inspection_id  TEXT,
    status         TEXT NOT NULL,
    failure        TEXT,
    media_status   TEXT NOT NULL,
    leaf_index     INTEGER UNIQUE,
    received_ms    INTEGER NOT NULL
);
CREATE INDEX evidence_by_device ON evidence_records (device_id, seq);
CREATE INDEX evidence_by_inspection ON evidence_records (inspection_id);
CREATE INDEX evidence_by_media ON evidence_records (media_sha256);

CREATE TABLE custody_log (
    leaf_index INTEGER PRIMARY KEY,
    leaf_hash  BLOB NOT NULL,
    record_id  INTEGER NOT NULL REFERENCES evidence_records (id)
);

CREATE TABLE checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    time_ms   INTEGER NOT NULL,
    signature BLOB NOT NULL
);

-- What devices pull: one row per change, in commit order (see counters).
CREATE TABLE change_feed (
    seq          INTEGER PRIMARY KEY,
    jurisdiction TEXT,
    device_id    TEXT,
    kind         TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL
);

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    jurisdiction TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL
);

CREATE TABLE reference_data (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    body       TEXT NOT NULL,
    loaded_ms  INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
);

CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    photo_id     TEXT NOT NULL,
    sha256       BLOB NOT NULL,
    length       INTEGER NOT NULL,
    upload_offset INTEGER NOT NULL,
    metadata     TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    completed_ms INTEGER
);
-- A device re-offering a photo it already uploaded, and the expiry sweep.
CREATE INDEX uploads_by_photo ON uploads (device_id, sha256);
CREATE INDEX uploads_by_state ON uploads (state, expires_ms);

-- One row per device that delivered these bytes, verified. The file itself is
-- stored once, content-addressed (photos/<sha256 hex>).
CREATE TABLE photos (
    sha256      BLOB NOT NULL,
    size        INTEGER NOT NULL,
    device_id   TEXT NOT NULL,
    photo_id    TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT 'original',
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (sha256, device_id)
);

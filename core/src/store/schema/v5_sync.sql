-- Version 5 upgrade: sync with the bureau.

-- The outbox keeps the bureau's answer for each op: a new state (conflict) and
-- columns, so the table is rebuilt (SQLite cannot change a CHECK in place). The
-- rename carries the AUTOINCREMENT counter over, so seq never repeats.
CREATE TABLE outbox_v5 (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id          TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'applied', 'conflict', 'rejected')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    reason         TEXT,
    result         TEXT,
    done_at_ms     INTEGER
);

INSERT INTO outbox_v5 (seq, op_id, kind, entity_id, payload, created_at_ms, state, attempts,
                       last_error)
    SELECT seq, op_id, kind, entity_id, payload, created_at_ms, state, attempts, last_error
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v5 RENAME TO outbox;

CREATE INDEX outbox_by_state ON outbox (state, seq);
CREATE INDEX outbox_by_entity ON outbox (entity_id, kind);

-- The bureau this device is enrolled with (one row): who the device is there, the
-- token it calls with, and the keys that vouch for it (certificate, bureau key).
CREATE TABLE enrollment (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    server_url         TEXT NOT NULL,
    device_id          TEXT NOT NULL,
    officer_id         TEXT NOT NULL,
    jurisdiction       TEXT NOT NULL,
    role               TEXT NOT NULL,
    token              TEXT NOT NULL,
    token_expires_ms   INTEGER,
    certificate        BLOB NOT NULL,
    bureau_public_key  BLOB NOT NULL,
    enrolled_at_ms     INTEGER NOT NULL
);

-- Where sync stands (one row): the pull cursor, the newest bureau checkpoint (it goes
-- into the next evidence record), consecutive failures (for the backoff), a refused
-- token (no request is sent until the device enrolls again) and the chunk size and
-- speed learnt from the link.
CREATE TABLE sync_state (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    pull_cursor           TEXT,
    checkpoint_tree_size  INTEGER,
    checkpoint_root       BLOB,
    checkpoint_time_ms    INTEGER,
    checkpoint_signature  BLOB,
    failures              INTEGER NOT NULL DEFAULT 0,
    auth_refused          TEXT,
    chunk_bytes           INTEGER NOT NULL,
    link_bytes_per_s      INTEGER
);

INSERT INTO sync_state (id, chunk_bytes) VALUES (1, 262144);

-- Who may talk to the bureau now (one row): taken in a transaction by one sync call,
-- in this process or another, until it ends or the lease expires (a killed process).
CREATE TABLE sync_lease (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    holder         TEXT,
    expires_at_ms  INTEGER
);

INSERT INTO sync_lease (id) VALUES (1);

-- tus uploads of a photo's files: the original (the evidence) and the preview (sent
-- first on a slow link). url is where the bureau keeps the upload; confirmed is the
-- offset the bureau last confirmed, so a restart resumes there (after a HEAD).
CREATE TABLE uploads (
    photo_id       TEXT NOT NULL REFERENCES photos (id),
    role           TEXT NOT NULL CHECK (role IN ('original', 'preview')),
    sha256         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    url            TEXT,
    confirmed      INTEGER NOT NULL DEFAULT 0,
    state          TEXT NOT NULL DEFAULT 'sending'
                   CHECK (state IN ('sending', 'complete', 'failed')),
    reason         TEXT,
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (photo_id, role)
) WITHOUT ROWID;

-- The bureau's proof that its custody log holds one of this device's records: the
-- receipt JSON as received (checkpoint, inclusion proof), checked before it is kept.
CREATE TABLE receipts (
    record_seq      INTEGER PRIMARY KEY NOT NULL REFERENCES evidence_records (seq),
    leaf_index      INTEGER NOT NULL,
    tree_size       INTEGER NOT NULL,
    receipt         TEXT NOT NULL,
    received_at_ms  INTEGER NOT NULL
);

-- Work the bureau dispatched to this device's jurisdiction (the task JSON as sent).
CREATE TABLE tasks (
    id              TEXT PRIMARY KEY NOT NULL,
    body            TEXT NOT NULL,
    created_ms      INTEGER NOT NULL,
    received_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;

-- The bureau's review of an inspection recorded here; its status follows it.
CREATE TABLE reviews (
    inspection_id   TEXT PRIMARY KEY NOT NULL REFERENCES inspections (id),
    decision        TEXT NOT NULL CHECK (decision IN ('accepted', 'returned')),
    comment         TEXT,
    reviewed_ms     INTEGER NOT NULL,
    received_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;

-- Device schema, current version: what a new database is created with.
-- Each migration in schema.rs must lead an older database to exactly this.

CREATE TABLE matters (
    code          TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    checklist_id  TEXT NOT NULL
) WITHOUT ROWID;

-- A template version is immutable once stored; items is a JSON array.
CREATE TABLE checklist_templates (
    id       TEXT NOT NULL,
    version  INTEGER NOT NULL,
    title    TEXT NOT NULL,
    items    TEXT NOT NULL,
    PRIMARY KEY (id, version)
) WITHOUT ROWID;

CREATE TABLE inspections (
    id                 TEXT PRIMARY KEY NOT NULL,
    matter             TEXT NOT NULL REFERENCES matters (code),
    checklist_id       TEXT NOT NULL,
    checklist_version  INTEGER NOT NULL,
    township_code      TEXT NOT NULL,
    county_code        TEXT NOT NULL,
    lat                REAL NOT NULL,
    lon                REAL NOT NULL,
    reported_lat       REAL NOT NULL,
    reported_lon       REAL NOT NULL,
    reported_datum     TEXT NOT NULL,
    address            TEXT NOT NULL,
    task_id            TEXT,
    officer_id         TEXT NOT NULL,
    started_at_ms      INTEGER NOT NULL,
    ended_at_ms        INTEGER,
    status             TEXT NOT NULL
                       CHECK (status IN ('draft', 'submitted', 'accepted', 'returned')),
    findings           TEXT NOT NULL,
    responsible_party  TEXT,
    amends_id          TEXT REFERENCES inspections (id),
    revision           INTEGER NOT NULL DEFAULT 0,
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL,
    submitted_at_ms    INTEGER,
    -- Where the site lies relative to its jurisdiction, when boundaries are loaded.
    site_jurisdiction  TEXT,
    site_inside        INTEGER,
    site_boundary_m    REAL,
    FOREIGN KEY (checklist_id, checklist_version)
        REFERENCES checklist_templates (id, version)
);

-- Keyset paging walks this index newest first.
CREATE INDEX inspections_by_start ON inspections (started_at_ms, id);
CREATE INDEX inspections_by_task ON inspections (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX inspections_by_amends ON inspections (amends_id) WHERE amends_id IS NOT NULL;

CREATE TABLE inspection_answers (
    inspection_id  TEXT NOT NULL REFERENCES inspections (id),
    item_id        TEXT NOT NULL,
    value          TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_id)
) WITHOUT ROWID;

-- Every change that must reach the bureau, written in the same transaction as the
-- change itself. seq gives the push order; op_id makes a resend harmless.
-- An op is pending until the bureau's first answer for it, which is final: applied,
-- conflict or rejected (reason: the bureau's code), never retried.
CREATE TABLE outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id          TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'applied', 'conflict', 'rejected')),
    -- Sends that got no answer for the op, and the code of the last such failure.
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    reason         TEXT,
    -- The bureau's detail for the op (JSON), e.g. an evidence record's leaf index.
    result         TEXT,
    done_at_ms     INTEGER
);

CREATE INDEX outbox_by_state ON outbox (state, seq);
CREATE INDEX outbox_by_entity ON outbox (entity_id, kind);

-- Patrol tracks. The recorder's state lives in the row, so appending a fix after
-- a restart continues exactly where the killed process stopped.
CREATE TABLE tracks (
    id                  TEXT PRIMARY KEY NOT NULL,
    officer_id          TEXT NOT NULL,
    inspection_id       TEXT REFERENCES inspections (id),
    task_id             TEXT,
    filter              TEXT NOT NULL,
    started_at_ms       INTEGER NOT NULL,
    stopped_at_ms       INTEGER,
    segments            INTEGER NOT NULL DEFAULT 0,
    last_seen_ms        INTEGER,
    last_good_ms        INTEGER,
    segment_started_ms  INTEGER,
    last_lat            REAL,
    last_lon            REAL,
    pending_lat         REAL,
    pending_lon         REAL,
    pending_time_ms     INTEGER,
    accepted            INTEGER NOT NULL DEFAULT 0,
    mock                INTEGER NOT NULL DEFAULT 0,
    invalid             INTEGER NOT NULL DEFAULT 0,
    low_accuracy        INTEGER NOT NULL DEFAULT 0,
    speed_jump          INTEGER NOT NULL DEFAULT 0,
    too_close           INTEGER NOT NULL DEFAULT 0,
    too_frequent        INTEGER NOT NULL DEFAULT 0,
    duplicate_time      INTEGER NOT NULL DEFAULT 0,
    out_of_order        INTEGER NOT NULL DEFAULT 0,
    length_m            REAL NOT NULL DEFAULT 0,
    moving_ms           INTEGER NOT NULL DEFAULT 0,
    max_speed_mps       REAL NOT NULL DEFAULT 0,
    first_fix_ms        INTEGER,
    last_fix_ms         INTEGER,
    min_lat             REAL,
    min_lon             REAL,
    max_lat             REAL,
    max_lon             REAL
);

-- Every accepted fix, append-only, in WGS-84 (1e-7 degree integers: exact and
-- hashable). seq orders fixes within a track; segment numbers start at 0.
CREATE TABLE track_fixes (
    track_id        TEXT NOT NULL REFERENCES tracks (id),
    seq             INTEGER NOT NULL,
    segment         INTEGER NOT NULL,
    time_ms         INTEGER NOT NULL,
    lat_e7          INTEGER NOT NULL,
    lon_e7          INTEGER NOT NULL,
    accuracy_m      REAL,
    altitude_m      REAL,
    speed_mps       REAL,
    bearing_deg     REAL,
    provider        TEXT NOT NULL,
    mock            INTEGER NOT NULL,
    reported_datum  TEXT NOT NULL,
    PRIMARY KEY (track_id, seq)
) WITHOUT ROWID;

-- A segment is sealed when it closes: points_sha256 fixes its content for good.
CREATE TABLE track_segments (
    track_id       TEXT NOT NULL REFERENCES tracks (id),
    segment        INTEGER NOT NULL,
    start_reason   TEXT NOT NULL,
    point_count    INTEGER,
    first_time_ms  INTEGER,
    last_time_ms   INTEGER,
    points_sha256  BLOB,
    sealed_at_ms   INTEGER,
    PRIMARY KEY (track_id, segment)
) WITHOUT ROWID;

-- Jurisdiction boundaries as loaded (GeoJSON in its declared datum).
CREATE TABLE boundary_sources (
    id              INTEGER PRIMARY KEY,
    datum           TEXT NOT NULL,
    geojson         TEXT NOT NULL,
    loaded_at_ms    INTEGER NOT NULL
);


-- The device's evidence chain: the exact COSE_Sign1 bytes as signed, never
-- re-encoded. seq is the chain position (strictly +1 from 1).
CREATE TABLE evidence_records (
    seq             INTEGER PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    kid             BLOB NOT NULL,
    -- For key_rotation records: the key id that signs every later record.
    next_kid        BLOB,
    signed          BLOB NOT NULL,
    payload_sha256  BLOB NOT NULL,
    wall_ms         INTEGER NOT NULL,
    mono_ms         INTEGER,
    boot_id         TEXT
);

-- Public keys that signed records on this device.
CREATE TABLE device_keys (
    kid            BLOB PRIMARY KEY NOT NULL,
    public_key     BLOB NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('software', 'platform')),
    first_used_ms  INTEGER NOT NULL
) WITHOUT ROWID;

-- Photos: the original bytes live in the content-addressed file store under their
-- SHA-256; this row says what they are and which record vouches for them.
CREATE TABLE photos (
    id                 TEXT PRIMARY KEY NOT NULL,
    inspection_id      TEXT REFERENCES inspections (id),
    record_seq         INTEGER NOT NULL UNIQUE REFERENCES evidence_records (seq),
    source             TEXT NOT NULL CHECK (source IN ('camera', 'import')),
    sha256             TEXT NOT NULL,
    size               INTEGER NOT NULL,
    mime               TEXT NOT NULL,
    width              INTEGER,
    height             INTEGER,
    orientation        INTEGER,
    taken_at           TEXT,
    taken_at_utc_ms    INTEGER,
    exif_lat           REAL,
    exif_lon           REAL,
    make               TEXT,
    model              TEXT,
    fix_lat            REAL,
    fix_lon            REAL,
    fix_accuracy_m     REAL,
    fix_jurisdiction   TEXT,
    fix_inside         INTEGER,
    fix_boundary_m     REAL,
    thumbnail          TEXT NOT NULL CHECK (thumbnail IN ('ok', 'unavailable')),
    preview            TEXT NOT NULL CHECK (preview IN ('pending', 'ok', 'unavailable')),
    warnings           TEXT NOT NULL,
    captured_at_ms     INTEGER NOT NULL
);

CREATE INDEX photos_by_inspection ON photos (inspection_id) WHERE inspection_id IS NOT NULL;
CREATE INDEX photos_by_sha256 ON photos (sha256);
CREATE INDEX photos_pending_preview ON photos (preview) WHERE preview = 'pending';

-- The bureau this device is enrolled with (one row): who the device is there, the
-- token it calls with, and the keys that vouch for it (certificate, bureau key,
-- TLS pin).
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
    enrolled_at_ms     INTEGER NOT NULL,
    -- The bureau's TLS key, pinned at enrollment (sync/tls_pin.rs); NULL: not pinned.
    tls_pin            TEXT
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

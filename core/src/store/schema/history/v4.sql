-- Device schema, version 4: v3 plus signed evidence (record chain, device keys, photos).

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
CREATE TABLE outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id          TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'applied', 'rejected')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT
);

CREATE INDEX outbox_by_state ON outbox (state, seq);

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

-- Version 3 upgrade: tables added (the inspection columns are added in schema.rs).

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

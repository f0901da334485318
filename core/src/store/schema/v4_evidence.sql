-- Version 4 upgrade: signed evidence.

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

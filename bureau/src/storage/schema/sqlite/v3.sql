-- v3: the points of patrol track segments (bureau/docs/sync-api.md,
-- "evidence.record").

-- A track segment record's fixes as its seal hashes them (21 bytes each), kept
-- only for an accepted record whose points hash to the seal it signed.
CREATE TABLE track_points (
    device_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    points    BLOB NOT NULL,
    PRIMARY KEY (device_id, seq)
);

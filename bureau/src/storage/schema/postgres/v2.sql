-- v2: who may attach evidence to an inspection, and enrollment challenges
-- (bureau/docs/sync-api.md).

-- Officers the bureau assigned to an inspection besides the one who submitted
-- it (a joint inspection): their devices may attach evidence to it.
CREATE TABLE inspection_officers (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    officer_id    TEXT NOT NULL REFERENCES officers (id),
    assigned_ms   BIGINT NOT NULL,
    PRIMARY KEY (inspection_id, officer_id)
);

-- The officer a record's signed context names, NULL when it names none (and
-- for records received before v2).
ALTER TABLE evidence_records ADD COLUMN claimed_officer_id TEXT;

-- Nonces a device signs with its key to enroll, each good for one enrollment
-- until it expires.
CREATE TABLE enrollment_challenges (
    nonce      BYTEA PRIMARY KEY,
    expires_ms BIGINT NOT NULL
);

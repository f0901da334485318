-- v6: what several bureau processes over one database must agree on
-- (bureau/docs/scaling.md).

-- Uploads (bureau/docs/uploads.md): any process may serve a request of an
-- upload. The request working on an upload holds its lease: a token of its own
-- and the time the lease runs out, renewed while the request lasts. A process
-- that dies holding one lets it run out.
ALTER TABLE uploads ADD COLUMN lease_token TEXT;
ALTER TABLE uploads ADD COLUMN lease_until_ms INTEGER;

-- Periodic work done once for all processes (the fire fetch): the process
-- that moves a job's next run forward is the one that does it.
CREATE TABLE scheduled_runs (
    job         TEXT PRIMARY KEY,
    next_run_ms INTEGER NOT NULL
);

-- A device holds a checkpoint of this log that the log does not reach (it asked
-- for a proof up to it, or pushed a record naming it): the bureau was restored
-- from a backup older than what devices hold (bureau/docs/backup.md). Kept for
-- the operator, once per device and size.
CREATE TABLE custody_alarms (
    device_id   TEXT NOT NULL,
    held_size   INTEGER NOT NULL,
    log_size    INTEGER NOT NULL,
    -- The record that named it, when one did.
    seq         INTEGER,
    detected_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, held_size)
)

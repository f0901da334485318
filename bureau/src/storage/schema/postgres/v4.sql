-- v4: satellite fire points and the events they form (bureau/docs/fires.md),
-- how tasks stand as devices report them, and devices with an external GNSS
-- receiver.

-- One FIRMS detection, whatever became of it: outside the territory and
-- filtered ones are kept too, with the filter's code. Positions in millionths
-- of a degree (WGS-84), FRP in hundredths of a MW.
CREATE TABLE fire_detections (
    id           BIGSERIAL PRIMARY KEY,
    product      TEXT NOT NULL,
    satellite    TEXT NOT NULL,
    time_ms      BIGINT NOT NULL,
    lat_e6       BIGINT NOT NULL,
    lon_e6       BIGINT NOT NULL,
    confidence   TEXT NOT NULL,
    frp_cmw      BIGINT,
    daynight     TEXT NOT NULL,
    fire_type    BIGINT,
    jurisdiction TEXT,
    filter       TEXT,
    key_zone     TEXT,
    event_id     TEXT,
    imported_ms  BIGINT NOT NULL,
    UNIQUE (product, satellite, time_ms, lat_e6, lon_e6)
);
CREATE INDEX fire_detections_by_event ON fire_detections (event_id);

-- Detections close in space and time: one fire on the ground, one task.
CREATE TABLE fire_events (
    id           TEXT PRIMARY KEY,
    jurisdiction TEXT NOT NULL,
    first_ms     BIGINT NOT NULL,
    last_ms      BIGINT NOT NULL,
    lat_e6       BIGINT NOT NULL,
    lon_e6       BIGINT NOT NULL,
    detections   BIGINT NOT NULL,
    key_zone     TEXT,
    task_id      TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    updated_ms   BIGINT NOT NULL
);
CREATE INDEX fire_events_by_time ON fire_events (last_ms);
CREATE INDEX fire_events_by_jurisdiction ON fire_events (jurisdiction, first_ms);

-- Where a task stands (the furthest any device reported, or closed), and how
-- it was closed: the accepted inspection, the verdict, the proof of visit.
ALTER TABLE tasks ADD COLUMN event_id TEXT;
ALTER TABLE tasks ADD COLUMN due_ms BIGINT;
ALTER TABLE tasks ADD COLUMN state TEXT NOT NULL DEFAULT 'dispatched';
ALTER TABLE tasks ADD COLUMN state_ms BIGINT;
ALTER TABLE tasks ADD COLUMN closed_ms BIGINT;
ALTER TABLE tasks ADD COLUMN closed_by TEXT;
ALTER TABLE tasks ADD COLUMN verdict TEXT;
ALTER TABLE tasks ADD COLUMN visit TEXT;
ALTER TABLE tasks ADD COLUMN visited_ms BIGINT;

-- Every state a device reported for a task, by the op that carried it.
CREATE TABLE task_states (
    op_id         TEXT PRIMARY KEY,
    task_id       TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT,
    inspection_id TEXT,
    at_ms         BIGINT NOT NULL,
    recorded_ms   BIGINT NOT NULL
);
CREATE INDEX task_states_by_task ON task_states (task_id, recorded_ms);

-- A track segment's time span (its seal's first and last fix), so a proof of
-- visit reads only the segments of its window. NULL for points kept before v4.
ALTER TABLE track_points ADD COLUMN first_ms BIGINT;
ALTER TABLE track_points ADD COLUMN last_ms BIGINT;

-- A device whose fixes come from an external GNSS receiver, which reaches
-- Android as a mock provider: its mock-flagged fixes count for a visit.
ALTER TABLE devices ADD COLUMN external_gnss BIGINT NOT NULL DEFAULT 0;

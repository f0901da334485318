-- Device schema, version 2: reference data, inspections and the sync outbox.

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

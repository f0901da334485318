//! Schema creation and upgrades, versioned by `PRAGMA user_version`.
//!
//! A new database is created from `schema/current.sql` in one step; an older one is
//! brought up by the upgrade steps below, one version at a time. The tests build a
//! database as every older version made it (`schema/history/`) and check that the
//! upgrade arrives at exactly what `current.sql` creates, with the data intact.

use super::reference;
use crate::error::{Error, Result};
use rusqlite::{Connection, Transaction, TransactionBehavior};

pub const VERSION: i64 = 7;
const CURRENT: &str = include_str!("schema/current.sql");

/// Upgrade step from version `n` is `UPGRADES[n - 1]`.
const UPGRADES: [fn(&Transaction) -> Result<()>; (VERSION - 1) as usize] = [
    upgrade_from_v1,
    upgrade_from_v2,
    upgrade_from_v3,
    upgrade_from_v4,
    upgrade_from_v5,
    upgrade_from_v6,
];

pub fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Refuses, without writing anything, a file this app must not touch.
pub fn check_version(conn: &Connection) -> Result<()> {
    let found = user_version(conn)?;
    if found > VERSION {
        // A newer app wrote this database: downgrading would lose its data.
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    if found == 0 {
        let objects: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
            [],
            |row| row.get(0),
        )?;
        if objects > 0 {
            // Some other app's SQLite file: never mix our tables into it.
            return Err(Error::NotADatabase);
        }
    }
    Ok(())
}

/// Creates or upgrades the schema in one immediate transaction, so two processes
/// opening the same file at once cannot both migrate it.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    if user_version(conn)? == VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    check_version(&tx)?;
    match user_version(&tx)? {
        0 => {
            tx.execute_batch(CURRENT)?;
            reference::seed_defaults(&tx)?;
        }
        found => {
            for step in &UPGRADES[(found - 1) as usize..] {
                step(&tx)?;
            }
        }
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Version 2 added the sync outbox.
fn upgrade_from_v1(tx: &Transaction) -> Result<()> {
    tx.execute_batch(
        "CREATE TABLE outbox (
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
         CREATE INDEX outbox_by_state ON outbox (state, seq);",
    )?;
    Ok(())
}

/// Version 3 added patrol tracks, jurisdiction boundaries and where an
/// inspection's site lies relative to its jurisdiction.
fn upgrade_from_v2(tx: &Transaction) -> Result<()> {
    tx.execute_batch(concat!(
        "ALTER TABLE inspections ADD COLUMN site_jurisdiction TEXT;
         ALTER TABLE inspections ADD COLUMN site_inside INTEGER;
         ALTER TABLE inspections ADD COLUMN site_boundary_m REAL;",
        include_str!("schema/v3_tracks.sql")
    ))?;
    Ok(())
}

/// Version 4 added signed evidence: the record chain, device keys and photos.
fn upgrade_from_v3(tx: &Transaction) -> Result<()> {
    tx.execute_batch(include_str!("schema/v4_evidence.sql"))?;
    Ok(())
}

/// Version 5 added sync: the bureau's answers in the outbox, enrollment, sync
/// state and lease, uploads, receipts, tasks and reviews.
fn upgrade_from_v4(tx: &Transaction) -> Result<()> {
    tx.execute_batch(include_str!("schema/v5_sync.sql"))?;
    Ok(())
}

/// Version 6 pins the bureau's TLS key at enrollment. Earlier enrollments stay
/// unpinned until the device enrolls again.
fn upgrade_from_v5(tx: &Transaction) -> Result<()> {
    tx.execute_batch("ALTER TABLE enrollment ADD COLUMN tls_pin TEXT;")?;
    Ok(())
}

/// Version 7 keeps how each task stands here (reported to the bureau by
/// `task.state` ops), and adds the default checklists' version 2 (the fire
/// verdict) beside the version 1 a device already holds.
fn upgrade_from_v6(tx: &Transaction) -> Result<()> {
    tx.execute_batch(
        "ALTER TABLE tasks ADD COLUMN state TEXT NOT NULL DEFAULT 'received'
             CHECK (state IN ('received', 'in_progress', 'completed', 'declined'));
         ALTER TABLE tasks ADD COLUMN state_ms INTEGER;
         ALTER TABLE tasks ADD COLUMN state_reason TEXT;
         ALTER TABLE tasks ADD COLUMN inspection_id TEXT;
         UPDATE tasks SET state_ms = received_at_ms;",
    )?;
    reference::seed_defaults(tx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::wire::ops::OpKind;

    /// Every schema an earlier release created, by version.
    const HISTORY: [&str; (VERSION - 1) as usize] = [
        include_str!("schema/history/v1.sql"),
        include_str!("schema/history/v2.sql"),
        include_str!("schema/history/v3.sql"),
        include_str!("schema/history/v4.sql"),
        include_str!("schema/history/v5.sql"),
        include_str!("schema/history/v6.sql"),
    ];

    /// Everything SQLite knows about the structure, in a form that does not depend
    /// on how the SQL text was laid out.
    fn describe(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        let objects: Vec<(String, String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (kind, name, sql) in objects {
            if kind == "table" {
                for pragma in ["table_info", "foreign_key_list", "index_list"] {
                    let mut stmt = conn.prepare(&format!("PRAGMA {pragma}('{name}')")).unwrap();
                    let columns = stmt.column_count();
                    let rows = stmt
                        .query_map([], |r| {
                            (0..columns)
                                .map(|i| {
                                    r.get::<_, rusqlite::types::Value>(i)
                                        .map(|v| format!("{v:?}"))
                                })
                                .collect::<rusqlite::Result<Vec<_>>>()
                        })
                        .unwrap();
                    for row in rows {
                        out.push(format!("{name} {pragma} {}", row.unwrap().join("|")));
                    }
                }
                let without_rowid = sql
                    .unwrap_or_default()
                    .to_uppercase()
                    .contains("WITHOUT ROWID");
                out.push(format!("{name} without_rowid={without_rowid}"));
            } else {
                let sql = sql.unwrap_or_default();
                out.push(format!(
                    "{kind} {name} {}",
                    sql.split_whitespace().collect::<Vec<_>>().join(" ")
                ));
            }
        }
        out
    }

    fn fresh_description() -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh.db");
        Store::open(&path).unwrap();
        describe(&Connection::open(&path).unwrap())
    }

    /// Builds a database as release `version` left it, with one inspection in it
    /// and the default checklists those releases shipped (version 1, without
    /// the fire verdict).
    fn old_database(path: &std::path::Path, version: usize) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(HISTORY[version - 1]).unwrap();
        for (matter, name) in crate::model::checklist::defaults::MATTERS {
            let mut template = crate::model::checklist::defaults::template_for(matter).unwrap();
            template.version = 1;
            template.items.retain(|i| i.id != "fire_verdict");
            reference::put_template(&conn, &template).unwrap();
            conn.execute(
                "INSERT INTO matters (code, name, checklist_id) VALUES (?1, ?2, ?3)",
                [*matter, *name, template.id.as_str()],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO inspections (id, matter, checklist_id, checklist_version, township_code,
                 county_code, lat, lon, reported_lat, reported_lon, reported_datum, address,
                 officer_id, started_at_ms, status, findings, created_at_ms, updated_at_ms)
             VALUES ('0190f5c2-0000-7000-8000-000000000001', 'straw_burning', 'straw_burning', 1,
                 '430121101', '430121', 28.2, 113.1, 28.2, 113.1, 'wgs84', '村口', 'officer-1',
                 1790000000000, 'draft', '', 1790000000000, 1790000000000)",
            [],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
    }

    #[test]
    fn every_older_version_upgrades_to_exactly_the_current_schema() {
        let fresh = fresh_description();
        assert!(
            fresh.iter().any(|l| l.starts_with("outbox ")),
            "current schema has the outbox"
        );
        for version in 1..VERSION as usize {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("v{version}.db"));
            old_database(&path, version);
            let store = Store::open(&path).unwrap();
            let kept = store
                .get_inspection("0190f5c2-0000-7000-8000-000000000001")
                .unwrap();
            assert_eq!(
                kept.site.address, "村口",
                "data from v{version} survives the upgrade"
            );
            assert_eq!(kept.checklist_version, 1, "an inspection keeps its version");
            // New inspections get the default checklist the app now ships.
            let current = crate::model::checklist::defaults::template_for("straw_burning");
            assert_eq!(
                Some(store.checklist_for_matter("straw_burning").unwrap()),
                current,
                "v{version}"
            );
            drop(store);
            let conn = Connection::open(&path).unwrap();
            assert_eq!(user_version(&conn).unwrap(), VERSION);
            assert_eq!(
                describe(&conn),
                fresh,
                "upgrade from v{version} differs from a fresh schema"
            );
        }
    }

    #[test]
    fn outbox_rebuilt_in_v5_keeps_its_ops_and_seq_counter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        old_database(&path, 4);
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "INSERT INTO outbox (seq, op_id, kind, entity_id, payload, created_at_ms)
                 VALUES (7, '0190f5c2-0000-7000-8000-0000000000aa', 'inspection.submit',
                         '0190f5c2-0000-7000-8000-000000000001', '{}', 1790000000000);",
            )
            .unwrap();
        let store = Store::open(&path).unwrap();
        let kept = store.pending_outbox(10).unwrap();
        assert_eq!((kept.len(), kept[0].seq), (1, 7));
        drop(store);
        let conn = Connection::open(&path).unwrap();
        crate::store::outbox::enqueue(&conn, OpKind::PhotoUpload, "x", &"{}", 1).unwrap();
        let newest: i64 = conn
            .query_row("SELECT max(seq) FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert_eq!(newest, 8, "seq continues after the rebuild");
    }

    #[test]
    fn newer_schema_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.db");
        Store::open(&path).unwrap();
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path)
            .err()
            .expect("a newer schema must be refused");
        assert_eq!(err.code(), "schema_too_new");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file is not modified"
        );
    }

    #[test]
    fn foreign_sqlite_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE contacts (name TEXT)")
            .unwrap();
        assert_eq!(Store::open(&path).err().unwrap().code(), "not_a_database");
    }
}

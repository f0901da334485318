//! The bureau's schema as numbered steps, one pair of DDL files per version
//! (`schema/sqlite/vN.sql`, `schema/postgres/vN.sql`).
//!
//! A new database runs every step from version 1; an older one the steps after
//! its version; so a fresh database and an upgraded one are made by the same
//! statements. A released step never changes (the tests pin each one's SHA-256):
//! a change to the schema is a new step.

use super::{Database, Tx};
use crate::error::{Error, Result};
use crate::params;

/// One version's DDL, in each backend's dialect.
pub struct Step {
    pub version: i64,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every step, oldest first; step `n` brings a database from version `n - 1` to `n`.
pub const STEPS: &[Step] = &[
    Step {
        version: 1,
        sqlite: include_str!("schema/sqlite/v1.sql"),
        postgres: include_str!("schema/postgres/v1.sql"),
    },
    Step {
        version: 2,
        sqlite: include_str!("schema/sqlite/v2.sql"),
        postgres: include_str!("schema/postgres/v2.sql"),
    },
    Step {
        version: 3,
        sqlite: include_str!("schema/sqlite/v3.sql"),
        postgres: include_str!("schema/postgres/v3.sql"),
    },
    Step {
        version: 4,
        sqlite: include_str!("schema/sqlite/v4.sql"),
        postgres: include_str!("schema/postgres/v4.sql"),
    },
    Step {
        version: 5,
        sqlite: include_str!("schema/sqlite/v5.sql"),
        postgres: include_str!("schema/postgres/v5.sql"),
    },
    Step {
        version: 6,
        sqlite: include_str!("schema/sqlite/v6.sql"),
        postgres: include_str!("schema/postgres/v6.sql"),
    },
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;

/// The PostgreSQL advisory lock key that serialises migrations (ASCII "fpschema").
const MIGRATION_LOCK: i64 = 0x6670_7363_6865_6d61;

impl Step {
    /// This step's statements for `db`'s backend (split on `;`, comments dropped).
    pub fn statements(&self, db: &Database) -> impl Iterator<Item = &'static str> {
        let ddl = match db {
            Database::Sqlite(_) => self.sqlite,
            Database::Postgres(_) => self.postgres,
        };
        ddl.split(';').filter(|s| has_code(s))
    }
}

/// Brings `db` to [`SCHEMA_VERSION`] in one transaction; refuses, changing
/// nothing, a database a newer bureau wrote.
pub(super) fn migrate(db: &Database) -> Result<()> {
    db.write(|tx| {
        if let Database::Postgres(_) = db {
            // Bureau processes starting together on an empty database take
            // turns: the first creates the schema, the others find it made.
            // (SQLite's BEGIN IMMEDIATE already admits one writer at a time.)
            tx.execute("SELECT pg_advisory_xact_lock($1)", params![MIGRATION_LOCK])?;
        }
        let found = version(tx)?;
        if found > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        for step in &STEPS[found as usize..] {
            for statement in step.statements(db) {
                tx.execute(statement, &[])?;
            }
        }
        tx.execute("DELETE FROM schema_version", &[])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            params![SCHEMA_VERSION],
        )?;
        Ok(())
    })
}

/// The schema's version; 0 for an empty database.
fn version(tx: &mut Tx) -> Result<i64> {
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
        &[],
    )?;
    match tx.query_opt("SELECT version FROM schema_version", &[])? {
        Some(row) => row.int(0),
        None => Ok(0),
    }
}

/// Whether a piece of DDL holds more than blank lines and `--` comments.
fn has_code(sql: &str) -> bool {
    sql.lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && !l.starts_with("--"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldproof_core::hex;
    use ring::digest::{digest, SHA256};

    /// SHA-256 of each released step's DDL (SQLite, PostgreSQL), by version.
    const RELEASED: &[(i64, &str, &str)] = &[
        (
            1,
            "71262bf20dd561df108853f8617e77c052907abfe74e0b0f08eeb487a144da63",
            "f1c97173c0b36d63a89ff2ab797d01a2f704422017d9b099be25794a234f1b06",
        ),
        (
            2,
            "abfcb13137486f26462fddfa7f6129ab96864e052fe2849112b5959a0e010b57",
            "2df9ff64fb591d38c0743de941174c795446761d066fa0e464aba50184b32c6f",
        ),
        (
            3,
            "bfc77126299810366179a24e914676c5588b8539adbaa311ba607156fe707ba7",
            "cfce3014859bdab080d2524922ad215fb8945cad6fd16117d6fc322b74bc2c11",
        ),
        (
            4,
            "17f6db7cb1595dfa3a6b3a6164062e70b8ce276eb5bd08b3539352bad6600c0e",
            "dbc6c626546635104005c93802a29de2fd9ab5a6956df156914e999ba866b531",
        ),
        (
            5,
            "add039902deb6fffdd9670be885eff60ebb03da64030150de6fe023a46930faf",
            "9d317b959cbfffb5502374dc5744573733706bc2fd2ee15c79676db3eef4ae13",
        ),
        (
            6,
            "27d1a1121d2ccdfe71a51619691679fb213bb78f878a8778ce315839743d4713",
            "94a92fee18404f8e24f76599405a82cdcb688f8cdbd924dd49fc133ece92c43d",
        ),
    ];

    fn sha256(text: &str) -> String {
        hex::encode(digest(&SHA256, text.as_bytes()).as_ref())
    }

    #[test]
    fn released_steps_never_change() {
        for &(version, sqlite, postgres) in RELEASED {
            let step = &STEPS[(version - 1) as usize];
            assert_eq!(step.version, version);
            assert_eq!(
                (sha256(step.sqlite).as_str(), sha256(step.postgres).as_str()),
                (sqlite, postgres),
                "version {version} was released: change the schema in a new step, never in this one"
            );
        }
    }

    #[test]
    fn steps_are_numbered_from_one_and_each_has_both_dialects() {
        for (i, step) in STEPS.iter().enumerate() {
            assert_eq!(step.version, i as i64 + 1);
            assert!(has_code(step.sqlite) && has_code(step.postgres));
        }
        assert!(
            RELEASED.len() >= STEPS.len() - 1,
            "every step but the newest is released and pinned"
        );
    }
}

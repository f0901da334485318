//! The storage conformance suite: one set of tests, written once, run against both
//! backends. Every test is a function `fn name(store: &Store)` in a section module;
//! the section's `conformance!(name, …)` line turns each into two tests,
//! `section::sqlite::name` and `section::postgres::name`, each on a fresh, empty,
//! migrated database of its own.
//!
//! The PostgreSQL half needs `FIELDPROOF_TEST_POSTGRES_URL`: scripts/test starts a
//! throwaway server and sets it, or run
//! `scripts/postgres run cargo test -p fieldproof-bureau --test storage_conformance`.
//! Unset, those tests fail saying so; `=skip` skips them loudly. See
//! bureau/docs/storage.md.
//!
//! The storage contract comes first (values, transactions, savepoints, counters,
//! constraints, migration, snapshots), then the domain modules that rely on it,
//! through the crate's public API. A new domain feature is one more section.

mod support;

use fieldproof_bureau::custody_log::BureauKey;
use fieldproof_bureau::storage::{self, Database, Tx, Value};
use fieldproof_bureau::{params, Error, Result};
use std::fmt::Debug;
use support::{Backend, TestStorage};

/// One test's database (fresh, empty, migrated) and a bureau key.
pub struct Store {
    pub db: Database,
    pub key: BureauKey,
    /// Where the database lives; dropped last (a PostgreSQL one is dropped then).
    pub storage: TestStorage,
}

impl Store {
    fn open(backend: Backend) -> Option<Self> {
        let storage = TestStorage::new(backend)?;
        let db = storage.open().expect("a fresh database opens and migrates");
        assert_eq!(
            db.backend(),
            match backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres | Backend::PostgresS3 => "postgres",
            }
        );
        let key = BureauKey::from_pkcs8(&BureauKey::generate_pkcs8().unwrap()).unwrap();
        Some(Self { db, key, storage })
    }

    fn backend(&self) -> Backend {
        self.storage.backend
    }

    /// Opens the same database again, as another bureau process would.
    fn reopen(&self) -> Result<Database> {
        self.storage.open()
    }
}

fn run(test: fn(&Store), backend: Backend) {
    // None: PostgreSQL skipped on purpose (a SKIPPED line has been printed).
    if let Some(store) = Store::open(backend) {
        test(&store);
    }
}

/// `conformance!(a, b)` in a section: tests `sqlite::a`, `postgres::a`, … that
/// run the section's `fn a(store: &Store)` on each backend.
macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $test() {
                    crate::run(super::$test, crate::Backend::Sqlite)
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $test() {
                    crate::run(super::$test, crate::Backend::Postgres)
                }
            )*
        }
    };
}

/// The error of a result that must have failed.
fn error<T: Debug>(result: Result<T>) -> Error {
    match result {
        Ok(value) => panic!("expected an error, got Ok({value:?})"),
        Err(error) => error,
    }
}

/// A table of one column per value kind, for the tests of the SQL layer itself.
fn create_values_table(store: &Store) {
    let blob = match store.backend() {
        Backend::Sqlite => "BLOB",
        Backend::Postgres | Backend::PostgresS3 => "BYTEA",
    };
    store
        .db
        .write(|tx| {
            tx.execute(
                &format!(
                    "CREATE TABLE conformance (id BIGINT PRIMARY KEY, i BIGINT, t TEXT, b {blob})"
                ),
                &[],
            )
        })
        .unwrap();
}

/// One row of that table: id, integer, text, bytes.
type ValuesRow<'a> = (i64, Option<i64>, Option<&'a str>, Option<&'a [u8]>);

fn insert_value(
    tx: &mut Tx,
    id: i64,
    i: Option<i64>,
    t: Option<&str>,
    b: Option<&[u8]>,
) -> Result<u64> {
    tx.execute(
        "INSERT INTO conformance (id, i, t, b) VALUES ($1, $2, $3, $4)",
        params![id, i, t, b],
    )
}

fn count_values(tx: &mut Tx) -> Result<i64> {
    tx.query_one("SELECT COUNT(*) FROM conformance", &[])?
        .int(0)
}

// ---------------------------------------------------------------------------
/// Values bound and read back: every kind, its extremes, and NULL.
mod values {
    use super::*;

    conformance!(
        round_trips,
        query_opt_and_query_one,
        placeholders_are_numbered,
        expressions_and_aggregates,
        nul_in_text_is_refused,
    );

    fn round_trips(store: &Store) {
        create_values_table(store);
        let long_text = "路".repeat(40_000);
        let all_bytes: Vec<u8> = (0..=255).collect();
        let big_blob: Vec<u8> = (0..1_000_000u32).map(|n| (n * 31 % 251) as u8).collect();
        let rows: Vec<ValuesRow> = vec![
            (1, Some(0), Some(""), Some(&[])),
            (2, Some(i64::MIN), Some("plain ascii"), Some(&[0])),
            (
                3,
                Some(i64::MAX),
                Some("湖南省 长沙县 — ünïcödé 🔥"),
                Some(&all_bytes),
            ),
            (
                4,
                Some(-1),
                Some("quotes ' \" \\ $1 ?1 ; -- not a comment\n\ttabs"),
                Some(&big_blob),
            ),
            (5, None, None, None),
            (6, Some(1), Some(&long_text), Some(&[0xff, 0x00, 0xfe])),
        ];
        store
            .db
            .write(|tx| {
                for (id, i, t, b) in &rows {
                    assert_eq!(insert_value(tx, *id, *i, *t, *b)?, 1);
                }
                Ok(())
            })
            .unwrap();
        let read = store
            .db
            .read(|tx| tx.query("SELECT id, i, t, b FROM conformance ORDER BY id", &[]))
            .unwrap();
        assert_eq!(read.len(), rows.len());
        for (row, (id, i, t, b)) in read.iter().zip(&rows) {
            assert_eq!(row.0[0], Value::Int(*id));
            assert_eq!(row.0[1], Value::from(*i), "integer of row {id}");
            assert_eq!(row.0[2], Value::from(*t), "text of row {id}");
            assert_eq!(row.0[3], Value::from(*b), "bytes of row {id}");
            // The typed accessors agree with the values.
            assert_eq!(row.opt_int(1).unwrap(), *i);
            assert_eq!(row.opt_text(2).unwrap().as_deref(), *t);
            assert_eq!(row.opt_blob(3).unwrap().as_deref(), *b);
        }
        // A NULL is not an integer, and a text is not bytes: typed reads say so.
        assert_eq!(error(read[4].int(1)).code(), "storage_failed");
        assert_eq!(error(read[0].blob(2)).code(), "storage_failed");
        // NULLs match IS NULL, and an empty text or blob is not NULL.
        let nulls = store
            .db
            .read(|tx| {
                tx.query_one(
                    "SELECT COUNT(*) FROM conformance WHERE t IS NULL OR b IS NULL OR i IS NULL",
                    &[],
                )
            })
            .unwrap();
        assert_eq!(nulls.int(0).unwrap(), 1);
        // 32-byte hashes come back as arrays.
        let hash = [7u8; 32];
        store
            .db
            .write(|tx| insert_value(tx, 7, None, None, Some(&hash)))
            .unwrap();
        let row = store
            .db
            .read(|tx| tx.query_one("SELECT b, t FROM conformance WHERE id = $1", params![7i64]))
            .unwrap();
        assert_eq!(row.hash(0).unwrap(), hash);
        assert_eq!(row.opt_text(1).unwrap(), None);
    }

    fn query_opt_and_query_one(store: &Store) {
        create_values_table(store);
        store
            .db
            .write(|tx| {
                insert_value(tx, 1, Some(10), Some("a"), None)?;
                insert_value(tx, 2, Some(20), Some("b"), None)
            })
            .unwrap();
        store
            .db
            .read(|tx| {
                let none =
                    tx.query_opt("SELECT t FROM conformance WHERE id = $1", params![3i64])?;
                assert!(none.is_none());
                let some =
                    tx.query_opt("SELECT t FROM conformance WHERE id = $1", params![2i64])?;
                assert_eq!(some.unwrap().text(0)?, "b");
                // query_opt takes the first row of several, in the query's order.
                let first = tx.query_opt("SELECT id FROM conformance ORDER BY id DESC", &[])?;
                assert_eq!(first.unwrap().int(0)?, 2);
                assert_eq!(
                    tx.query_one("SELECT i FROM conformance WHERE id = $1", params![1i64])?
                        .int(0)?,
                    10
                );
                let missing =
                    tx.query_one("SELECT i FROM conformance WHERE id = $1", params![9i64]);
                assert_eq!(error(missing).code(), "storage_failed");
                // A column past the SELECT list is an error, not a panic.
                let row = tx.query_one("SELECT i FROM conformance WHERE id = 1", &[])?;
                assert_eq!(error(row.int(1)).code(), "storage_failed");
                Ok(())
            })
            .unwrap();
        // execute reports the rows it changed.
        let changed = store
            .db
            .write(|tx| {
                tx.execute(
                    "UPDATE conformance SET t = $1 WHERE i >= $2",
                    params!["c", 0i64],
                )
            })
            .unwrap();
        assert_eq!(changed, 2);
        let none = store
            .db
            .write(|tx| tx.execute("DELETE FROM conformance WHERE id = $1", params![99i64]))
            .unwrap();
        assert_eq!(none, 0);
    }

    fn placeholders_are_numbered(store: &Store) {
        create_values_table(store);
        store
            .db
            .write(|tx| {
                for id in 1..=12i64 {
                    insert_value(tx, id, Some(id * 100), Some(&format!("row {id}")), None)?;
                }
                Ok(())
            })
            .unwrap();
        // $n is parameter n wherever it stands: out of order, repeated, and past 9.
        let rows = store
            .db
            .read(|tx| {
                tx.query(
                    "SELECT id FROM conformance
                     WHERE (i = $2 OR t = $1 OR id IN ($3, $4, $5, $6, $7, $8, $9, $10, $11))
                       AND id <> $11 AND id <> $4
                     ORDER BY id",
                    params![
                        "row 1", 200i64, 3i64, 4i64, 5i64, 6i64, 7i64, 8i64, 9i64, 10i64, 11i64
                    ],
                )
            })
            .unwrap();
        let ids: Vec<i64> = rows.iter().map(|r| r.int(0).unwrap()).collect();
        assert_eq!(ids, vec![1, 2, 3, 5, 6, 7, 8, 9, 10]);
        // A placeholder with no type from its context takes one from a CAST.
        let row = store
            .db
            .read(|tx| {
                tx.query_one(
                    "SELECT CAST($1 AS BIGINT), CAST($2 AS TEXT)",
                    params![-5i64, "cast"],
                )
            })
            .unwrap();
        assert_eq!(row.0, vec![Value::Int(-5), Value::Text("cast".into())]);
    }

    fn expressions_and_aggregates(store: &Store) {
        create_values_table(store);
        store
            .db
            .write(|tx| {
                insert_value(tx, 1, Some(1), Some("a"), None)?;
                insert_value(tx, 2, Some(2), Some("bcd"), None)?;
                insert_value(tx, 3, None, None, None)
            })
            .unwrap();
        let row = store
            .db
            .read(|tx| {
                tx.query_one(
                    "SELECT COUNT(*), COUNT(i), SUM(i), MAX(i), MIN(id), 1, length($1),
                            COALESCE(SUM(CASE WHEN i > 5 THEN i END), 0)
                     FROM conformance",
                    params!["湖南"],
                )
            })
            .unwrap();
        let ints: Vec<i64> = (0..8).map(|i| row.int(i).unwrap()).collect();
        assert_eq!(ints, vec![3, 2, 3, 2, 1, 1, 2, 0]);
        // Comparisons are integers 0 and 1 (booleans are 0/1 in this dialect).
        let flags = store
            .db
            .read(|tx| {
                tx.query(
                    "SELECT i > $1, t IS NULL FROM conformance WHERE id < 3 ORDER BY id",
                    params![1i64],
                )
            })
            .unwrap();
        let flags: Vec<Vec<Value>> = flags.into_iter().map(|r| r.0).collect();
        assert_eq!(
            flags,
            vec![
                vec![Value::Int(0), Value::Int(0)],
                vec![Value::Int(1), Value::Int(0)]
            ]
        );
        // SUM over no rows is NULL; a non-integer result reads as text (a bug to see).
        let row = store
            .db
            .read(|tx| {
                tx.query_one(
                    "SELECT SUM(i), AVG(i) FROM conformance WHERE id > 100 OR id < 3",
                    &[],
                )
            })
            .unwrap();
        assert_eq!(row.0[0], Value::Int(3));
        assert_eq!(row.0[1], Value::Text("1.5".into()));
        let row = store
            .db
            .read(|tx| tx.query_one("SELECT SUM(i) FROM conformance WHERE id > 100", &[]))
            .unwrap();
        assert_eq!(row.0[0], Value::Null);
    }

    fn nul_in_text_is_refused(store: &Store) {
        create_values_table(store);
        // PostgreSQL cannot store U+0000 in text; both backends refuse it alike.
        let refused = store
            .db
            .write(|tx| insert_value(tx, 1, None, Some("before\0after"), None));
        assert_eq!(error(refused).code(), "invalid_request");
        // In bytes it is fine.
        store
            .db
            .write(|tx| insert_value(tx, 2, None, Some("fine"), Some(b"before\0after")))
            .unwrap();
        assert_eq!(store.db.read(count_values).unwrap(), 1);
    }
}

// ---------------------------------------------------------------------------
/// Transactions: all or nothing, savepoints, constraint errors, snapshots.
mod transactions {
    use super::*;
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

    conformance!(
        commit_on_ok_rollback_on_err,
        swallowed_failure_is_never_committed,
        savepoint_keeps_or_undoes_only_its_part,
        constraint_violations_are_constraint_errors,
        panics_roll_back_and_free_connections,
        reads_see_one_snapshot,
        reads_cannot_write,
    );

    fn commit_on_ok_rollback_on_err(store: &Store) {
        create_values_table(store);
        store
            .db
            .write(|tx| insert_value(tx, 1, Some(1), None, None))
            .unwrap();
        let failed = store.db.write(|tx| {
            insert_value(tx, 2, Some(2), None, None)?;
            storage::next_counter(tx, "change_feed")?;
            Err::<(), _>(Error::NotFound { what: "thing" })
        });
        // The caller's own error comes back unchanged, and nothing of it stays.
        assert!(matches!(failed, Err(Error::NotFound { what: "thing" })));
        let ids = store
            .db
            .read(|tx| tx.query("SELECT id FROM conformance", &[]))
            .unwrap();
        assert_eq!(ids.len(), 1);
        // The counter taken in the failed transaction was rolled back with it.
        let next = store
            .db
            .write(|tx| storage::next_counter(tx, "change_feed"))
            .unwrap();
        assert_eq!(next, 1);
    }

    fn swallowed_failure_is_never_committed(store: &Store) {
        create_values_table(store);
        store
            .db
            .write(|tx| insert_value(tx, 1, None, None, None))
            .unwrap();
        // A closure that ignores a failed statement (outside a savepoint) and
        // returns Ok gets an error, not a commit: PostgreSQL would otherwise turn
        // COMMIT into a silent ROLLBACK while SQLite committed the rest.
        let outcome = store.db.write(|tx| {
            insert_value(tx, 2, None, None, None)?;
            let duplicate = insert_value(tx, 1, None, None, None);
            assert_eq!(error(duplicate).code(), "constraint_violated");
            Ok(())
        });
        let failure = error(outcome);
        assert_eq!(failure.code(), "storage_failed", "{failure}");
        assert_eq!(store.db.read(count_values).unwrap(), 1);
        // Inside a savepoint that is rolled back, the same failure is harmless.
        store
            .db
            .write(|tx| {
                insert_value(tx, 2, None, None, None)?;
                let duplicate = storage::savepoint(tx, |tx| insert_value(tx, 1, None, None, None));
                assert_eq!(error(duplicate).code(), "constraint_violated");
                insert_value(tx, 3, None, None, None)
            })
            .unwrap();
        assert_eq!(store.db.read(count_values).unwrap(), 3);
    }

    fn savepoint_keeps_or_undoes_only_its_part(store: &Store) {
        create_values_table(store);
        let kept = store
            .db
            .write(|tx| {
                insert_value(tx, 1, None, Some("before"), None)?;
                // Ok: its writes stay.
                let kept = storage::savepoint(tx, |tx| {
                    insert_value(tx, 2, None, Some("kept"), None)?;
                    Ok("value")
                })?;
                // Err after a write: that write is undone, the error returned.
                let undone = storage::savepoint(tx, |tx| {
                    insert_value(tx, 3, None, Some("undone"), None)?;
                    Err::<(), _>(Error::Forbidden)
                });
                assert!(matches!(undone, Err(Error::Forbidden)));
                // A failed statement inside: undone, and the transaction goes on.
                let failed = storage::savepoint(tx, |tx| {
                    insert_value(tx, 4, None, Some("undone too"), None)?;
                    insert_value(tx, 1, None, Some("duplicate"), None)
                });
                assert_eq!(error(failed).code(), "constraint_violated");
                // Nested: the inner one's failure does not spoil the outer one.
                storage::savepoint(tx, |tx| {
                    insert_value(tx, 5, None, Some("outer"), None)?;
                    let inner = storage::savepoint(tx, |tx| {
                        insert_value(tx, 6, None, Some("inner"), None)?;
                        insert_value(tx, 5, None, Some("duplicate"), None)
                    });
                    assert_eq!(error(inner).code(), "constraint_violated");
                    insert_value(tx, 7, None, Some("after inner"), None)
                })?;
                insert_value(tx, 8, None, Some("after"), None)?;
                Ok(kept)
            })
            .unwrap();
        assert_eq!(kept, "value");
        let rows = store
            .db
            .read(|tx| tx.query("SELECT id, t FROM conformance ORDER BY id", &[]))
            .unwrap();
        let rows: Vec<(i64, String)> = rows
            .iter()
            .map(|r| (r.int(0).unwrap(), r.text(1).unwrap()))
            .collect();
        assert_eq!(
            rows,
            vec![
                (1, "before".to_owned()),
                (2, "kept".to_owned()),
                (5, "outer".to_owned()),
                (7, "after inner".to_owned()),
                (8, "after".to_owned()),
            ]
        );
    }

    fn constraint_violations_are_constraint_errors(store: &Store) {
        let cases: [(&str, &str, &[Value]); 4] = [
            (
                "duplicate primary key",
                "INSERT INTO counters (name, value) VALUES ($1, $2)",
                params!["change_feed", 0i64],
            ),
            (
                "NOT NULL",
                "INSERT INTO officers (id, name, created_ms) VALUES ($1, $2, $3)",
                params!["officer-1", Option::<String>::None, 0i64],
            ),
            (
                "foreign key",
                "INSERT INTO device_tokens (token_hash, device_id, issued_ms, expires_ms) VALUES ($1, $2, $3, $4)",
                params![&[1u8; 32], "no-such-device", 0i64, 1i64],
            ),
            (
                "duplicate composite primary key",
                "INSERT INTO reference_data (kind, key, body, loaded_ms) VALUES ($1, $2, $3, $4), ($1, $2, $3, $4)",
                params!["checklist", "straw", "{}", 0i64],
            ),
        ];
        for (what, sql, params) in cases {
            let failure = error(store.db.write(|tx| tx.execute(sql, params)));
            assert!(
                matches!(failure, Error::Constraint { .. }),
                "{what}: {failure:?}"
            );
            assert_eq!(failure.code(), "constraint_violated", "{what}");
            assert_eq!(fieldproof_bureau::api::http_status(&failure), 409, "{what}");
        }
        // None of them left anything behind.
        let officers = store
            .db
            .read(|tx| tx.query_one("SELECT COUNT(*) FROM officers", &[]))
            .unwrap();
        assert_eq!(officers.int(0).unwrap(), 0);
    }

    fn panics_roll_back_and_free_connections(store: &Store) {
        create_values_table(store);
        // More panics than either backend has pooled connections: each one's
        // connection must be given up, or the pool would run dry.
        for _ in 0..12 {
            let read = catch_unwind(AssertUnwindSafe(|| {
                store.db.read(|tx| -> Result<()> {
                    count_values(tx)?;
                    resume_unwind(Box::new("deliberate panic in a read"))
                })
            }));
            assert!(read.is_err());
        }
        assert_eq!(store.db.read(count_values).unwrap(), 0);
        for id in 0..3 {
            let write = catch_unwind(AssertUnwindSafe(|| {
                store.db.write(|tx| -> Result<()> {
                    insert_value(tx, id, None, None, None)?;
                    resume_unwind(Box::new("deliberate panic in a write"))
                })
            }));
            assert!(write.is_err());
        }
        // The panicked writes left nothing, and writing still works.
        assert_eq!(store.db.read(count_values).unwrap(), 0);
        store
            .db
            .write(|tx| insert_value(tx, 1, None, None, None))
            .unwrap();
        assert_eq!(store.db.read(count_values).unwrap(), 1);
    }

    fn reads_see_one_snapshot(store: &Store) {
        create_values_table(store);
        store
            .db
            .write(|tx| insert_value(tx, 1, None, None, None))
            .unwrap();
        let (before, after) = store
            .db
            .read(|tx| {
                let before = count_values(tx)?;
                // Another connection commits meanwhile.
                std::thread::scope(|s| {
                    s.spawn(|| store.db.write(|tx| insert_value(tx, 2, None, None, None)))
                        .join()
                        .unwrap()
                })?;
                let after = count_values(tx)?;
                Ok((before, after))
            })
            .unwrap();
        assert_eq!(
            (before, after),
            (1, 1),
            "a read transaction saw a later commit"
        );
        assert_eq!(store.db.read(count_values).unwrap(), 2);
    }

    fn reads_cannot_write(store: &Store) {
        create_values_table(store);
        let refused = store.db.read(|tx| insert_value(tx, 1, None, None, None));
        assert_eq!(error(refused).code(), "storage_failed");
        assert_eq!(store.db.read(count_values).unwrap(), 0);
    }
}

// ---------------------------------------------------------------------------
/// Counters: the numbers behind the change feed and the custody log.
mod counters {
    use super::*;
    use fieldproof_bureau::sync::feed::{self, Audience};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    conformance!(
        counters_count_from_one_each_on_its_own,
        concurrent_writers_commit_in_counter_order,
    );

    fn counters_count_from_one_each_on_its_own(store: &Store) {
        let taken = store
            .db
            .write(|tx| {
                Ok([
                    storage::next_counter(tx, "change_feed")?,
                    storage::next_counter(tx, "change_feed")?,
                    storage::next_counter(tx, "custody_log")?,
                    storage::next_counter(tx, "change_feed")?,
                ])
            })
            .unwrap();
        assert_eq!(taken, [1, 2, 1, 3]);
        let unknown = store
            .db
            .write(|tx| storage::next_counter(tx, "no_such_counter"));
        assert_eq!(error(unknown).code(), "storage_failed");
    }

    /// Writers take feed numbers concurrently while a reader pulls. Numbers are
    /// strictly increasing per writer and gap-free overall, and the reader never
    /// sees entry n before every entry below n: what makes the pull cursor sound.
    fn concurrent_writers_commit_in_counter_order(store: &Store) {
        const WRITERS: usize = 4;
        const EACH: usize = 25;
        let total = (WRITERS * EACH) as i64;
        let writers_done = AtomicBool::new(false);
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut cursor = 0i64;
                loop {
                    let finished = writers_done.load(Ordering::SeqCst);
                    // A snapshot never holds a hole below its highest number.
                    let (max, count) = store
                        .db
                        .read(|tx| {
                            let row = tx.query_one(
                                "SELECT COALESCE(MAX(seq), 0), COUNT(*) FROM change_feed",
                                &[],
                            )?;
                            Ok((row.int(0)?, row.int(1)?))
                        })
                        .unwrap();
                    assert_eq!(max, count, "a reader saw entry {max} among only {count}");
                    // Pulling from a cursor continues exactly where the last page ended.
                    let (changes, _) = store
                        .db
                        .read(|tx| feed::page(tx, "reader-device", "43", cursor, by_count(7)))
                        .unwrap();
                    for change in &changes {
                        assert_eq!(change.seq, cursor + 1, "the pull skipped past a hole");
                        cursor = change.seq;
                    }
                    if finished && changes.is_empty() {
                        return cursor;
                    }
                }
            });
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    s.spawn(move || {
                        (0..EACH)
                            .map(|n| {
                                store
                                    .db
                                    .write(|tx| {
                                        let seq = feed::append(
                                            tx,
                                            Audience::Everyone,
                                            fieldproof_core::wire::pull::ChangeKind::Task,
                                            &serde_json::json!({ "writer": w, "n": n }),
                                        )?;
                                        // Stay open a little after taking the number, so a
                                        // later number could commit first if it were allowed.
                                        let pause = 200 * ((n + w) % 3) as u64;
                                        std::thread::sleep(Duration::from_micros(pause));
                                        Ok(seq)
                                    })
                                    .unwrap()
                            })
                            .collect::<Vec<i64>>()
                    })
                })
                .collect();
            let mut all = Vec::new();
            for writer in writers {
                let taken = writer.join().unwrap();
                assert!(
                    taken.windows(2).all(|p| p[0] < p[1]),
                    "one writer's numbers went backwards: {taken:?}"
                );
                all.extend(taken);
            }
            writers_done.store(true, Ordering::SeqCst);
            let cursor = reader.join().unwrap();
            all.sort_unstable();
            assert_eq!(all, (1..=total).collect::<Vec<_>>());
            assert_eq!(cursor, total, "the reader pulled every entry");
        });
    }
}

// ---------------------------------------------------------------------------
/// Migration: creating the schema, opening again, refusing a newer one.
mod migration {
    use super::*;

    conformance!(
        opening_again_changes_nothing,
        newer_schema_is_refused_and_left_alone,
        first_opens_may_race,
        every_earlier_version_upgrades_to_the_fresh_schema,
    );

    fn schema_version(db: &Database) -> Vec<i64> {
        db.read(|tx| tx.query("SELECT version FROM schema_version", &[]))
            .unwrap()
            .iter()
            .map(|r| r.int(0).unwrap())
            .collect()
    }

    fn counter_rows(db: &Database) -> i64 {
        db.read(|tx| tx.query_one("SELECT COUNT(*) FROM counters", &[])?.int(0))
            .unwrap()
    }

    fn opening_again_changes_nothing(store: &Store) {
        assert_eq!(schema_version(&store.db), vec![storage::SCHEMA_VERSION]);
        let counters = counter_rows(&store.db);
        store
            .db
            .write(|tx| {
                fieldproof_bureau::enrollment::create_officer(tx, "Officer Kept")?;
                storage::next_counter(tx, "change_feed")
            })
            .unwrap();
        for _ in 0..2 {
            let again = store.reopen().expect("opening a current database again");
            assert_eq!(schema_version(&again), vec![storage::SCHEMA_VERSION]);
            assert_eq!(counter_rows(&again), counters);
            let officers = again
                .read(|tx| fieldproof_bureau::enrollment::list_officers(tx))
                .unwrap();
            assert_eq!(officers.len(), 1);
            assert_eq!(officers[0].name, "Officer Kept");
            let next = again
                .write(|tx| storage::next_counter(tx, "change_feed"))
                .unwrap();
            assert!(next >= 2, "a counter went back to {next} on reopening");
        }
    }

    fn newer_schema_is_refused_and_left_alone(store: &Store) {
        let newer = storage::SCHEMA_VERSION + 1;
        store
            .db
            .write(|tx| {
                fieldproof_bureau::enrollment::create_officer(tx, "Officer Before")?;
                tx.execute("UPDATE schema_version SET version = $1", params![newer])
            })
            .unwrap();
        let counters = counter_rows(&store.db);
        let refused = error(store.reopen().map(|db| db.backend()));
        assert!(
            matches!(
                refused,
                Error::SchemaTooNew { found, supported }
                    if found == newer && supported == storage::SCHEMA_VERSION
            ),
            "{refused:?}"
        );
        assert_eq!(refused.code(), "schema_too_new");
        // Refusing wrote nothing: the version, the data and the tables are as they were.
        assert_eq!(schema_version(&store.db), vec![newer]);
        assert_eq!(counter_rows(&store.db), counters);
        let officers = store
            .db
            .read(|tx| fieldproof_bureau::enrollment::list_officers(tx))
            .unwrap();
        assert_eq!(officers.len(), 1);
        // And it is refused again the next time.
        assert_eq!(
            error(store.reopen().map(|db| db.backend())).code(),
            "schema_too_new"
        );
    }

    /// Tables with their columns, and the indexes made explicitly, one line each:
    /// what two databases of one backend must agree on.
    fn catalog(db: &Database) -> Vec<String> {
        let sql = match db.backend() {
            "sqlite" => {
                "SELECT m.name || '.' || p.name || ' ' || p.type || ' notnull=' || p.\"notnull\"
                        || ' pk=' || p.pk
                 FROM sqlite_master AS m, pragma_table_info(m.name) AS p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                 UNION ALL
                 SELECT 'index ' || name || ': ' || sql FROM sqlite_master
                 WHERE type = 'index' AND sql IS NOT NULL
                 ORDER BY 1"
            }
            _ => {
                "SELECT CAST(table_name AS TEXT) || '.' || CAST(column_name AS TEXT) || ' '
                        || CAST(data_type AS TEXT) || ' nullable=' || CAST(is_nullable AS TEXT)
                        || ' default=' || COALESCE(CAST(column_default AS TEXT), '')
                 FROM information_schema.columns WHERE table_schema = current_schema()
                 UNION ALL
                 SELECT 'index ' || CAST(indexname AS TEXT) || ': ' || indexdef FROM pg_indexes
                 WHERE schemaname = current_schema()
                 ORDER BY 1"
            }
        };
        db.read(|tx| tx.query(sql, &[]))
            .unwrap()
            .iter()
            .map(|r| r.text(0).unwrap())
            .collect()
    }

    /// Builds a database as a bureau of `version` left it, from the released
    /// steps themselves (not through `Database`, which always migrates to the
    /// newest), with one officer in it.
    fn build_at_version(storage: &TestStorage, version: i64) {
        let steps = &storage::STEPS[..version as usize];
        let data = format!(
            "CREATE TABLE schema_version (version BIGINT NOT NULL);
             INSERT INTO schema_version (version) VALUES ({version});
             INSERT INTO officers (id, name, created_ms)
             VALUES ('0190f5c2-0000-7000-8000-00000000000a', 'Officer From v{version}', 1);"
        );
        match storage.database_url() {
            None => {
                let conn =
                    rusqlite::Connection::open(storage.dir.path().join("bureau.sqlite3")).unwrap();
                for step in steps {
                    conn.execute_batch(step.sqlite).unwrap();
                }
                conn.execute_batch(&data).unwrap();
            }
            Some(url) => {
                let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
                for step in steps {
                    client.batch_execute(step.postgres).unwrap();
                }
                client.batch_execute(&data).unwrap();
            }
        }
    }

    /// A database of every released version, opened by this bureau, ends up
    /// with exactly the schema of a fresh one, its data intact. (The newest
    /// version is built the same way: the steps are all a schema is made of.)
    fn every_earlier_version_upgrades_to_the_fresh_schema(store: &Store) {
        let fresh = catalog(&store.db);
        assert!(fresh.iter().any(|line| line.starts_with("officers.name ")));
        for version in 1..=storage::SCHEMA_VERSION {
            let Some(old) = TestStorage::new(store.backend()) else {
                return;
            };
            build_at_version(&old, version);
            let upgraded = old.open().expect("an older database opens");
            assert_eq!(schema_version(&upgraded), vec![storage::SCHEMA_VERSION]);
            assert_eq!(catalog(&upgraded), fresh, "upgraded from version {version}");
            let officers = upgraded
                .read(|tx| fieldproof_bureau::enrollment::list_officers(tx))
                .unwrap();
            assert_eq!(officers.len(), 1);
            assert_eq!(officers[0].name, format!("Officer From v{version}"));
        }
    }

    /// The two dialects make the same tables, columns and explicit indexes.
    #[test]
    fn both_backends_have_the_same_tables_columns_and_indexes() {
        let shape = |db: &Database| -> Vec<String> {
            catalog(db)
                .into_iter()
                .map(|line| match line.strip_prefix("index ") {
                    Some(index) => format!("index {}", index.split(':').next().unwrap()),
                    None => line.split(' ').next().unwrap().to_owned(),
                })
                // PostgreSQL names the index behind each key constraint; SQLite
                // keeps those implicit.
                .filter(|line| !(line.ends_with("_pkey") || line.ends_with("_key")))
                .collect()
        };
        let sqlite = Store::open(Backend::Sqlite).unwrap();
        let Some(postgres) = Store::open(Backend::Postgres) else {
            return; // PostgreSQL skipped on purpose: a SKIPPED line was printed
        };
        let (a, b) = (shape(&sqlite.db), shape(&postgres.db));
        assert!(a.len() > 50, "{a:?}");
        assert_eq!(a, b);
    }

    /// Several bureau processes starting at once on one empty database all open it.
    fn first_opens_may_race(store: &Store) {
        for _ in 0..3 {
            let Some(fresh) = TestStorage::new(store.backend()) else {
                return;
            };
            let opened: Vec<Result<Database>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..3).map(|_| s.spawn(|| fresh.open())).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for db in opened {
                let db = db.expect("every racing first open succeeds");
                assert_eq!(schema_version(&db), vec![storage::SCHEMA_VERSION]);
            }
        }
    }
}

// ---------------------------------------------------------------------------
/// Database handles: where they may be dropped.
mod lifecycle {
    use super::*;

    conformance!(a_database_can_be_dropped_on_an_async_thread);

    /// A server's last handle to its bureau may go on an async thread at shutdown.
    fn a_database_can_be_dropped_on_an_async_thread(store: &Store) {
        let counters = store.db.read(count_counters).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for _ in 0..2 {
            let db = store.reopen().unwrap();
            // Several pooled connections, all idle when the handle goes.
            std::thread::scope(|s| {
                for _ in 0..3 {
                    s.spawn(|| db.read(|tx| tx.query_one("SELECT COUNT(*) FROM counters", &[])));
                }
            });
            runtime.block_on(async move { drop(db) });
        }
        // The store's own handle still works: nothing shared was closed.
        assert_eq!(store.db.read(count_counters).unwrap(), counters);
    }

    fn count_counters(tx: &mut Tx) -> Result<i64> {
        tx.query_one("SELECT COUNT(*) FROM counters", &[])?.int(0)
    }
}

// ---------------------------------------------------------------------------
/// Enrollment: officers, one-time codes, devices, tokens, revocation.
mod enrollment {
    use super::*;
    use fieldproof_bureau::enrollment::challenges;
    use fieldproof_bureau::enrollment::{
        authenticate, create_enrollment_code, create_officer, enroll, list_devices, revoke_device,
        verify_certificate, EnrollAnswer, EnrollRequest, Role,
    };
    use fieldproof_core::evidence::keys::{key_id, Signer};
    use fieldproof_core::hex;
    use fieldproof_core::wire::enrollment::possession_message;
    use support::TestKey;

    conformance!(
        enroll_authenticate_revoke,
        enrollment_code_is_single_use,
        a_key_enrolls_once,
        expired_and_unknown_codes_and_tokens,
    );

    const DAY_MS: i64 = 86_400_000;

    fn code(store: &Store, jurisdiction: &str, role: Role, ttl_ms: i64) -> String {
        store
            .db
            .write(|tx| {
                let officer = create_officer(tx, "张警官 Officer Zhang")?;
                create_enrollment_code(tx, &officer.id, jurisdiction, role, ttl_ms)
            })
            .unwrap()
            .code
    }

    fn enroll_with(
        store: &Store,
        code: &str,
        key: &TestKey,
        token_ttl_ms: i64,
    ) -> Result<EnrollAnswer> {
        let challenge = store.db.write(challenges::issue).unwrap();
        let nonce = hex::decode32(&challenge.nonce).unwrap();
        let request = EnrollRequest {
            code: code.to_owned(),
            public_key: hex::encode(&key.public_key()),
            nonce: challenge.nonce,
            signature: hex::encode(&key.sign(&possession_message(&nonce, code)).unwrap()),
            attestation: Some(hex::encode(b"attestation \x00\xff")),
            external_gnss: false,
        };
        store
            .db
            .write(|tx| enroll(tx, &store.key, &request, token_ttl_ms))
    }

    fn enroll_authenticate_revoke(store: &Store) {
        let code = code(store, "430121", Role::CountyOfficer, DAY_MS);
        let key = TestKey::generate();
        // Codes are typed by hand: case and dashes do not matter.
        let typed = code.replace('-', " ").to_lowercase();
        let enrollment = enroll_with(store, &typed, &key, DAY_MS).unwrap();
        assert_eq!(enrollment.jurisdiction, "430121");
        assert_eq!(enrollment.role, Role::CountyOfficer);
        assert_eq!(
            enrollment.bureau_public_key,
            hex::encode(store.key.public_key())
        );
        let certificate = verify_certificate(
            &hex::decode(&enrollment.certificate).unwrap(),
            store.key.public_key(),
        )
        .unwrap();
        assert_eq!(certificate.device_id, enrollment.device_id);
        assert_eq!(certificate.public_key, key.public_key());

        let device = authenticate(&store.db, &enrollment.token).unwrap();
        assert_eq!(device.id, enrollment.device_id);
        assert_eq!(device.officer_id, enrollment.officer_id);
        assert_eq!(device.jurisdiction, "430121");
        assert_eq!(device.key_id, key_id(&key.public_key()).to_vec());
        assert_eq!(device.revoked_ms, None);
        // The attestation is kept as sent, and its size shown.
        assert_eq!(
            device.attestation_bytes,
            b"attestation \x00\xff".len() as u64
        );
        let listed = store.db.read(list_devices).unwrap();
        assert_eq!(listed, vec![device.clone()]);

        let revoked = store.db.write(|tx| revoke_device(tx, &device.id)).unwrap();
        assert!(revoked.revoked_ms.is_some());
        let refused = error(authenticate(&store.db, &enrollment.token));
        assert!(matches!(refused, Error::DeviceRevoked), "{refused:?}");
        // Revoking again changes nothing; an unknown device is not found.
        let again = store.db.write(|tx| revoke_device(tx, &device.id)).unwrap();
        assert_eq!(again.revoked_ms, revoked.revoked_ms);
        let unknown = error(store.db.write(|tx| revoke_device(tx, "no-such-device")));
        assert_eq!(unknown.code(), "not_found");
    }

    fn enrollment_code_is_single_use(store: &Store) {
        let code = code(store, "430121105", Role::TownshipStaff, DAY_MS);
        let first = enroll_with(store, &code, &TestKey::generate(), DAY_MS).unwrap();
        let second = error(enroll_with(store, &code, &TestKey::generate(), DAY_MS));
        assert!(matches!(second, Error::EnrollmentCodeUsed), "{second:?}");
        // The refused attempt enrolled nothing.
        let devices = store.db.read(list_devices).unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].id, first.device_id);
    }

    fn a_key_enrolls_once(store: &Store) {
        let key = TestKey::generate();
        let first_code = code(store, "430121", Role::TownshipStaff, DAY_MS);
        enroll_with(store, &first_code, &key, DAY_MS).unwrap();
        let second_code = code(store, "430121", Role::TownshipStaff, DAY_MS);
        let refused = error(enroll_with(store, &second_code, &key, DAY_MS));
        assert!(matches!(refused, Error::KeyAlreadyEnrolled), "{refused:?}");
        // The second code was not spent by the refusal: another key can use it.
        enroll_with(store, &second_code, &TestKey::generate(), DAY_MS).unwrap();
        assert_eq!(store.db.read(list_devices).unwrap().len(), 2);
    }

    fn expired_and_unknown_codes_and_tokens(store: &Store) {
        let expired = code(store, "4301", Role::Reviewer, -1);
        let refused = error(enroll_with(store, &expired, &TestKey::generate(), DAY_MS));
        assert!(
            matches!(refused, Error::EnrollmentCodeExpired),
            "{refused:?}"
        );
        let unknown = error(enroll_with(
            store,
            "2222-3333-4444-5555",
            &TestKey::generate(),
            DAY_MS,
        ));
        assert!(
            matches!(unknown, Error::UnknownEnrollmentCode),
            "{unknown:?}"
        );
        // A token issued already expired is refused as expired, not unknown.
        let code = code(store, "4301", Role::Reviewer, DAY_MS);
        let enrollment = enroll_with(store, &code, &TestKey::generate(), 0).unwrap();
        let refused = error(authenticate(&store.db, &enrollment.token));
        assert!(matches!(refused, Error::TokenExpired), "{refused:?}");
        let refused = error(authenticate(&store.db, "fpd_not-a-token"));
        assert!(matches!(refused, Error::InvalidToken), "{refused:?}");
    }
}

// ---------------------------------------------------------------------------
/// The change feed devices pull: who sees what, and paging by cursor.
mod change_feed {
    use super::*;
    use fieldproof_bureau::sync::feed::{append, append_all, page, Audience};
    use fieldproof_core::wire::pull::ChangeKind;
    use serde_json::json;

    conformance!(
        jurisdiction_prefixes_decide_visibility,
        pages_follow_the_cursor,
        pages_stop_at_their_byte_budget,
        entries_appended_together_are_numbered_in_order,
    );

    /// Appends one entry per audience; returns them in order with their numbers.
    fn fill(store: &Store) -> Vec<(i64, &'static str)> {
        let entries: [(Audience, &str); 10] = [
            (Audience::Everyone, "everyone"),
            (Audience::Jurisdiction("43"), "province"),
            (Audience::Jurisdiction("430121105"), "own township"),
            (Audience::Jurisdiction("430122"), "sibling county"),
            (Audience::Jurisdiction("44"), "other province"),
            (Audience::Device("device-a"), "own device"),
            (Audience::Device("device-b"), "other device"),
            (Audience::Jurisdiction("4301"), "city"),
            (Audience::Jurisdiction("430121"), "own county"),
            (Audience::Jurisdiction("4302"), "other city"),
        ];
        store
            .db
            .write(|tx| {
                entries
                    .iter()
                    .map(|(audience, label)| {
                        let body = json!({ "label": label, "text": "露天焚烧 straw" });
                        Ok((append(tx, *audience, ChangeKind::Task, &body)?, *label))
                    })
                    .collect()
            })
            .unwrap()
    }

    /// More entries than one statement stores (500), numbered on from the
    /// entries before, in order, each to its audience; the next entry after.
    fn entries_appended_together_are_numbered_in_order(store: &Store) {
        let before = fill(store).len() as i64;
        let bodies: Vec<serde_json::Value> = (0..1203)
            .map(|i| json!({ "label": format!("n{i}") }))
            .collect();
        let after = store
            .db
            .write(|tx| {
                let audiences = bodies.iter().enumerate().map(|(i, body)| {
                    let audience = if i % 2 == 0 { "430121" } else { "430122" };
                    (Audience::Jurisdiction(audience), body)
                });
                append_all(tx, ChangeKind::Task, audiences)?;
                append(
                    tx,
                    Audience::Everyone,
                    ChangeKind::Task,
                    &json!({ "label": "after" }),
                )
            })
            .unwrap();
        assert_eq!(after, before + 1203 + 1);
        let mut seen = Vec::new();
        let mut cursor = before;
        loop {
            let (changes, more) = store
                .db
                .read(|tx| page(tx, "device-a", "430121", cursor, by_count(500)))
                .unwrap();
            cursor = changes.last().map_or(cursor, |c| c.seq);
            seen.extend(changes.iter().map(|c| (c.seq, c.body["label"].clone())));
            if !more {
                break;
            }
        }
        let expected: Vec<(i64, serde_json::Value)> = (0..1203)
            .step_by(2)
            .map(|i| (before + 1 + i, json!(format!("n{i}"))))
            .chain([(after, json!("after"))])
            .collect();
        assert_eq!(seen, expected);
    }

    fn labels(changes: &[fieldproof_core::wire::pull::Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| c.body["label"].as_str().unwrap().to_owned())
            .collect()
    }

    fn jurisdiction_prefixes_decide_visibility(store: &Store) {
        let entries = fill(store);
        assert_eq!(
            entries.iter().map(|e| e.0).collect::<Vec<_>>(),
            (1..=10).collect::<Vec<_>>()
        );
        // A county device: its county, what lies within it, and what contains it.
        let (changes, more) = store
            .db
            .read(|tx| page(tx, "device-a", "430121", 0, by_count(100)))
            .unwrap();
        assert!(!more);
        assert_eq!(
            labels(&changes),
            [
                "everyone",
                "province",
                "own township",
                "own device",
                "city",
                "own county"
            ]
        );
        assert_eq!(changes[0].kind, "task");
        assert_eq!(changes[0].body["text"], "露天焚烧 straw");
        // Another province's device sees only what is for everyone or for it.
        let (changes, _) = store
            .db
            .read(|tx| page(tx, "device-b", "44", 0, by_count(100)))
            .unwrap();
        assert_eq!(
            labels(&changes),
            ["everyone", "other province", "other device"]
        );
    }

    fn pages_follow_the_cursor(store: &Store) {
        fill(store);
        let mut cursor = 0;
        let mut pages = Vec::new();
        loop {
            let (changes, more) = store
                .db
                .read(|tx| page(tx, "device-a", "430121", cursor, by_count(2)))
                .unwrap();
            assert!(changes.len() <= 2);
            if let Some(last) = changes.last() {
                cursor = last.seq;
            }
            pages.push((changes.iter().map(|c| c.seq).collect::<Vec<_>>(), more));
            if !more {
                break;
            }
        }
        assert_eq!(
            pages,
            vec![(vec![1, 2], true), (vec![3, 6], true), (vec![8, 9], false)]
        );
        let (after_end, more) = store
            .db
            .read(|tx| page(tx, "device-a", "430121", cursor, by_count(2)))
            .unwrap();
        assert!(after_end.is_empty() && !more);
    }

    fn pages_stop_at_their_byte_budget(store: &Store) {
        store
            .db
            .write(|tx| {
                for size in [3000, 3000, 9000, 10] {
                    let body = serde_json::json!({ "label": "x".repeat(size) });
                    append(tx, Audience::Everyone, ChangeKind::Boundaries, &body)?;
                }
                Ok(())
            })
            .unwrap();
        let budget = fieldproof_bureau::sync::feed::PageSize {
            entries: 100,
            bytes: 7000,
        };
        let mut cursor = 0;
        let mut pages = Vec::new();
        for _ in 0..10 {
            let (changes, more) = store
                .db
                .read(|tx| page(tx, "device-a", "430121", cursor, budget))
                .unwrap();
            cursor = changes.last().map_or(cursor, |c| c.seq);
            pages.push(changes.iter().map(|c| c.seq).collect::<Vec<_>>());
            if !more {
                break;
            }
        }
        // Two 3 KB entries fit in 7 KB. The 9 KB one goes alone, over the budget,
        // so the feed still moves; nothing joins an entry that filled the page.
        assert_eq!(pages, vec![vec![1, 2], vec![3], vec![4]]);
    }
}

// ---------------------------------------------------------------------------
/// The persisted custody log: leaves appended in transactions, the cache over
/// them, signed checkpoints, receipts and consistency.
mod custody {
    use super::*;
    use fieldproof_bureau::custody_log::persisted::{append, latest_checkpoint, receipt};
    use fieldproof_bureau::custody_log::{
        empty_root, leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion, LogCache,
    };

    conformance!(
        checkpoints_and_receipts_verify,
        rolled_back_appends_leave_no_hole,
    );

    /// Stores an evidence record row and logs its leaf, in the caller's transaction.
    fn log_record(tx: &mut Tx, signed: &[u8]) -> Result<u64> {
        let record_id = tx
            .query_one(
                "INSERT INTO evidence_records (device_id, signed, status, media_status, received_ms)
                 VALUES ($1, $2, 'accepted', 'none', $3) RETURNING id",
                params!["device-a", signed, 1_790_000_000_000i64],
            )?
            .int(0)?;
        append(tx, record_id, signed)
    }

    fn record(n: usize) -> Vec<u8> {
        format!("signed evidence record {n} \u{0}\u{ff}").into_bytes()
    }

    fn checkpoints_and_receipts_verify(store: &Store) {
        let log = LogCache::default();
        assert_eq!(log.refresh(&store.db).unwrap(), 0);
        let empty = latest_checkpoint(&store.db, &log, &store.key).unwrap();
        assert_eq!((empty.tree_size, empty.root), (0, empty_root()));

        // Five records, some in one transaction, some alone.
        let records: Vec<Vec<u8>> = (0..5).map(record).collect();
        let indices = store
            .db
            .write(|tx| {
                records[..3]
                    .iter()
                    .map(|r| log_record(tx, r))
                    .collect::<Result<Vec<_>>>()
            })
            .unwrap();
        assert_eq!(indices, vec![0, 1, 2]);
        for (n, r) in records.iter().enumerate().skip(3) {
            assert_eq!(store.db.write(|tx| log_record(tx, r)).unwrap(), n as u64);
        }

        let checkpoint = latest_checkpoint(&store.db, &log, &store.key).unwrap();
        assert_eq!(checkpoint.tree_size, 5);
        assert!(verify_checkpoint(
            store.key.public_key(),
            &checkpoint.checkpoint(),
            &checkpoint.signature
        ));
        // Asking again without growth gives the stored checkpoint, not a new one.
        assert_eq!(
            latest_checkpoint(&store.db, &log, &store.key).unwrap(),
            checkpoint
        );
        for (index, r) in records.iter().enumerate() {
            let receipt = receipt(&log, index as u64, &checkpoint).unwrap();
            assert!(verify_inclusion(
                &leaf_hash(r),
                index as u64,
                checkpoint.tree_size,
                &receipt.inclusion_proof,
                &checkpoint.root
            ));
            assert!(!verify_inclusion(
                &leaf_hash(b"a forged record"),
                index as u64,
                checkpoint.tree_size,
                &receipt.inclusion_proof,
                &checkpoint.root
            ));
        }

        // Another process over the same database builds the same tree.
        let other_db = store.reopen().unwrap();
        let other = LogCache::default();
        assert_eq!(other.refresh(&other_db).unwrap(), 5);
        assert_eq!(other.with(|t| t.root()), checkpoint.root);

        // The log grows; the new checkpoint provably extends the old one.
        for n in 5..8 {
            other_db.write(|tx| log_record(tx, &record(n))).unwrap();
        }
        let grown = latest_checkpoint(&store.db, &log, &store.key).unwrap();
        assert_eq!(grown.tree_size, 8);
        let proof = log.with(|t| t.consistency_proof(5, 8)).unwrap();
        assert!(verify_consistency(
            5,
            8,
            &checkpoint.root,
            &grown.root,
            &proof
        ));
        // Both processes agree on the stored checkpoint for size 8.
        other.refresh(&other_db).unwrap();
        assert_eq!(
            latest_checkpoint(&other_db, &other, &store.key).unwrap(),
            grown
        );
    }

    fn rolled_back_appends_leave_no_hole(store: &Store) {
        store.db.write(|tx| log_record(tx, &record(0))).unwrap();
        let failed = store.db.write(|tx| {
            assert_eq!(log_record(tx, &record(1))?, 1);
            Err::<(), _>(Error::Forbidden)
        });
        assert!(failed.is_err());
        // The rolled-back leaf's index is taken by the next record.
        assert_eq!(store.db.write(|tx| log_record(tx, &record(2))).unwrap(), 1);
        let log = LogCache::default();
        assert_eq!(log.refresh(&store.db).unwrap(), 2);
        let checkpoint = latest_checkpoint(&store.db, &log, &store.key).unwrap();
        let receipt = receipt(&log, 1, &checkpoint).unwrap();
        assert!(verify_inclusion(
            &leaf_hash(&record(2)),
            1,
            2,
            &receipt.inclusion_proof,
            &checkpoint.root
        ));
    }
}

// ---------------------------------------------------------------------------
/// A whole bureau on the backend, over HTTP: what `TestBureau::start_backend`
/// gives the API tests, including a restart on the same database.
mod bureau {
    use super::*;
    use support::TestBureau;

    conformance!(a_bureau_serves_and_restarts_on_the_backend);

    fn a_bureau_serves_and_restarts_on_the_backend(store: &Store) {
        let Some(bureau) = TestBureau::start_backend(store.backend()) else {
            return;
        };
        let expected = match store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres | Backend::PostgresS3 => "postgres",
        };
        let (status, info) =
            support::request("GET", &format!("{}/v1/bureau", bureau.url), None, None);
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["storage"], expected);
        let kept = bureau.device("430121");
        let revoked = bureau.device("430121105");
        let (status, body) = bureau.admin(
            "POST",
            &format!("/v1/admin/devices/{}/revoke", revoked.device_id),
            None,
        );
        assert_eq!(status, 200, "{body}");
        let (status, body) = revoked.call("GET", "/v1/sync/pull", None);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("device_revoked")),
            "{body}"
        );
        let (status, checkpoint) = support::request(
            "GET",
            &format!("{}/v1/custody/checkpoint", bureau.url),
            None,
            None,
        );
        assert_eq!(status, 200, "{checkpoint}");

        // Restarted on the same data folder and database, it knows both devices.
        let (data, config) = bureau.stop();
        let bureau = TestBureau::start_in(data, config);
        let (status, devices) = bureau.admin("GET", "/v1/admin/devices", None);
        assert_eq!(status, 200, "{devices}");
        let mut ids: Vec<&str> = devices
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        let mut expected_ids = vec![kept.device_id.as_str(), revoked.device_id.as_str()];
        expected_ids.sort_unstable();
        assert_eq!(ids, expected_ids);
    }
}

/// A page limited by entry count only.
fn by_count(n: usize) -> fieldproof_bureau::sync::feed::PageSize {
    fieldproof_bureau::sync::feed::PageSize {
        entries: n,
        bytes: usize::MAX,
    }
}

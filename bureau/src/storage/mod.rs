//! Bureau storage: one SQL vocabulary over two backends.
//!
//! The embedded default is SQLite (a file in the data directory, zero set-up); the
//! scale path is PostgreSQL, chosen by a `postgres://` URL. Every domain module
//! writes its queries once, against the [`Sql`] trait, in the dialect both
//! backends share: `$1, $2 …` placeholders, `INSERT … ON CONFLICT`, `RETURNING`,
//! `SAVEPOINT`, 64-bit integers, text and byte strings (booleans are 0/1 integers).
//! Only connection set-up and the schema's DDL differ per backend, so one
//! conformance suite (`tests/storage_conformance.rs`) proves both behave the same.
//! `docs/storage.md` lists the dialect rules.
//!
//! Two rules are enforced here, identically for both backends, because the
//! backends would otherwise differ:
//! - A statement that fails spoils its transaction unless it ran inside
//!   [`savepoint`] and that savepoint was rolled back. PostgreSQL refuses every
//!   later statement and turns `COMMIT` into a silent `ROLLBACK`; SQLite would
//!   carry on. So a closure that swallows such an error and returns `Ok` gets an
//!   error from [`Database::write`] instead of a commit, on both.
//! - Text never contains NUL (U+0000): PostgreSQL cannot store it, so both refuse
//!   it as an invalid request.
//!
//! Everything here is blocking; the HTTP layer calls it through
//! `tokio::task::spawn_blocking`.
//!
//! Photo bytes are kept apart from the database, in the [`PhotoStore`]: the data
//! folder or an S3-compatible object store (`photo_store`).

mod migrations;
pub mod photo_store;
mod pool;
mod postgres;
mod sqlite;

pub use migrations::{Step, SCHEMA_VERSION, STEPS};
pub use photo_store::PhotoStore;

use crate::error::{Error, Result};
use std::path::Path;

/// A value bound to a placeholder or read from a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        // Sizes, indices and sequence numbers stay far below 2^63.
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl From<&[u8; 32]> for Value {
    fn from(v: &[u8; 32]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a `&[Value]` parameter list: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::storage::Value::from($value)),*][..]
    };
}

/// One result row; columns by position, as in the `SELECT` list.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn column(&self, index: usize) -> Result<&Value> {
        self.0.get(index).ok_or_else(|| Error::Storage {
            reason: format!("column {index} missing"),
        })
    }

    pub fn int(&self, index: usize) -> Result<i64> {
        match self.column(index)? {
            Value::Int(v) => Ok(*v),
            other => Err(type_error(index, "integer", other)),
        }
    }

    pub fn opt_int(&self, index: usize) -> Result<Option<i64>> {
        match self.column(index)? {
            Value::Null => Ok(None),
            _ => self.int(index).map(Some),
        }
    }

    pub fn text(&self, index: usize) -> Result<String> {
        match self.column(index)? {
            Value::Text(v) => Ok(v.clone()),
            other => Err(type_error(index, "text", other)),
        }
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>> {
        match self.column(index)? {
            Value::Null => Ok(None),
            _ => self.text(index).map(Some),
        }
    }

    pub fn blob(&self, index: usize) -> Result<Vec<u8>> {
        match self.column(index)? {
            Value::Blob(v) => Ok(v.clone()),
            other => Err(type_error(index, "bytes", other)),
        }
    }

    pub fn opt_blob(&self, index: usize) -> Result<Option<Vec<u8>>> {
        match self.column(index)? {
            Value::Null => Ok(None),
            _ => self.blob(index).map(Some),
        }
    }

    /// A 32-byte hash column.
    pub fn hash(&self, index: usize) -> Result<[u8; 32]> {
        self.blob(index)?.try_into().map_err(|_| Error::Storage {
            reason: format!("column {index} is not a 32-byte hash"),
        })
    }
}

fn type_error(index: usize, wanted: &str, got: &Value) -> Error {
    let got = match got {
        Value::Null => "null",
        Value::Int(_) => "integer",
        Value::Text(_) => "text",
        Value::Blob(_) => "bytes",
    };
    Error::Storage {
        reason: format!("column {index}: expected {wanted}, found {got}"),
    }
}

/// SQL inside one transaction, in the dialect shared by both backends.
pub trait Sql {
    /// Runs a statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>>;

    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row> {
        self.query_opt(sql, params)?.ok_or_else(|| Error::Storage {
            reason: "query returned no row".into(),
        })
    }
}

/// A transaction handle, whichever the backend.
pub type Tx<'a> = dyn Sql + 'a;

/// The backend's transaction behind the rules both backends keep alike (see the
/// module docs): parameters are checked, and a failed statement is remembered
/// until a `ROLLBACK TO SAVEPOINT` undoes it.
struct Checked<'t, 'b> {
    tx: &'t mut Tx<'b>,
    /// Savepoints open now.
    depth: usize,
    /// The shallowest savepoint depth at which a statement failed without being
    /// rolled back since, with that failure's message.
    failed: Option<(usize, String)>,
}

impl Checked<'_, '_> {
    fn track<T>(&mut self, sql: &str, outcome: Result<T>) -> Result<T> {
        match &outcome {
            Err(error) => {
                if self.failed.as_ref().is_none_or(|(at, _)| self.depth < *at) {
                    self.failed = Some((self.depth, error.to_string()));
                }
            }
            Ok(_) => {
                let head = sql.trim_start().as_bytes();
                let starts = |word: &str| {
                    head.len() >= word.len()
                        && head[..word.len()].eq_ignore_ascii_case(word.as_bytes())
                };
                if starts("SAVEPOINT") {
                    self.depth += 1;
                } else if starts("RELEASE") {
                    self.depth = self.depth.saturating_sub(1);
                    if let Some((at, _)) = &mut self.failed {
                        *at = (*at).min(self.depth);
                    }
                } else if starts("ROLLBACK") {
                    // ROLLBACK TO the innermost savepoint undoes what failed within it.
                    if self
                        .failed
                        .as_ref()
                        .is_some_and(|(at, _)| *at >= self.depth.max(1))
                    {
                        self.failed = None;
                    }
                }
            }
        }
        outcome
    }
}

impl Sql for Checked<'_, '_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let outcome = check_params(params).and_then(|()| self.tx.execute(sql, params));
        self.track(sql, outcome)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let outcome = check_params(params).and_then(|()| self.tx.query(sql, params));
        self.track(sql, outcome)
    }
}

fn check_params(params: &[Value]) -> Result<()> {
    for value in params {
        if let Value::Text(text) = value {
            if text.contains('\0') {
                return Err(Error::InvalidRequest {
                    reason: "text must not contain NUL (U+0000) characters".into(),
                });
            }
        }
    }
    Ok(())
}

/// Runs `f` on the backend transaction `tx` under the shared rules; an `Ok` from
/// `f` after an unrecovered statement failure becomes an error (and a rollback).
fn checked<T>(tx: &mut Tx, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
    let mut checked = Checked {
        tx,
        depth: 0,
        failed: None,
    };
    let value = f(&mut checked)?;
    match checked.failed {
        None => Ok(value),
        Some((_, failure)) => Err(Error::Storage {
            reason: format!(
                "a statement failed outside a rolled-back savepoint, so the transaction \
                 was rolled back ({failure})"
            ),
        }),
    }
}

/// Runs `f` inside a savepoint: its writes are kept if it returns `Ok`, undone if
/// it fails, and the enclosing transaction carries on either way. The push endpoint
/// applies each op like this, so one bad op spoils nothing else.
pub fn savepoint<T>(tx: &mut Tx, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
    tx.execute("SAVEPOINT op", &[])?;
    let outcome = f(tx);
    if outcome.is_err() {
        tx.execute("ROLLBACK TO SAVEPOINT op", &[])?;
    }
    tx.execute("RELEASE SAVEPOINT op", &[])?;
    outcome
}

/// The bureau's metadata database.
pub enum Database {
    Sqlite(sqlite::SqliteDatabase),
    Postgres(postgres::PostgresDatabase),
}

impl Database {
    /// Opens (creating and migrating as needed) the SQLite database at `path`.
    pub fn open_sqlite(path: &Path) -> Result<Self> {
        // Switching a brand-new file to WAL needs a moment of exclusive access, and
        // SQLite answers "busy" at once rather than waiting when another process is
        // opening the same new file: such opens are retried, briefly.
        let mut attempts = 0;
        loop {
            let opened = sqlite::SqliteDatabase::open(path)
                .map(Database::Sqlite)
                .and_then(|db| {
                    migrations::migrate(&db)?;
                    Ok(db)
                });
            match opened {
                Err(Error::Busy) if attempts < 50 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    /// Connects to PostgreSQL at a `postgres://` URL and migrates its schema.
    pub fn open_postgres(url: &str, max_connections: usize) -> Result<Self> {
        let db = Database::Postgres(postgres::PostgresDatabase::connect(url, max_connections)?);
        migrations::migrate(&db)?;
        Ok(db)
    }

    /// `sqlite` or `postgres`, for logs and the health endpoint.
    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// Runs `f` in one read-write transaction, committed if it returns `Ok`.
    /// Anything else (an `Err`, a panic, a failed statement that `f` swallowed)
    /// rolls it back.
    pub fn write<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        match self {
            Database::Sqlite(db) => db.write(|tx| checked(tx, f)),
            Database::Postgres(db) => db.write(|tx| checked(tx, f)),
        }
    }

    /// Runs `f` in one read-only transaction (a consistent snapshot).
    pub fn read<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        match self {
            Database::Sqlite(db) => db.read(|tx| checked(tx, f)),
            Database::Postgres(db) => db.read(|tx| checked(tx, f)),
        }
    }
}

/// Takes the next value of a named counter, holding its row lock until the
/// transaction ends. Commits that take a counter therefore commit in counter order,
/// which is what lets readers treat the change feed and the custody log as
/// append-only sequences even with several writers (PostgreSQL).
pub fn next_counter(tx: &mut Tx, name: &str) -> Result<i64> {
    take_counters(tx, name, 1)
}

/// Takes the next `count` values of a named counter at once, as
/// [`next_counter`] takes one; returns the last. For many entries written by
/// one transaction: PostgreSQL slows down with each update of the same row
/// within a transaction (every update walks the row's earlier versions).
pub fn take_counters(tx: &mut Tx, name: &str, count: i64) -> Result<i64> {
    tx.query_one(
        "UPDATE counters SET value = value + $2 WHERE name = $1 RETURNING value",
        params![name, count],
    )?
    .int(0)
}

/// `$first, $first+1, …`: `count` numbered parameters, for an `IN (…)` list or
/// a row of `VALUES` whose length depends on the data.
pub fn parameters(first: usize, count: usize) -> String {
    let mut list = String::with_capacity(count * 5);
    for n in first..first + count {
        if n > first {
            list.push_str(", ");
        }
        list.push('$');
        list.push_str(&n.to_string());
    }
    list
}

/// `($1, …, $columns), ($columns+1, …), …`: `rows` rows of `VALUES`.
pub fn value_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", parameters(row * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

//! The embedded SQLite backend: one file in the data directory.
//!
//! One writer connection (SQLite admits one writer at a time anyway, and taking
//! the lock here is cheaper than contending on `SQLITE_BUSY`) and a pool of
//! readers, which WAL lets run beside the writer. `synchronous=FULL`: an op the
//! bureau acknowledged must survive a power cut.

use super::pool::Pool;
use super::{Row, Sql, Tx, Value};
use crate::error::{Error, Result};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

const READERS: usize = 4;

pub struct SqliteDatabase {
    writer: Mutex<Connection>,
    readers: Pool<Connection>,
}

impl SqliteDatabase {
    pub fn open(path: &Path) -> Result<Self> {
        // Personal data: the file (and so its -wal and -shm) is the bureau's alone.
        fieldproof_core::private_files::prepare_database(path)?;
        let writer = connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        let path: PathBuf = path.to_owned();
        let readers = Pool::new(READERS, move || {
            connect(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        });
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
        })
    }

    pub fn write<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        transaction(&mut conn, "BEGIN IMMEDIATE", f)
    }

    pub fn read<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.readers
            .with(|conn| (transaction(conn, "BEGIN", f), true))
    }

    /// Copies the whole database to a new file at `to` with SQLite's online
    /// backup API, in one step: one read transaction, so the copy is the
    /// database as of one moment while the bureau goes on writing.
    pub fn backup_to(&self, to: &Path) -> Result<()> {
        fieldproof_core::private_files::prepare_database(to)?;
        let mut copy = Connection::open(to).map_err(storage)?;
        self.readers.with(|reader| {
            let copied = rusqlite::backup::Backup::new(reader, &mut copy)
                .and_then(|backup| backup.step(-1))
                .map_err(storage)
                .and_then(|step| match step {
                    rusqlite::backup::StepResult::Done => Ok(()),
                    _ => Err(Error::Busy),
                });
            (copied, true)
        })
    }
}

fn connect(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(storage)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(storage)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
        .map_err(storage)?;
    if !flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY) {
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(storage)?;
    }
    Ok(conn)
}

fn transaction<T>(
    conn: &mut Connection,
    begin: &str,
    f: impl FnOnce(&mut Tx) -> Result<T>,
) -> Result<T> {
    // A caller that panicked mid-transaction left it open (the writer's mutex
    // hands the connection on regardless): undo it, or every later BEGIN fails.
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK").map_err(storage)?;
    }
    conn.execute_batch(begin).map_err(storage)?;
    let mut tx = SqliteTx { conn };
    match f(&mut tx) {
        Ok(value) => {
            tx.conn.execute_batch("COMMIT").map_err(storage)?;
            Ok(value)
        }
        Err(error) => {
            // A failed ROLLBACK leaves nothing more to undo; the error that matters is the first.
            let _ = tx.conn.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl Sql for SqliteTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(&dialect(sql)).map_err(storage)?;
        let changed = stmt
            .execute(rusqlite::params_from_iter(params))
            .map_err(storage)?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(&dialect(sql)).map_err(storage)?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(storage)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(storage)? {
            let values = (0..columns)
                .map(|i| row.get_ref(i).map(from_sqlite))
                .collect::<rusqlite::Result<_>>()
                .map_err(storage)?;
            out.push(Row(values));
        }
        Ok(out)
    }
}

/// `$1` → `?1`: SQLite reads `$1` as a *named* parameter numbered by first
/// appearance, `?1` as exactly parameter 1, which is what PostgreSQL means.
fn dialect(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

fn from_sqlite(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Int(v),
        // The schema has no REAL columns; an aggregate that yields one is a bug worth seeing.
        ValueRef::Real(v) => Value::Text(v.to_string()),
        ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
        ValueRef::Blob(v) => Value::Blob(v.to_vec()),
    }
}

fn storage(error: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => Error::Constraint {
            reason: error.to_string(),
        },
        Some(ErrorCode::DiskFull) => Error::DiskFull,
        // The busy timeout ran out: another process holds the lock. Retryable, as
        // PostgreSQL's serialization failures are.
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Busy,
        _ => Error::Storage {
            reason: error.to_string(),
        },
    }
}

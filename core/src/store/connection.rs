//! Opening SQLite files the way DESIGN.md requires: WAL, synchronous=FULL, foreign
//! keys on, and refusing files that are not ours before SQLite touches them.

use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

const HEADER_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Another process (the CLI, a background worker) may hold the write lock briefly.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Cheap checks on an existing file's 100-byte header, so that a file that is not
/// SQLite, or one cut short by a bad copy, is refused with a clear code instead of
/// failing later on some page in the middle of a query.
pub fn check_file(path: &Path) -> Result<()> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => return Err(Error::CannotOpen),
    };
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(()); // SQLite treats an empty file as an empty database.
    }
    let mut header = [0u8; 100];
    if len < 100 || file.read_exact(&mut header).is_err() {
        return Err(Error::NotADatabase);
    }
    if &header[..16] != HEADER_MAGIC {
        return Err(Error::NotADatabase);
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        _ => return Err(Error::DatabaseCorrupt),
    };
    let change_counter = &header[24..28];
    let version_valid_for = &header[92..96];
    let pages = u64::from(u32::from_be_bytes(header[28..32].try_into().unwrap()));
    // The page count in the header is only authoritative when SQLite marked it valid
    // for the current change counter (file format spec, "in-header database size"),
    // and while a WAL is present a checkpoint cut short may legitimately have written
    // page 1 before the pages after it: recovery from the WAL completes it.
    let truncated = change_counter == version_valid_for && pages * page_size > len;
    if truncated && !has_wal(path) {
        return Err(Error::DatabaseCorrupt);
    }
    if len % page_size != 0 {
        return Err(Error::DatabaseCorrupt);
    }
    Ok(())
}

fn has_wal(db: &Path) -> bool {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).is_ok_and(|m| m.len() > 0)
}

/// Opens the single writer connection. Does not change the file's contents (the
/// caller checks the schema version before anything is written), only makes it
/// private: it holds the bearer token and personal data.
pub fn open_writer(path: &Path) -> Result<Connection> {
    check_file(path)?;
    // A folder that cannot take the file is what SQLite would report too.
    crate::private_files::prepare_database(path).map_err(|_| Error::CannotOpen)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Settings that write to the file (journal mode) or govern how writes happen; set
/// after the schema version was found acceptable.
pub fn configure_writer(conn: &Connection, max_size_bytes: Option<u64>) -> Result<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::ReadOnly);
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    if let Some(bytes) = max_size_bytes {
        let page_size: u64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
        let pages = bytes.div_ceil(page_size).max(1);
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
    }
    Ok(())
}

/// Opens a query-only connection; WAL lets it read while the writer writes.
pub fn open_reader(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA query_only = ON;")?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        assert!(
            check_file(&path).is_ok(),
            "a missing file is a new database"
        );
        std::fs::write(&path, b"").unwrap();
        assert!(
            check_file(&path).is_ok(),
            "an empty file is an empty database"
        );
        std::fs::write(
            &path,
            b"PK\x03\x04 a zip file, not a database at all........",
        )
        .unwrap();
        assert_eq!(check_file(&path).unwrap_err().code(), "not_a_database");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        assert_eq!(check_file(&path).unwrap_err().code(), "not_a_database");
    }
}

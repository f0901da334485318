//! Officers and the one-time enrollment codes issued to them.

use super::{check_jurisdiction, Role};
use crate::error::{Error, Result};
use crate::storage::Tx;
use crate::{now_ms, params, secrets};

pub use fieldproof_core::wire::admin::{EnrollmentCode, Officer};

const MAX_NAME_CHARS: usize = 100;

pub fn create_officer(tx: &mut Tx, name: &str) -> Result<Officer> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::InvalidRequest {
            reason: format!("officer name must be 1 to {MAX_NAME_CHARS} characters"),
        });
    }
    let officer = Officer {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_owned(),
        created_ms: now_ms(),
    };
    tx.execute(
        "INSERT INTO officers (id, name, created_ms) VALUES ($1, $2, $3)",
        params![&officer.id, &officer.name, officer.created_ms],
    )?;
    Ok(officer)
}

/// The officer with exactly this name, created if there is none. Two officers
/// with one name must be told apart by id.
pub fn find_or_create_officer(tx: &mut Tx, name: &str) -> Result<Officer> {
    let rows = tx.query(
        "SELECT id, name, created_ms FROM officers WHERE name = $1",
        params![name.trim()],
    )?;
    match rows.as_slice() {
        [] => create_officer(tx, name),
        [row] => officer(row),
        _ => Err(Error::InvalidRequest {
            reason: "several officers have this name; give the officer id".into(),
        }),
    }
}

pub fn list_officers(tx: &mut Tx) -> Result<Vec<Officer>> {
    tx.query(
        "SELECT id, name, created_ms FROM officers ORDER BY created_ms, id",
        &[],
    )?
    .iter()
    .map(officer)
    .collect()
}

/// The officers named by `ids` (those that exist), in the order given.
pub fn officers_by_id(tx: &mut Tx, ids: &[String]) -> Result<Vec<Officer>> {
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = tx.query_opt(
            "SELECT id, name, created_ms FROM officers WHERE id = $1",
            params![id],
        )? {
            found.push(officer(&row)?);
        }
    }
    Ok(found)
}

fn officer(row: &crate::storage::Row) -> Result<Officer> {
    Ok(Officer {
        id: row.text(0)?,
        name: row.text(1)?,
        created_ms: row.int(2)?,
    })
}

/// Issues a one-time code binding the device that uses it to an officer, a
/// jurisdiction and a role.
pub fn create_enrollment_code(
    tx: &mut Tx,
    officer_id: &str,
    jurisdiction: &str,
    role: Role,
    ttl_ms: i64,
) -> Result<EnrollmentCode> {
    check_jurisdiction(jurisdiction)?;
    let exists = tx.query_opt("SELECT 1 FROM officers WHERE id = $1", params![officer_id])?;
    if exists.is_none() {
        return Err(Error::NotFound { what: "officer" });
    }
    let code = new_code()?;
    let now = now_ms();
    let issued = EnrollmentCode {
        code,
        officer_id: officer_id.to_owned(),
        jurisdiction: jurisdiction.to_owned(),
        role,
        expires_ms: now + ttl_ms,
        tls_pin: None,
    };
    tx.execute(
        "INSERT INTO enrollment_codes (code_hash, officer_id, jurisdiction, role, created_ms, expires_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            &code_hash(&issued.code),
            officer_id,
            jurisdiction,
            role.as_str(),
            now,
            issued.expires_ms
        ],
    )?;
    Ok(issued)
}

/// Codes are typed by hand from a printout or read from a QR code: 16 characters
/// of an alphabet without look-alikes (80 bits), grouped by four.
fn new_code() -> Result<String> {
    const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let bytes = secrets::random_bytes::<16>()?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// A code's hash, of its normal form (`wire::enrollment::normal_code`).
pub(super) fn code_hash(code: &str) -> [u8; 32] {
    secrets::sha256(fieldproof_core::wire::enrollment::normal_code(code).as_bytes())
}

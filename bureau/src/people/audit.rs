//! The audit log: who did what, when — every review, legal review, dispatch,
//! case-file export, enrollment code, revocation and account change.
//!
//! Append-only: the API has no route that changes an entry, and each entry's
//! `entry_sha256` hashes the one before it with its own content, so an entry
//! changed or removed in the database breaks the chain from there on
//! ([`verify`]). Entries are numbered by a counter whose row lock is held to
//! commit (`storage::next_counter`), so the chain has no forks even with several
//! bureau processes. Details carry ids and codes, never names or numbers.

use super::access::{Actor, Scope};
use crate::cases::{jurisdiction_conditions, where_clause, Page};
use crate::error::{Error, Result};
use crate::storage::{next_counter, Row, Tx, Value};
use crate::{now_ms, params, secrets};
use fieldproof_core::hex;
use serde_json::Value as Json;

pub use fieldproof_core::wire::admin::AuditEntry;

/// What an entry records (the `action` column); stable names, part of the export.
pub mod action {
    pub const REVIEW: &str = "inspection.review";
    pub const LEGAL_REVIEW: &str = "inspection.legal_review";
    pub const ASSIGN_OFFICER: &str = "inspection.assign_officer";
    pub const CASE_FILE_EXPORT: &str = "case_file.export";
    pub const TASK_CREATE: &str = "task.create";
    pub const ENROLLMENT_CODE: &str = "enrollment_code.issue";
    pub const DEVICE_REVOKE: &str = "device.revoke";
    pub const USER_CREATE: &str = "user.create";
    pub const USER_DISABLE: &str = "user.disable";
    pub const LOGIN: &str = "session.login";
}

/// Appends an entry in the caller's transaction: it commits with the change it
/// records, or not at all.
pub fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    subject: &str,
    jurisdiction: Option<&str>,
    detail: Json,
) -> Result<()> {
    let seq = next_counter(tx, "audit_log")?;
    let previous = previous_hash(tx, seq)?;
    let mut entry = AuditEntry {
        seq,
        at_ms: now_ms(),
        actor: actor.audit_name(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        jurisdiction: jurisdiction.map(str::to_owned),
        detail,
        entry_sha256: String::new(),
    };
    let hash = chain_hash(&previous, &entry);
    entry.entry_sha256 = hex::encode(&hash);
    tx.execute(
        "INSERT INTO audit_log (seq, at_ms, actor, action, subject, jurisdiction, detail, entry_sha256)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            entry.seq,
            entry.at_ms,
            &entry.actor,
            &entry.action,
            &entry.subject,
            entry.jurisdiction.clone(),
            entry.detail.to_string(),
            hash.to_vec()
        ],
    )?;
    Ok(())
}

/// Entries an admin may read, newest first: those about a jurisdiction within
/// `scope` (entries about none, such as the admin token's, only to those who
/// see everywhere). `cursor` is a previous page's `next_cursor` (the `seq` it
/// ended at); anything else is `invalid_cursor`.
pub fn list(
    tx: &mut Tx,
    scope: &Scope,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<AuditEntry>> {
    let (mut conditions, mut values) = (Vec::new(), Vec::<Value>::new());
    jurisdiction_conditions("jurisdiction", None, scope, &mut conditions, &mut values)?;
    if let Some(cursor) = cursor {
        let before: i64 = cursor.parse().map_err(|_| Error::InvalidCursor)?;
        values.push(before.into());
        conditions.push(format!("seq < ${}", values.len()));
    }
    values.push((limit as i64 + 1).into());
    let rows = tx.query(
        &format!(
            "SELECT {COLUMNS} FROM audit_log {} ORDER BY seq DESC LIMIT ${}",
            where_clause(&conditions),
            values.len()
        ),
        &values,
    )?;
    let has_more = rows.len() > limit;
    let items = rows[..rows.len().min(limit)]
        .iter()
        .map(entry)
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = match items.last() {
        Some(last) if has_more => Some(last.seq.to_string()),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

/// Recomputes the whole chain; the number of entries, or `audit_log_inconsistent`
/// naming the first entry that no longer matches.
pub fn verify(tx: &mut Tx) -> Result<i64> {
    const BATCH: i64 = 1000;
    let mut previous = [0u8; 32];
    let mut expected_seq = 1;
    loop {
        let rows = tx.query(
            &format!("SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"),
            params![expected_seq, BATCH],
        )?;
        for row in &rows {
            let entry = entry(row)?;
            let stored = hex::decode(&entry.entry_sha256).unwrap_or_default();
            if entry.seq != expected_seq || stored != chain_hash(&previous, &entry) {
                return Err(Error::AuditLogInconsistent { seq: expected_seq });
            }
            previous.copy_from_slice(&stored);
            expected_seq += 1;
        }
        if (rows.len() as i64) < BATCH {
            let counted = tx
                .query_one(
                    "SELECT value FROM counters WHERE name = 'audit_log'",
                    params![],
                )?
                .int(0)?;
            // Entries removed from the end leave the counter ahead of the chain.
            if counted != expected_seq - 1 {
                return Err(Error::AuditLogInconsistent { seq: expected_seq });
            }
            return Ok(counted);
        }
    }
}

/// Writes entries as CSV with a header row (UTF-8 with a BOM, so that
/// spreadsheet programs used in offices read the Chinese right).
pub fn write_csv(entries: &[AuditEntry], out: impl std::io::Write) -> Result<()> {
    let mut out = out;
    out.write_all("\u{feff}".as_bytes())?;
    let mut csv = csv::Writer::from_writer(out);
    let csv_error = |_| Error::Io {
        reason: "the CSV could not be written".into(),
    };
    csv.write_record([
        "seq",
        "at_ms",
        "actor",
        "action",
        "subject",
        "jurisdiction",
        "detail",
        "entry_sha256",
    ])
    .map_err(csv_error)?;
    for e in entries {
        csv.write_record([
            &e.seq.to_string(),
            &e.at_ms.to_string(),
            &e.actor,
            &e.action,
            &e.subject,
            e.jurisdiction.as_deref().unwrap_or(""),
            &e.detail.to_string(),
            &e.entry_sha256,
        ])
        .map_err(csv_error)?;
    }
    csv.flush()?;
    Ok(())
}

const COLUMNS: &str = "seq, at_ms, actor, action, subject, jurisdiction, detail, entry_sha256";

fn entry(row: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: row.int(0)?,
        at_ms: row.int(1)?,
        actor: row.text(2)?,
        action: row.text(3)?,
        subject: row.text(4)?,
        jurisdiction: row.opt_text(5)?,
        // A detail that no longer parses is shown as the text it is; verify
        // still catches the change.
        detail: serde_json::from_str(&row.text(6)?)
            .unwrap_or_else(|_| Json::String(row.text(6).unwrap_or_default())),
        entry_sha256: hex::encode(&row.blob(7)?),
    })
}

fn previous_hash(tx: &mut Tx, seq: i64) -> Result<[u8; 32]> {
    if seq == 1 {
        return Ok([0; 32]);
    }
    let row = tx.query_one(
        "SELECT entry_sha256 FROM audit_log WHERE seq = $1",
        params![seq - 1],
    )?;
    row.hash(0)
}

/// SHA-256 of the previous entry's hash and this entry's fields as a JSON array
/// (serde_json writes it the same way every time).
fn chain_hash(previous: &[u8; 32], e: &AuditEntry) -> [u8; 32] {
    let fields = serde_json::json!([
        e.seq,
        e.at_ms,
        e.actor,
        e.action,
        e.subject,
        e.jurisdiction,
        e.detail.to_string()
    ]);
    let mut data = previous.to_vec();
    data.extend_from_slice(fields.to_string().as_bytes());
    secrets::sha256(&data)
}

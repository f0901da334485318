//! The bureau's receipts for evidence records, and the checkpoints they prove
//! inclusion in.

use crate::error::{Error, Result};
use crate::evidence::receipt::{Receipt, SignedCheckpoint};
use crate::evidence::record::CheckpointRef;
use crate::model::verification::{EvidenceFailure, ReceiptReport};
use crate::store::{evidence, Store};
use rusqlite::{params, Connection, OptionalExtension};

impl Store {
    /// The newest bureau checkpoint this device holds (it goes into the next
    /// evidence record).
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        self.read(latest_checkpoint)
    }

    /// The bureau's receipt for evidence record `seq`, once received.
    pub fn receipt(&self, seq: u64) -> Result<Option<Receipt>> {
        self.read(|conn| {
            let text: Option<String> = conn
                .prepare_cached("SELECT receipt FROM receipts WHERE record_seq = ?1")?
                .query_row([seq], |row| row.get(0))
                .optional()?;
            text.map(|t| serde_json::from_str(&t).map_err(|_| crate::Error::DatabaseCorrupt))
                .transpose()
        })
    }

    /// Checks every stored receipt against its record and the enrolled bureau's key.
    pub fn verify_receipts(&self) -> Result<ReceiptReport> {
        let key = self.enrollment()?.map(|e| e.bureau_public_key);
        let stored = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.record_seq, r.receipt, e.signed FROM receipts r
                 LEFT JOIN evidence_records e ON e.seq = r.record_seq ORDER BY r.record_seq",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    row.get::<_, u64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<Vec<u8>>>(2)?,
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut report = ReceiptReport {
            receipts: stored.len() as u64,
            failures: Vec::new(),
        };
        let fail = |code: &str, seq: u64| EvidenceFailure {
            code: code.into(),
            detail: format!("receipt for record {seq}"),
        };
        for (seq, text, signed) in stored {
            let receipt: Receipt =
                serde_json::from_str(&text).map_err(|_| crate::Error::DatabaseCorrupt)?;
            let outcome = match (&key, signed) {
                (None, _) => Err("not_enrolled"),
                (_, None) => Err("record_missing"),
                (Some(key), Some(signed)) => receipt.verify(&signed, key).map_err(|f| f.code()),
            };
            if let Err(code) = outcome {
                report.failures.push(fail(code, seq));
            }
        }
        Ok(report)
    }
}

pub(in crate::store) fn latest_checkpoint(conn: &Connection) -> Result<Option<SignedCheckpoint>> {
    Ok(conn
        .prepare_cached(
            "SELECT checkpoint_tree_size, checkpoint_root, checkpoint_time_ms, checkpoint_signature
             FROM sync_state WHERE checkpoint_tree_size IS NOT NULL",
        )?
        .query_row([], |row| {
            Ok(SignedCheckpoint {
                tree_size: row.get(0)?,
                root: row.get(1)?,
                time_ms: row.get(2)?,
                signature: row.get(3)?,
            })
        })
        .optional()?)
}

/// The checkpoint a new evidence record carries: the newest one held.
pub(in crate::store) fn checkpoint_for_record(conn: &Connection) -> Result<Option<CheckpointRef>> {
    Ok(latest_checkpoint(conn)?.map(|c| CheckpointRef {
        tree_size: c.tree_size,
        root: c.root,
    }))
}

/// Keeps `checkpoint` if it is at least as new as the one held. The caller has
/// checked its signature.
pub(in crate::store) fn save_checkpoint(
    conn: &Connection,
    checkpoint: &SignedCheckpoint,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE sync_state SET checkpoint_tree_size = ?1, checkpoint_root = ?2,
             checkpoint_time_ms = ?3, checkpoint_signature = ?4
         WHERE checkpoint_tree_size IS NULL OR checkpoint_tree_size <= ?1",
    )?
    .execute(params![
        checkpoint.tree_size,
        checkpoint.root,
        checkpoint.time_ms,
        checkpoint.signature
    ])?;
    Ok(())
}

/// Keeps a receipt (a later one replaces the earlier) if it proves that the bureau
/// logged the record this device holds under `seq`; `false` when not kept. Its
/// checkpoint is not taken from it: checkpoints move only once
/// `sync::log_view` has proven them consistent with the one held.
pub(in crate::store) fn keep_receipt(
    conn: &Connection,
    seq: u64,
    receipt: &Receipt,
    bureau_key: &[u8],
    now: i64,
) -> Result<bool> {
    let signed = match evidence::signed_record(conn, seq) {
        Ok(signed) => signed,
        Err(Error::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    if receipt.verify(&signed, bureau_key).is_err() {
        return Ok(false);
    }
    let text = serde_json::to_string(receipt).expect("receipts serialise");
    conn.prepare_cached(
        "INSERT OR REPLACE INTO receipts (record_seq, leaf_index, tree_size, receipt, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        seq,
        receipt.leaf_index,
        receipt.checkpoint.tree_size,
        text,
        now
    ])?;
    Ok(true)
}

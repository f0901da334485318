//! The custody log as stored: leaves in the `custody_log` table, appended inside
//! the transaction that accepts their record, and an in-memory [`CustodyLog`]
//! that is a cache of that table, extended on demand. Because the table is the
//! truth, several bureau processes over one PostgreSQL database agree on the log.

use super::{BureauKey, Checkpoint, CustodyLog, Receipt, SignedCheckpoint};
use crate::error::{Error, Result};
use crate::now_ms;
use crate::params;
use crate::storage::{next_counter, Database, Tx};
use std::sync::Mutex;

/// Appends a record's leaf (its exact signed bytes) inside the caller's
/// transaction and returns its leaf index. The counter's row lock makes leaves
/// commit in index order.
pub fn append(tx: &mut Tx, record_id: i64, signed: &[u8]) -> Result<u64> {
    let index = next_counter(tx, "custody_log")? - 1;
    tx.execute(
        "INSERT INTO custody_log (leaf_index, leaf_hash, record_id) VALUES ($1, $2, $3)",
        params![index, &super::leaf_hash(signed), record_id],
    )?;
    Ok(index as u64)
}

/// The in-memory tree over the committed leaves.
#[derive(Default)]
pub struct LogCache {
    tree: Mutex<CustodyLog>,
}

impl LogCache {
    /// Loads leaves committed since the last refresh; returns the tree size.
    pub fn refresh(&self, db: &Database) -> Result<u64> {
        let mut tree = self.tree.lock().unwrap_or_else(|e| e.into_inner());
        let from = tree.len();
        let rows = db.read(|tx| {
            tx.query(
                "SELECT leaf_index, leaf_hash FROM custody_log WHERE leaf_index >= $1 ORDER BY leaf_index",
                params![from],
            )
        })?;
        for row in rows {
            // Leaves commit in index order, so a hole would be a bug: stop before it.
            if row.int(0)? as u64 != tree.len() {
                break;
            }
            tree.append_leaf_hash(row.hash(1)?);
        }
        Ok(tree.len())
    }

    pub fn with<T>(&self, f: impl FnOnce(&CustodyLog) -> T) -> T {
        f(&self.tree.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The checkpoint over the whole committed log, signing a new one if the log has
/// grown since the last. Concurrent callers may both sign; the first stored wins
/// and both return it.
pub fn latest_checkpoint(
    db: &Database,
    log: &LogCache,
    key: &BureauKey,
) -> Result<SignedCheckpoint> {
    let tree_size = log.refresh(db)?;
    let root = log.with(|tree| tree.root_at(tree_size))?;
    if let Some(stored) = stored_checkpoint(db, tree_size)? {
        check_unchanged(log, &stored)?;
        return Ok(stored);
    }
    // A new checkpoint is signed only over a log that still holds what the last
    // one signed: a rewritten record must not get a signature for its new tree.
    if let Some(last) = last_checkpoint_before(db, tree_size)? {
        check_unchanged(log, &last)?;
    }
    let checkpoint = Checkpoint {
        tree_size,
        root,
        time_ms: now_ms(),
    };
    let signature = key.sign_checkpoint(&checkpoint)?;
    db.write(|tx| {
        tx.execute(
            "INSERT INTO checkpoints (tree_size, root, time_ms, signature) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tree_size) DO NOTHING",
            params![tree_size, &checkpoint.root, checkpoint.time_ms, signature],
        )
    })?;
    stored_checkpoint(db, tree_size)?.ok_or_else(|| Error::Storage {
        reason: "checkpoint vanished after insert".into(),
    })
}

/// Refuses a log whose tree at `signed`'s size no longer has the root signed.
fn check_unchanged(log: &LogCache, signed: &SignedCheckpoint) -> Result<()> {
    let root = log.with(|tree| tree.root_at(signed.tree_size))?;
    if root != signed.root {
        return Err(Error::LogRewritten {
            tree_size: signed.tree_size,
        });
    }
    Ok(())
}

/// The newest checkpoint signed over fewer than `tree_size` records.
fn last_checkpoint_before(db: &Database, tree_size: u64) -> Result<Option<SignedCheckpoint>> {
    let size = db.read(|tx| {
        tx.query_opt(
            "SELECT tree_size FROM checkpoints WHERE tree_size < $1 ORDER BY tree_size DESC LIMIT 1",
            params![tree_size],
        )
    })?;
    match size {
        Some(row) => stored_checkpoint(db, row.int(0)? as u64),
        None => Ok(None),
    }
}

fn stored_checkpoint(db: &Database, tree_size: u64) -> Result<Option<SignedCheckpoint>> {
    let row = db.read(|tx| {
        tx.query_opt(
            "SELECT root, time_ms, signature FROM checkpoints WHERE tree_size = $1",
            params![tree_size],
        )
    })?;
    row.map(|row| {
        Ok(SignedCheckpoint {
            tree_size,
            root: row.hash(0)?,
            time_ms: row.int(1)?,
            signature: row.blob(2)?,
        })
    })
    .transpose()
}

/// The receipt for leaf `leaf_index` against `checkpoint`.
pub fn receipt(log: &LogCache, leaf_index: u64, checkpoint: &SignedCheckpoint) -> Result<Receipt> {
    let inclusion_proof =
        log.with(|tree| tree.inclusion_proof(leaf_index, checkpoint.tree_size))?;
    Ok(Receipt {
        leaf_index,
        checkpoint: checkpoint.clone(),
        inclusion_proof,
    })
}

//! Custody alarms: a device holds a checkpoint of the bureau's log that the log
//! does not reach. The checkpoint came from this bureau, so its log has lost
//! entries: it was restored from a backup older than what devices hold. The
//! bureau cannot see that at restore time; devices show it at their next sync,
//! when they ask for a proof up to the checkpoint they hold (`api::custody`) or
//! push a record naming it (`evidence_ingest`). Each is logged and kept here for
//! the operator (`GET /v1/admin/custody/alarms`); the device itself refuses the
//! shorter log (`log_inconsistent`).

use crate::error::Result;
use crate::storage::{Database, Tx};
use crate::{now_ms, params};
use fieldproof_core::wire::custody::CustodyAlarm;

/// The log's size, as committed.
fn log_size(tx: &mut Tx) -> Result<u64> {
    Ok(tx
        .query_one(
            "SELECT CAST(COALESCE(MAX(leaf_index) + 1, 0) AS BIGINT) FROM custody_log",
            params![],
        )?
        .int(0)? as u64)
}

/// Raises an alarm, in the caller's transaction, if `held_size` is beyond the log.
pub fn check(tx: &mut Tx, device_id: &str, held_size: u64, seq: Option<u64>) -> Result<()> {
    let log_size = log_size(tx)?;
    if held_size <= log_size {
        return Ok(());
    }
    tracing::error!(
        device = device_id,
        held_size,
        log_size,
        "custody alarm: a device holds a checkpoint beyond this log (restored from an older backup?)"
    );
    tx.execute(
        "INSERT INTO custody_alarms (device_id, held_size, log_size, seq, detected_ms)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device_id, held_size) DO NOTHING",
        params![device_id, held_size, log_size, seq, now_ms()],
    )?;
    Ok(())
}

/// Every alarm, newest first.
pub fn list(db: &Database) -> Result<Vec<CustodyAlarm>> {
    db.read(|tx| {
        tx.query(
            "SELECT device_id, held_size, log_size, seq, detected_ms FROM custody_alarms
             ORDER BY detected_ms DESC, device_id, held_size",
            params![],
        )?
        .iter()
        .map(|row| {
            Ok(CustodyAlarm {
                device_id: row.text(0)?,
                held_size: row.int(1)? as u64,
                log_size: row.int(2)? as u64,
                seq: row.opt_int(3)?.map(|s| s as u64),
                detected_ms: row.int(4)?,
            })
        })
        .collect()
    })
}

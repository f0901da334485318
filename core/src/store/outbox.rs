//! The sync outbox: changes waiting to reach the bureau. Rows are written in the
//! same transaction as the change they carry, so neither exists without the other.

use crate::error::Result;
use crate::model::id::new_id;
use rusqlite::{params, Connection};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxOp {
    pub seq: i64,
    pub op_id: String,
    /// What the op does, e.g. `inspection.submit`.
    pub kind: String,
    pub entity_id: String,
    /// JSON body sent to the bureau.
    pub payload: String,
    pub created_at_ms: i64,
}

/// Queues an op and returns its `op_id`.
pub fn enqueue(
    conn: &Connection,
    kind: &str,
    entity_id: &str,
    payload: &impl Serialize,
    now_ms: i64,
) -> Result<String> {
    let op_id = new_id();
    let payload = serde_json::to_string(payload).expect("outbox payloads serialise");
    conn.prepare_cached(
        "INSERT INTO outbox (op_id, kind, entity_id, payload, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![op_id, kind, entity_id, payload, now_ms])?;
    Ok(op_id)
}

/// Pending ops in the order they were made.
pub fn pending(conn: &Connection, limit: u32) -> Result<Vec<OutboxOp>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, op_id, kind, entity_id, payload, created_at_ms FROM outbox
         WHERE state = 'pending' ORDER BY seq LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |row| {
        Ok(OutboxOp {
            seq: row.get(0)?,
            op_id: row.get(1)?,
            kind: row.get(2)?,
            entity_id: row.get(3)?,
            payload: row.get(4)?,
            created_at_ms: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

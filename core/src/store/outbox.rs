//! The sync outbox: changes waiting to reach the bureau. Rows are written in the
//! same transaction as the change they carry, so neither exists without the other,
//! and keep the bureau's answer once it came.

use crate::error::Result;
use crate::model::id::new_id;
use crate::model::sync::{OpState, OpStatus};
use crate::wire::ops::OpKind;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxOp {
    pub seq: i64,
    pub op_id: String,
    /// What the op does: an [`OpKind`]'s wire name, e.g. `inspection.submit`.
    pub kind: String,
    pub entity_id: String,
    /// JSON body sent to the bureau.
    pub payload: String,
    pub created_at_ms: i64,
}

/// Queues an op and returns its `op_id`.
pub fn enqueue(
    conn: &Connection,
    kind: OpKind,
    entity_id: &str,
    payload: &impl Serialize,
    now_ms: i64,
) -> Result<String> {
    let op_id = new_id();
    let payload = serde_json::to_string(payload).expect("outbox payloads serialise");
    conn.prepare_cached(
        "INSERT INTO outbox (op_id, kind, entity_id, payload, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![op_id, kind.as_str(), entity_id, payload, now_ms])?;
    Ok(op_id)
}

/// Pending ops in the order they were made.
pub fn pending(conn: &Connection, limit: u32) -> Result<Vec<OutboxOp>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, op_id, kind, entity_id, payload, created_at_ms FROM outbox
         WHERE state = 'pending' ORDER BY seq LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], op_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl FromSql for OpState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        OpState::from_code(value.as_str()?).ok_or(FromSqlError::InvalidType)
    }
}

/// The bureau's final answer for one op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpAnswer {
    pub op_id: String,
    pub state: OpState,
    pub reason: Option<String>,
    /// Kind-specific detail (JSON), e.g. an evidence record's leaf index.
    pub result: Option<String>,
}

/// Records the bureau's answer; an op that already has one keeps it.
pub fn record_answer(conn: &Connection, answer: &OpAnswer, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = ?2, reason = ?3, result = ?4, done_at_ms = ?5
         WHERE op_id = ?1 AND state = 'pending'",
    )?
    .execute(params![
        answer.op_id,
        answer.state.code(),
        answer.reason,
        answer.result,
        now_ms
    ])?;
    Ok(())
}

/// Notes a send that got no answer for the op (the op stays pending).
pub fn record_attempt(conn: &Connection, op_id: &str, error_code: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2
         WHERE op_id = ?1 AND state = 'pending'",
    )?
    .execute(params![op_id, error_code])?;
    Ok(())
}

/// The newest op of one of `kinds` carrying `entity_id`.
pub fn status_of(conn: &Connection, entity_id: &str, kinds: &[OpKind]) -> Result<Option<OpStatus>> {
    let mut stmt = conn.prepare_cached(
        "SELECT op_id, kind, state, reason, attempts, last_error FROM outbox
         WHERE entity_id = ?1 AND kind IN (SELECT value FROM json_each(?2))
         ORDER BY seq DESC LIMIT 1",
    )?;
    let kinds = serde_json::to_string(kinds).expect("kinds serialise");
    let found = stmt
        .query_row(params![entity_id, kinds], |row| {
            Ok(OpStatus {
                op_id: row.get(0)?,
                kind: row.get(1)?,
                state: row.get(2)?,
                reason: row.get(3)?,
                attempts: row.get(4)?,
                last_error: row.get(5)?,
            })
        })
        .optional()?;
    Ok(found)
}

/// Pending ops that may go to the bureau now, in outbox order.
///
/// Evidence records go strictly in chain order, and a capture or import record
/// waits until the bureau holds its photo, complete and verified (a record may
/// reference a photo only then); so do all records after it, or the bureau would
/// see a gap. A `photo.upload` op waits for its own upload. Inspections wait for
/// nothing: an amendment already follows its original in the outbox.
pub fn ready(conn: &Connection, limit: u32) -> Result<Vec<OutboxOp>> {
    let mut stmt = conn.prepare_cached(
        "WITH first_waiting AS (
             SELECT min(o.seq) AS seq FROM outbox o
             JOIN photos p ON p.record_seq = CAST(o.entity_id AS INTEGER)
             LEFT JOIN uploads u ON u.photo_id = p.id AND u.role = 'original'
             WHERE o.state = 'pending' AND o.kind = 'evidence.record'
               AND coalesce(u.state, 'sending') = 'sending'
         )
         SELECT seq, op_id, kind, entity_id, payload, created_at_ms FROM outbox o
         WHERE state = 'pending'
           AND NOT (kind = 'evidence.record'
                    AND seq >= coalesce((SELECT seq FROM first_waiting), seq + 1))
           AND NOT (kind = 'photo.upload' AND NOT EXISTS (
                    SELECT 1 FROM uploads u WHERE u.photo_id = o.entity_id
                    AND u.role = 'original' AND u.state = 'complete'))
         ORDER BY seq LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], op_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn count_pending(conn: &Connection) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM outbox WHERE state = 'pending'")?
        .query_row([], |row| row.get(0))?)
}

/// Refuses a `photo.upload` op on the device's side: the bureau refused the
/// upload itself for good, so the op could only be refused too.
pub fn reject_photo_op(conn: &Connection, photo_id: &str, reason: &str, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'rejected', reason = ?2, done_at_ms = ?3
         WHERE kind = 'photo.upload' AND entity_id = ?1 AND state = 'pending'",
    )?
    .execute(params![photo_id, reason, now_ms])?;
    Ok(())
}

fn op_from_row(row: &Row) -> rusqlite::Result<OutboxOp> {
    Ok(OutboxOp {
        seq: row.get(0)?,
        op_id: row.get(1)?,
        kind: row.get(2)?,
        entity_id: row.get(3)?,
        payload: row.get(4)?,
        created_at_ms: row.get(5)?,
    })
}

//! `task.state` ops: a device reports what its team did with a task
//! (received, in progress, completed, declined with a reason). Each report is
//! kept with its op; the task's state is the furthest any device reported,
//! never moved back and never past `closed`, which only the review sets.

use crate::enrollment::Device;
use crate::error::{Error, Result};
use crate::{now_ms, params, parse_id};
use fieldproof_core::model::division::covers;
use fieldproof_core::model::task::TaskState;
use fieldproof_core::time::check_time;
use fieldproof_core::wire::ops::{TaskStatePayload, MAX_DECLINE_REASON_CHARS};
use serde_json::{json, Value};

/// Records a report from `device`, carried by op `op_id`.
pub fn report(
    tx: &mut crate::storage::Tx,
    device: &Device,
    op_id: &str,
    body: &TaskStatePayload,
) -> Result<Value> {
    let task_id = parse_id(&body.task_id, "task_id")?;
    if !matches!(
        body.state,
        TaskState::Received | TaskState::InProgress | TaskState::Completed | TaskState::Declined
    ) {
        return Err(Error::InvalidTaskState);
    }
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if body.state == TaskState::Declined && reason.is_none() {
        return Err(Error::ReasonRequired);
    }
    if reason.is_some_and(|r| r.chars().count() > MAX_DECLINE_REASON_CHARS) {
        return Err(Error::TextTooLong {
            field: "reason",
            limit: MAX_DECLINE_REASON_CHARS,
        });
    }
    let inspection_id = body
        .inspection_id
        .as_deref()
        .map(|id| parse_id(id, "inspection_id"))
        .transpose()?;
    check_time(body.at_ms, "at_ms").map_err(|_| Error::InvalidRequest {
        reason: "at_ms must be UTC milliseconds between 2000 and 2100".into(),
    })?;
    let jurisdiction = tx
        .query_opt(
            "SELECT jurisdiction FROM tasks WHERE id = $1",
            params![&task_id],
        )?
        .ok_or(Error::NotFound { what: "task" })?
        .text(0)?;
    // A device hears of tasks addressed within its jurisdiction or above it.
    if !covers(&device.jurisdiction, &jurisdiction) && !covers(&jurisdiction, &device.jurisdiction)
    {
        return Err(Error::OutsideJurisdiction);
    }
    let now = now_ms();
    tx.execute(
        "INSERT INTO task_states (op_id, task_id, device_id, state, reason, inspection_id, at_ms, recorded_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            op_id,
            &task_id,
            &device.id,
            body.state.code(),
            reason.map(str::to_owned),
            inspection_id,
            body.at_ms,
            now
        ],
    )?;
    // Forward only, in one statement, whatever other devices report at once.
    tx.execute(
        &format!(
            "UPDATE tasks SET state = $1, state_ms = $2 WHERE id = $3 AND {} < $4",
            rank_sql("state")
        ),
        params![
            body.state.code(),
            now,
            &task_id,
            i64::from(body.state.rank())
        ],
    )?;
    let state = tx
        .query_opt("SELECT state FROM tasks WHERE id = $1", params![&task_id])?
        .map(|r| r.text(0))
        .transpose()?;
    Ok(json!({ "task_id": task_id, "state": state }))
}

/// [`TaskState::rank`] of a state column, in SQL.
pub(crate) fn rank_sql(column: &str) -> String {
    let arms: String = TaskState::ALL
        .iter()
        .map(|s| format!(" WHEN '{}' THEN {}", s.code(), s.rank()))
        .collect();
    format!("(CASE {column}{arms} ELSE 0 END)")
}

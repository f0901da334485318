//! How each task from the bureau stands on this device — received, in
//! progress, completed or declined — and the `task.state` op that tells the
//! bureau, written in the same transaction as the change. The device moves a
//! task on by itself when it arrives, when an inspection answering it is
//! started and when that inspection is submitted; the team declines one
//! explicitly, with a reason. A task only moves forward ([`TaskState::rank`]).

use super::{outbox, Store};
use crate::error::{Error, Result};
use crate::model::id::parse_id;
use crate::model::task::{TaskProgress, TaskState};
use crate::time::now_ms;
use crate::wire::ops::{OpKind, TaskStatePayload, MAX_DECLINE_REASON_CHARS};
use rusqlite::{params, Connection, OptionalExtension};

impl Store {
    /// Declines a task the team cannot or will not do, with the reason the
    /// dispatcher will read. A task already completed or declined stays so
    /// (`task_finished`).
    pub fn decline_task(&self, task_id: &str, reason: &str) -> Result<TaskProgress> {
        let id = parse_id(task_id, "task id")?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::InvalidField {
                field: "reason",
                reason: "say why the task is declined",
            });
        }
        if reason.chars().count() > MAX_DECLINE_REASON_CHARS {
            return Err(Error::TextTooLong {
                field: "reason".into(),
                max: MAX_DECLINE_REASON_CHARS,
            });
        }
        self.write(|tx| {
            let current = progress(tx, &id)?.ok_or_else(|| Error::NotFound {
                what: "task",
                id: id.clone(),
            })?;
            if current.state.rank() >= TaskState::Declined.rank() {
                return Err(Error::TaskFinished {
                    id: id.clone(),
                    state: current.state.code(),
                });
            }
            set(tx, &id, TaskState::Declined, Some(reason), None, now_ms())?;
            Ok(progress(tx, &id)?.expect("the task is there"))
        })
    }

    /// How a task stands here; `None` for a task this device never received.
    pub fn task_progress(&self, task_id: &str) -> Result<Option<TaskProgress>> {
        let id = parse_id(task_id, "task id")?;
        self.read(|conn| progress(conn, &id))
    }
}

/// Moves a task this device holds on to `state`, reporting it; a task it does
/// not hold, or one already as far or further, is left as it is.
pub(super) fn advance(
    tx: &Connection,
    task_id: &str,
    state: TaskState,
    inspection_id: Option<&str>,
    now: i64,
) -> Result<()> {
    match progress(tx, task_id)? {
        Some(current) if current.state.rank() < state.rank() => {
            set(tx, task_id, state, None, inspection_id, now)
        }
        _ => Ok(()),
    }
}

/// Reports that a task just arrived.
pub(super) fn received(tx: &Connection, task_id: &str, now: i64) -> Result<()> {
    report(tx, task_id, TaskState::Received, None, None, now)
}

fn set(
    tx: &Connection,
    task_id: &str,
    state: TaskState,
    reason: Option<&str>,
    inspection_id: Option<&str>,
    now: i64,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE tasks SET state = ?1, state_ms = ?2, state_reason = ?3,
             inspection_id = coalesce(?4, inspection_id)
         WHERE id = ?5",
    )?
    .execute(params![state.code(), now, reason, inspection_id, task_id])?;
    report(tx, task_id, state, reason, inspection_id, now)
}

fn report(
    tx: &Connection,
    task_id: &str,
    state: TaskState,
    reason: Option<&str>,
    inspection_id: Option<&str>,
    now: i64,
) -> Result<()> {
    let payload = TaskStatePayload {
        task_id: task_id.to_owned(),
        state,
        reason: reason.map(str::to_owned),
        inspection_id: inspection_id.map(str::to_owned),
        at_ms: now,
    };
    outbox::enqueue(tx, OpKind::TaskState, task_id, &payload, now)?;
    Ok(())
}

fn progress(conn: &Connection, task_id: &str) -> Result<Option<TaskProgress>> {
    conn.prepare_cached(
        "SELECT state, coalesce(state_ms, received_at_ms), state_reason, inspection_id
         FROM tasks WHERE id = ?1",
    )?
    .query_row([task_id], |row| {
        let state: String = row.get(0)?;
        Ok(TaskProgress {
            task_id: task_id.to_owned(),
            // The table's CHECK admits only states that parse.
            state: TaskState::from_code(&state).unwrap_or(TaskState::Received),
            state_ms: row.get(1)?,
            reason: row.get(2)?,
            inspection_id: row.get(3)?,
        })
    })
    .optional()
    .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::datum::Datum;
    use crate::geo::point::GeoPoint;
    use crate::model::checklist::{Answer, AnswerValue};
    use crate::model::inspection::DraftFields;
    use crate::model::task::Task;
    use crate::store::received::FeedItem;

    const TASK: &str = "0190f5c2-0000-7000-8000-0000000000f1";

    fn task(title: &str) -> FeedItem {
        FeedItem::Task(Task {
            id: TASK.into(),
            jurisdiction: "430121".into(),
            title: title.into(),
            note: None,
            location: None,
            due_ms: None,
            created_ms: 1_790_000_000_000,
            event: None,
            closed: None,
        })
    }

    /// The task.state ops queued, in order: (state, inspection, reason).
    fn reports(store: &Store) -> Vec<(TaskState, Option<String>, Option<String>)> {
        store
            .pending_outbox(100)
            .unwrap()
            .into_iter()
            .filter(|op| op.kind == OpKind::TaskState.as_str())
            .map(|op| {
                let p: TaskStatePayload = serde_json::from_str(&op.payload).unwrap();
                assert_eq!((op.entity_id.as_str(), p.task_id.as_str()), (TASK, TASK));
                (p.state, p.inspection_id, p.reason)
            })
            .collect()
    }

    #[test]
    fn a_task_moves_forward_with_its_inspection_and_reports_each_step() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("device.db")).unwrap();
        store
            .apply_pull_page(&[task("核查火点")], "c1", None, &[])
            .unwrap();
        // Sent again (the event grew): still received once.
        store
            .apply_pull_page(&[task("核查火点（更新）")], "c2", None, &[])
            .unwrap();
        assert_eq!(store.tasks().unwrap()[0].title, "核查火点（更新）");
        let progress = store.task_progress(TASK).unwrap().unwrap();
        assert_eq!(progress.state, TaskState::Received);

        let fields = DraftFields {
            township_code: "430121101".into(),
            county_code: None,
            site: GeoPoint {
                lat: 28.2282,
                lon: 112.9388,
                datum: Datum::Gcj02,
            },
            address: "field".into(),
            task_id: Some(TASK.into()),
            officer_id: "officer-test".into(),
            started_at_ms: 1_790_000_000_000,
            ended_at_ms: None,
            findings: String::new(),
            responsible_party: None,
        };
        // Every required item of the default straw-burning checklist.
        let answer = |item: &str, value| Answer {
            item_id: item.into(),
            value,
        };
        let answers = [
            answer("fire_on_arrival", AnswerValue::YesNo(false)),
            answer("burned_area_mu", AnswerValue::Number(0.0)),
            answer("material", AnswerValue::Choice("rice_straw".into())),
            answer("extinguished", AnswerValue::YesNo(true)),
            answer("responsible_party_identified", AnswerValue::YesNo(false)),
            answer("warning_issued", AnswerValue::YesNo(true)),
        ];
        let draft = store
            .create_draft("straw_burning", fields, &answers)
            .unwrap();
        store.submit(&draft.id).unwrap();
        let done = store.task_progress(TASK).unwrap().unwrap();
        assert_eq!(done.state, TaskState::Completed);
        assert_eq!(done.inspection_id.as_deref(), Some(draft.id.as_str()));
        assert_eq!(
            reports(&store),
            [
                (TaskState::Received, None, None),
                (TaskState::InProgress, Some(draft.id.clone()), None),
                (TaskState::Completed, Some(draft.id.clone()), None),
            ]
        );
        // The team's part is over: it can no longer decline it.
        let err = store.decline_task(TASK, "路不通").unwrap_err();
        assert_eq!(err.code(), "task_finished");
        assert_eq!(reports(&store).len(), 3, "nothing more queued");
    }

    #[test]
    fn declining_needs_a_reason_and_a_task_this_device_holds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("device.db")).unwrap();
        let code = |r: Result<TaskProgress>| r.unwrap_err().code();
        assert_eq!(code(store.decline_task(TASK, "路不通")), "not_found");
        assert_eq!(code(store.decline_task("not-an-id", "x")), "invalid_id");
        store
            .apply_pull_page(&[task("核查火点")], "c1", None, &[])
            .unwrap();
        assert_eq!(code(store.decline_task(TASK, "  ")), "invalid_field");
        let long = "路".repeat(MAX_DECLINE_REASON_CHARS + 1);
        assert_eq!(code(store.decline_task(TASK, &long)), "text_too_long");
        assert_eq!(
            store.task_progress(TASK).unwrap().unwrap().state,
            TaskState::Received
        );

        let declined = store.decline_task(TASK, " 山洪阻断道路 ").unwrap();
        assert_eq!(declined.state, TaskState::Declined);
        assert_eq!(declined.reason.as_deref(), Some("山洪阻断道路"));
        assert_eq!(
            reports(&store).last().unwrap(),
            &(TaskState::Declined, None, Some("山洪阻断道路".into()))
        );
        assert_eq!(code(store.decline_task(TASK, "again")), "task_finished");
    }
}

//! Tasks: work the bureau dispatches to a jurisdiction, e.g. "verify the
//! satellite fire point at this place". Devices in (or above) the jurisdiction
//! receive each task through the change feed (kind `task`), again whenever it
//! changes (its fire event grew, or it was closed).
//!
//! A task's place may be given in any datum the bureau's sources use (fire-point
//! services and map pickers often give GCJ-02 or BD-09); it is stored in WGS-84
//! beside what was given, as the device stores an inspection's site.
//!
//! Where a task stands comes from the devices (`task.state` ops, recorded by
//! the push path) until the review accepts the inspection that answers it and
//! closes it here, with the verdict and, for a fire task, the proof of visit
//! ([`super::visits`]).

use super::{
    hours_ms, jurisdiction_conditions, page_size, text_field, visits, where_clause, Cursor, Page,
};
use crate::config::FireSettings;
use crate::enrollment::check_jurisdiction;
use crate::error::{Error, Result};
use crate::people::Scope;
use crate::storage::{parameters, Row, Tx, Value};
use crate::sync::feed::{self, Audience};
use crate::{now_ms, params};
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::checklist::{Answer, AnswerValue};
use fieldproof_core::model::fire::FireEvent;
use fieldproof_core::model::task::{FireVerdict, TaskClosure, TaskState};
use fieldproof_core::wire::fires::{DispatchedTask, TaskStateChange, Visit};
use fieldproof_core::wire::pull::ChangeKind;
use std::collections::HashMap;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_NOTE_CHARS: usize = 2000;
/// Due times are UTC milliseconds between 2000-01-01 and 2100-01-01.
const TIME_RANGE_MS: std::ops::Range<i64> = 946_684_800_000..4_102_444_800_000;

// A stored task is exactly what devices receive: one definition, the core's, so
// the two sides cannot drift apart.
pub use fieldproof_core::wire::admin::{NewLocation, NewTask, Task, TaskLocation};

/// Checks and stores a task, and puts it into the feed for its jurisdiction.
pub fn create(tx: &mut Tx, new: &NewTask) -> Result<Task> {
    let task = checked(new)?;
    dispatch(tx, &task)?;
    Ok(task)
}

/// Fire tasks made or changed by one import, announced to devices a few
/// hundred at a time: the change feed's counter is then taken once for each
/// few hundred, not once a task, and memory holds only those.
#[derive(Default)]
#[must_use = "the last tasks are announced by `finish`"]
pub struct Announcements(Vec<Task>);

impl Announcements {
    const AT_ONCE: usize = 500;

    fn push(&mut self, tx: &mut Tx, task: Task) -> Result<()> {
        self.0.push(task);
        if self.0.len() == Self::AT_ONCE {
            self.announce(tx)?;
        }
        Ok(())
    }

    /// Announces the tasks not announced yet.
    pub fn finish(mut self, tx: &mut Tx) -> Result<()> {
        self.announce(tx)
    }

    fn announce(&mut self, tx: &mut Tx) -> Result<()> {
        feed::append_all(
            tx,
            ChangeKind::Task,
            self.0
                .iter()
                .map(|task| (Audience::Jurisdiction(&task.jurisdiction), task)),
        )?;
        self.0.clear();
        Ok(())
    }
}

/// A task to verify a fire event on site, dispatched to `jurisdiction`;
/// announced with `announcements`. Returns its id.
pub fn create_for_event(
    tx: &mut Tx,
    announcements: &mut Announcements,
    jurisdiction: &str,
    event: FireEvent,
    due_ms: i64,
) -> Result<String> {
    let task = Task {
        id: uuid::Uuid::now_v7().to_string(),
        jurisdiction: jurisdiction.to_owned(),
        title: event_title(&event),
        note: Some(event_note(&event)),
        location: Some(event_location(&event)),
        due_ms: Some(due_ms),
        created_ms: now_ms(),
        event: Some(event),
        closed: None,
    };
    insert(tx, &task)?;
    let id = task.id.clone();
    announcements.push(tx, task)?;
    Ok(id)
}

/// A fire task's event grew: devices get it again, with the new detections
/// (and an earlier due time, if a key zone brought one), announced with
/// `announcements`.
pub fn update_event(
    tx: &mut Tx,
    announcements: &mut Announcements,
    task_id: &str,
    event: FireEvent,
    due_ms: i64,
) -> Result<()> {
    let mut task = load(tx, task_id)?;
    task.title = event_title(&event);
    task.note = Some(event_note(&event));
    task.location = Some(event_location(&event));
    task.due_ms = Some(task.due_ms.map_or(due_ms, |due| due.min(due_ms)));
    task.event = Some(event);
    let body = serde_json::to_string(&task).expect("tasks serialise");
    tx.execute(
        "UPDATE tasks SET body = $1, due_ms = $2 WHERE id = $3",
        params![body, task.due_ms, task_id],
    )?;
    announcements.push(tx, task)
}

fn event_title(event: &FireEvent) -> String {
    match &event.key_zone {
        Some(zone) => format!("核查卫星火点（{zone}）"),
        None => "核查卫星火点".to_owned(),
    }
}

fn event_note(event: &FireEvent) -> String {
    format!(
        "{} 个卫星火点，首次发现 {}（UTC）",
        event.detections.len(),
        fieldproof_core::time::utc_text(event.first_detected_ms)
    )
}

fn event_location(event: &FireEvent) -> TaskLocation {
    TaskLocation {
        lat: event.lat,
        lon: event.lon,
        reported_lat: event.lat,
        reported_lon: event.lon,
        reported_datum: Datum::Wgs84,
    }
}

/// Stores a new task, dispatched, and announces it.
fn dispatch(tx: &mut Tx, task: &Task) -> Result<()> {
    insert(tx, task)?;
    announce(tx, task)
}

/// Stores a new task, dispatched.
fn insert(tx: &mut Tx, task: &Task) -> Result<()> {
    let body = serde_json::to_string(task).expect("tasks serialise");
    tx.execute(
        "INSERT INTO tasks (id, jurisdiction, body, created_ms, event_id, due_ms, state, state_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $4)",
        params![
            &task.id,
            &task.jurisdiction,
            body,
            task.created_ms,
            task.event.as_ref().map(|e| e.id.clone()),
            task.due_ms,
            TaskState::Dispatched.code()
        ],
    )?;
    Ok(())
}

/// Rewrites a task's body and announces it again.
fn store(tx: &mut Tx, task: &Task) -> Result<()> {
    let body = serde_json::to_string(task).expect("tasks serialise");
    tx.execute(
        "UPDATE tasks SET body = $1 WHERE id = $2",
        params![body, &task.id],
    )?;
    announce(tx, task)
}

fn announce(tx: &mut Tx, task: &Task) -> Result<()> {
    feed::append(
        tx,
        Audience::Jurisdiction(&task.jurisdiction),
        ChangeKind::Task,
        task,
    )?;
    Ok(())
}

/// A task as devices received it.
pub fn load(tx: &mut Tx, id: &str) -> Result<Task> {
    let row = tx
        .query_opt("SELECT body FROM tasks WHERE id = $1", params![id])?
        .ok_or(Error::NotFound { what: "task" })?;
    parse_body(&row.text(0)?)
}

fn parse_body(body: &str) -> Result<Task> {
    serde_json::from_str(body).map_err(|_| Error::Storage {
        reason: "a stored task is not readable".into(),
    })
}

/// What a task list asks for.
#[derive(Debug, Clone)]
pub struct TaskFilter {
    /// Where the reader may look (required: no list is unscoped by accident).
    pub scope: Scope,
    /// Tasks within this jurisdiction (its code is a prefix of theirs).
    pub jurisdiction: Option<String>,
    pub state: Option<TaskState>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A task state named in a list's filter.
pub fn parse_state(text: &str) -> Result<TaskState> {
    TaskState::from_code(text).ok_or_else(|| Error::InvalidRequest {
        reason: "state: dispatched, received, in_progress, completed, declined or closed".into(),
    })
}

/// Tasks, newest first, with where each stands, its history and flags:
/// `unreceived` once dispatched longer than `fires.unreceived_after_h` ago
/// with no device having it.
pub fn list(
    tx: &mut Tx,
    filter: &TaskFilter,
    fires: &FireSettings,
) -> Result<Page<DispatchedTask>> {
    let limit = page_size(filter.limit)?;
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    jurisdiction_conditions(
        "jurisdiction",
        filter.jurisdiction.as_deref(),
        &filter.scope,
        &mut conditions,
        &mut values,
    )?;
    if let Some(state) = filter.state {
        values.push(state.code().into());
        conditions.push(format!("state = ${}", values.len()));
    }
    if let Some(cursor) = &filter.cursor {
        let cursor = Cursor::decode(cursor)?;
        values.push(cursor.time_ms.into());
        values.push(cursor.id.into());
        let (t, i) = (values.len() - 1, values.len());
        conditions.push(format!(
            "(created_ms < ${t} OR (created_ms = ${t} AND id < ${i}))"
        ));
    }
    values.push((limit as i64 + 1).into());
    let filter_sql = where_clause(&conditions);
    let rows = tx.query(
        &format!(
            "SELECT body, state, coalesce(state_ms, created_ms), visit FROM tasks {filter_sql}
             ORDER BY created_ms DESC, id DESC LIMIT ${}",
            values.len()
        ),
        &values,
    )?;
    let has_more = rows.len() > limit;
    let rows = &rows[..rows.len().min(limit)];
    let tasks: Vec<Task> = rows
        .iter()
        .map(|r| parse_body(&r.text(0)?))
        .collect::<Result<_>>()?;
    let mut histories = histories(tx, &tasks)?;
    let unreceived_before = now_ms() - hours_ms(fires.unreceived_after_h);
    let items = rows
        .iter()
        .zip(tasks)
        .map(|(row, task)| dispatched(row, task, &mut histories, unreceived_before))
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = match items.last() {
        Some(last) if has_more => Some(
            Cursor {
                time_ms: last.task.created_ms,
                id: last.task.id.clone(),
            }
            .encode(),
        ),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

fn dispatched(
    row: &Row,
    task: Task,
    histories: &mut HashMap<String, Vec<TaskStateChange>>,
    unreceived_before: i64,
) -> Result<DispatchedTask> {
    let state = TaskState::from_code(&row.text(1)?).ok_or_else(|| Error::Storage {
        reason: "a stored task state is not readable".into(),
    })?;
    let visit: Option<Visit> = row
        .opt_text(3)?
        .map(|v| serde_json::from_str(&v))
        .transpose()
        .map_err(|_| Error::Storage {
            reason: "a stored proof of visit is not readable".into(),
        })?;
    Ok(DispatchedTask {
        unreceived: state == TaskState::Dispatched && task.created_ms < unreceived_before,
        history: histories.remove(&task.id).unwrap_or_default(),
        state_ms: row.int(2)?,
        state,
        visit,
        task,
    })
}

/// The states devices reported for `tasks`, each oldest first (one query).
fn histories(tx: &mut Tx, tasks: &[Task]) -> Result<HashMap<String, Vec<TaskStateChange>>> {
    let mut out: HashMap<String, Vec<TaskStateChange>> = HashMap::new();
    if tasks.is_empty() {
        return Ok(out);
    }
    let values: Vec<Value> = tasks.iter().map(|t| Value::from(&t.id)).collect();
    let rows = tx.query(
        &format!(
            "SELECT task_id, state, reason, inspection_id, device_id, at_ms, recorded_ms
             FROM task_states WHERE task_id IN ({}) ORDER BY recorded_ms, op_id",
            parameters(1, tasks.len())
        ),
        &values,
    )?;
    for row in rows {
        let Some(state) = TaskState::from_code(&row.text(1)?) else {
            continue;
        };
        out.entry(row.text(0)?).or_default().push(TaskStateChange {
            state,
            reason: row.opt_text(2)?,
            inspection_id: row.opt_text(3)?,
            device_id: row.text(4)?,
            at_ms: row.int(5)?,
            recorded_ms: row.int(6)?,
        });
    }
    Ok(out)
}

/// Closes the task an accepted inspection answers, with the verdict its
/// checklist gives and, for a fire task, the proof of visit its evidence
/// makes; devices hear of it. A task already closed, or one this bureau does
/// not hold, is left as it is.
pub fn close_by_review(
    tx: &mut Tx,
    task_id: &str,
    inspection_id: &str,
    inspection: &serde_json::Value,
    fires: &FireSettings,
) -> Result<()> {
    let Some(row) = tx.query_opt("SELECT state FROM tasks WHERE id = $1", params![task_id])? else {
        return Ok(());
    };
    if row.text(0)? == TaskState::Closed.code() {
        return Ok(());
    }
    let mut task = load(tx, task_id)?;
    let visit = match &task.event {
        Some(event) => Some(visits::judge(tx, event, task.due_ms, inspection_id, fires)?),
        None => None,
    };
    let now = now_ms();
    task.closed = Some(TaskClosure {
        inspection_id: inspection_id.to_owned(),
        verdict: verdict(inspection),
        closed_ms: now,
    });
    let visited_ms = visit
        .as_ref()
        .filter(|v| v.visited)
        .and_then(|v| v.closest.as_ref())
        .map(|fix| fix.at_ms);
    tx.execute(
        "UPDATE tasks SET state = $1, state_ms = $2, closed_ms = $2, closed_by = $3,
             verdict = $4, visit = $5, visited_ms = $6
         WHERE id = $7",
        params![
            TaskState::Closed.code(),
            now,
            inspection_id,
            task.closed
                .as_ref()
                .and_then(|c| c.verdict)
                .map(|v| v.code()),
            visit
                .as_ref()
                .map(|v| serde_json::to_string(v).expect("visits serialise")),
            visited_ms,
            task_id
        ],
    )?;
    store(tx, &task)
}

/// The proof of visit inspection `inspection_id`, answering task `task_id`,
/// makes: the one recorded when its acceptance closed the task, else as
/// judged now. `None` for a task that is not a fire task, or not held here.
pub fn visit_for(
    tx: &mut Tx,
    task_id: &str,
    inspection_id: &str,
    fires: &FireSettings,
) -> Result<Option<Visit>> {
    let Some(row) = tx.query_opt(
        "SELECT body, closed_by, visit FROM tasks WHERE id = $1",
        params![task_id],
    )?
    else {
        return Ok(None);
    };
    if row.opt_text(1)?.as_deref() == Some(inspection_id) {
        if let Some(visit) = row.opt_text(2)? {
            return serde_json::from_str(&visit)
                .map(Some)
                .map_err(|_| Error::Storage {
                    reason: "a stored proof of visit is not readable".into(),
                });
        }
    }
    let task = parse_body(&row.text(0)?)?;
    match &task.event {
        Some(event) => visits::judge(tx, event, task.due_ms, inspection_id, fires).map(Some),
        None => Ok(None),
    }
}

/// The `fire_verdict` answer of an inspection (JSON as received), if it
/// gives one this bureau knows.
pub fn verdict(inspection: &serde_json::Value) -> Option<FireVerdict> {
    let answers: Vec<Answer> = serde_json::from_value(inspection.get("answers")?.clone()).ok()?;
    answers
        .into_iter()
        .find(|a| a.item_id == FireVerdict::ITEM_ID)
        .and_then(|a| match a.value {
            AnswerValue::Choice(code) => FireVerdict::from_code(&code),
            _ => None,
        })
}

/// The task `new` describes, every field checked.
fn checked(new: &NewTask) -> Result<Task> {
    check_jurisdiction(&new.jurisdiction)?;
    let title = text_field(&new.title, "title", MAX_TITLE_CHARS)?;
    if title.is_empty() {
        return Err(Error::InvalidRequest {
            reason: "a task needs a title".into(),
        });
    }
    let note = match &new.note {
        Some(note) => Some(text_field(note, "note", MAX_NOTE_CHARS)?).filter(|n| !n.is_empty()),
        None => None,
    };
    let location = new.location.as_ref().map(location).transpose()?;
    if let Some(due) = new.due_ms {
        if !TIME_RANGE_MS.contains(&due) {
            return Err(Error::InvalidRequest {
                reason: "due_ms must be UTC milliseconds between 2000 and 2100".into(),
            });
        }
    }
    Ok(Task {
        id: uuid::Uuid::now_v7().to_string(),
        jurisdiction: new.jurisdiction.clone(),
        title,
        note,
        location,
        due_ms: new.due_ms,
        created_ms: now_ms(),
        event: None,
        closed: None,
    })
}

/// Validates a place and converts it to WGS-84 with the core's datum code.
fn location(given: &NewLocation) -> Result<TaskLocation> {
    let datum = Datum::from_code(&given.datum).ok_or(Error::UnknownDatum)?;
    let point = GeoPoint {
        lat: given.lat,
        lon: given.lon,
        datum,
    };
    let wgs84 = point.to_wgs84().map_err(|e| match e {
        fieldproof_core::Error::InvalidCoordinate { field } => Error::InvalidCoordinate { field },
        _ => Error::InvalidCoordinate { field: "location" },
    })?;
    Ok(TaskLocation {
        lat: wgs84.lat,
        lon: wgs84.lon,
        reported_lat: given.lat,
        reported_lon: given.lon,
        reported_datum: datum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new_task(location: Option<NewLocation>) -> NewTask {
        NewTask {
            jurisdiction: "430121".into(),
            title: " 核查火点 ".into(),
            note: Some("".into()),
            location,
            due_ms: None,
        }
    }

    #[test]
    fn locations_are_converted_to_wgs84_and_kept_as_given() {
        let task = checked(&new_task(Some(NewLocation {
            lat: 28.2282,
            lon: 112.9388,
            datum: "gcj02".into(),
        })))
        .unwrap();
        assert_eq!(task.title, "核查火点");
        assert_eq!(task.note, None);
        let at = task.location.unwrap();
        assert_eq!((at.reported_lat, at.reported_lon), (28.2282, 112.9388));
        assert_eq!(at.reported_datum, Datum::Gcj02);
        let back = fieldproof_core::geo::datum::convert(
            fieldproof_core::geo::datum::LatLon {
                lat: at.lat,
                lon: at.lon,
            },
            Datum::Wgs84,
            Datum::Gcj02,
        );
        assert!((back.lat - 28.2282).abs() < 1e-9 && (back.lon - 112.9388).abs() < 1e-9);
        assert!((at.lat - 28.2282).abs() > 1e-3, "GCJ-02 moved to WGS-84");
    }

    #[test]
    fn bad_fields_have_their_own_codes() {
        let code = |t: NewTask| checked(&t).unwrap_err().code();
        let at = |lat: f64, datum: &str| {
            new_task(Some(NewLocation {
                lat,
                lon: 112.0,
                datum: datum.into(),
            }))
        };
        assert_eq!(code(at(95.0, "wgs84")), "invalid_coordinate");
        assert_eq!(code(at(28.0, "mars")), "unknown_datum");
        let mut t = new_task(None);
        t.title = "x".repeat(MAX_TITLE_CHARS + 1);
        assert_eq!(code(t), "text_too_long");
        let mut t = new_task(None);
        t.title = "  ".into();
        assert_eq!(code(t), "invalid_request");
        let mut t = new_task(None);
        t.jurisdiction = "43/01".into();
        assert_eq!(code(t), "invalid_request");
        let mut t = new_task(None);
        t.due_ms = Some(5);
        assert_eq!(code(t), "invalid_request");
    }

    #[test]
    fn the_verdict_is_read_from_the_answers() {
        let answered = |value: AnswerValue| {
            json!({"answers": [
                Answer { item_id: "extinguished".into(), value: AnswerValue::YesNo(true) },
                Answer { item_id: "fire_verdict".into(), value },
            ]})
        };
        let choice = |c: &str| AnswerValue::Choice(c.into());
        assert_eq!(
            verdict(&answered(choice("confirmed_burning"))),
            Some(FireVerdict::ConfirmedBurning)
        );
        assert_eq!(verdict(&answered(choice("made_up"))), None);
        assert_eq!(
            verdict(&answered(AnswerValue::Text("confirmed_burning".into()))),
            None
        );
        assert_eq!(verdict(&json!({"answers": []})), None);
        assert_eq!(verdict(&json!({})), None);
    }
}

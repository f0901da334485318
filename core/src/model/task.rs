//! Tasks: work the bureau dispatches to a jurisdiction, e.g. "verify the
//! satellite fire point at this place". They reach the device by pull; the
//! device reports how each stands (received, in progress, completed or
//! declined) by push, and the bureau closes a task when it accepts the
//! inspection that answers it.

use crate::geo::datum::Datum;
use crate::model::fire::FireEvent;
use serde::{Deserialize, Serialize};

/// A task as the bureau sent it. Fields the bureau adds later are ignored, so an
/// older app still shows the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    /// The division code the task is addressed to.
    pub jurisdiction: String,
    pub title: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub location: Option<TaskLocation>,
    /// When it should be done, UTC ms.
    #[serde(default)]
    pub due_ms: Option<i64>,
    /// When the bureau made it, UTC ms (bureau clock).
    pub created_ms: i64,
    /// The satellite fire event to verify, for a task made from fire points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<FireEvent>,
    /// Once the bureau accepted the inspection that answers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<TaskClosure>,
}

/// Where: WGS-84 (`lat`, `lon`) plus the place as the bureau's source gave it,
/// like an inspection's site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskLocation {
    pub lat: f64,
    pub lon: f64,
    pub reported_lat: f64,
    pub reported_lon: f64,
    pub reported_datum: Datum,
}

/// How a task was closed: the answering inspection the bureau accepted, and
/// for a fire task the verdict its checklist gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskClosure {
    pub inspection_id: String,
    #[serde(default)]
    pub verdict: Option<FireVerdict>,
    /// Bureau clock, UTC ms.
    pub closed_ms: i64,
}

/// Where a task stands, as field teams say it. The device reports the middle
/// ones; `Dispatched` is the bureau's until a device has it, `Closed` the
/// bureau's once the answering inspection is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Dispatched,
    /// A device of the jurisdiction has it.
    Received,
    /// An inspection answering it was started.
    InProgress,
    /// The inspection answering it was submitted.
    Completed,
    /// The team cannot or will not do it, with a reason.
    Declined,
    Closed,
}

impl TaskState {
    pub const ALL: [TaskState; 6] = [
        TaskState::Dispatched,
        TaskState::Received,
        TaskState::InProgress,
        TaskState::Completed,
        TaskState::Declined,
        TaskState::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TaskState::Dispatched => "dispatched",
            TaskState::Received => "received",
            TaskState::InProgress => "in_progress",
            TaskState::Completed => "completed",
            TaskState::Declined => "declined",
            TaskState::Closed => "closed",
        }
    }

    pub fn from_code(code: &str) -> Option<TaskState> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// How far along: a report never moves a task back (a late `received`
    /// after `completed` changes nothing). Declining ranks with completing:
    /// either ends the team's part.
    pub fn rank(self) -> u8 {
        match self {
            TaskState::Dispatched => 0,
            TaskState::Received => 1,
            TaskState::InProgress => 2,
            TaskState::Completed | TaskState::Declined => 3,
            TaskState::Closed => 4,
        }
    }
}

/// How a task stands on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    pub task_id: String,
    /// `Received`, `InProgress`, `Completed` or `Declined`.
    pub state: TaskState,
    /// Device clock, UTC ms.
    pub state_ms: i64,
    /// Why it was declined.
    pub reason: Option<String>,
    /// The inspection answering it, once one was started.
    pub inspection_id: Option<String>,
}

/// What the team found at a fire point: the `fire_verdict` item of the
/// straw- and waste-burning checklists (version 2 on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FireVerdict {
    ConfirmedBurning,
    NoFireFound,
    /// A kiln, power plant, steel works… not a field fire.
    StaticSource,
    NotReachable,
}

impl FireVerdict {
    pub const ALL: [FireVerdict; 4] = [
        FireVerdict::ConfirmedBurning,
        FireVerdict::NoFireFound,
        FireVerdict::StaticSource,
        FireVerdict::NotReachable,
    ];

    /// The checklist item that records it.
    pub const ITEM_ID: &'static str = "fire_verdict";

    pub fn code(self) -> &'static str {
        match self {
            FireVerdict::ConfirmedBurning => "confirmed_burning",
            FireVerdict::NoFireFound => "no_fire_found",
            FireVerdict::StaticSource => "static_source",
            FireVerdict::NotReachable => "not_reachable",
        }
    }

    pub fn from_code(code: &str) -> Option<FireVerdict> {
        Self::ALL.into_iter().find(|v| v.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_serde() {
        for state in TaskState::ALL {
            assert_eq!(TaskState::from_code(state.code()), Some(state));
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{}\"", state.code())
            );
        }
        for verdict in FireVerdict::ALL {
            assert_eq!(FireVerdict::from_code(verdict.code()), Some(verdict));
            assert_eq!(
                serde_json::to_string(&verdict).unwrap(),
                format!("\"{}\"", verdict.code())
            );
        }
    }

    #[test]
    fn an_older_task_body_still_reads() {
        let task: Task = serde_json::from_str(
            r#"{"id":"t","jurisdiction":"430121","title":"x","created_ms":1,"extra":true}"#,
        )
        .unwrap();
        assert_eq!((task.event, task.closed), (None, None));
    }
}

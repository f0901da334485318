//! `/v1/admin/fires…` and the dispatcher's view of tasks: satellite fire points
//! in, field tasks out, verified visits back, and the figures a county is
//! judged on. Written once for the bureau and its clients (the CLI, the
//! console).

use crate::model::fire::FireProduct;
use crate::model::task::{Task, TaskState};
use serde::{Deserialize, Serialize};

/// The answer to `POST /v1/admin/fires` (a FIRMS CSV file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FireImport {
    /// The product the header says the file is.
    pub product: Option<FireProduct>,
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// New detections stored.
    pub imported: u64,
    /// Rows already held (same product, satellite, time and position).
    pub duplicates: u64,
    /// Rows refused, by line (1 is the header), at most [`MAX_REJECTED_LISTED`].
    pub rejected: Vec<RejectedRow>,
    /// All the rows refused, listed or not.
    pub rejected_total: u64,
    /// New detections outside every loaded boundary: kept, never dispatched.
    pub outside: u64,
    /// New detections inside but left out by a filter (confidence, static
    /// source, day/night, not a vegetation fire): kept with the filter's code.
    pub filtered: u64,
    pub events_new: u64,
    pub events_updated: u64,
    pub tasks_created: u64,
}

/// The most refused rows an import lists one by one.
pub const MAX_REJECTED_LISTED: usize = 1000;

/// A row of a FIRMS file that was not imported, and why (a stable code:
/// `invalid_coordinate`, `invalid_time`, `invalid_number`, `invalid_field`,
/// `wrong_field_count`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    pub line: u64,
    pub code: String,
}

/// A known static heat source (power plant, kiln, steel works): a detection
/// within `radius_m` of it is filtered as `static_source`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticSource {
    /// The bureau's own key for it; loading one with the same id replaces it.
    pub id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
}

/// `POST /v1/admin/fires/static-sources?datum=…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticSourceList {
    pub sources: Vec<StaticSource>,
}

/// What loading reference data for fires did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceLoad {
    pub loaded: u64,
    pub unchanged: u64,
}

/// A task as the dispatcher sees it: what devices received, where it stands
/// and since when, and what the bureau found of the visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispatchedTask {
    #[serde(flatten)]
    pub task: Task,
    pub state: TaskState,
    /// Bureau clock, UTC ms.
    pub state_ms: i64,
    /// Every state the devices reported, oldest first.
    #[serde(default)]
    pub history: Vec<TaskStateChange>,
    /// Dispatched this long ago and no device has it yet.
    #[serde(default)]
    pub unreceived: bool,
    /// The proof of visit, once the bureau judged it (at closing).
    #[serde(default)]
    pub visit: Option<Visit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStateChange {
    pub state: TaskState,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub inspection_id: Option<String>,
    pub device_id: String,
    /// Device clock, UTC ms.
    pub at_ms: i64,
    /// Bureau clock, UTC ms.
    pub recorded_ms: i64,
}

/// Whether the answering inspection's signed fixes (its patrol track and its
/// records' positions) prove the team was at the fire: the closest approach
/// to any of the event's detections within the task's window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// Within `radius_m`, with an accuracy no worse than it, inside the window.
    pub visited: bool,
    pub radius_m: f64,
    /// From the first detection to the due time, UTC ms.
    pub window_from_ms: i64,
    pub window_to_ms: i64,
    /// The closest counted fix, if any counted.
    #[serde(default)]
    pub closest: Option<VisitFix>,
    /// Fixes that counted.
    pub counted: u64,
    /// Fixes left out, by reason (`mock_location`, `outside_window`,
    /// `inaccurate`), each with how many.
    #[serde(default)]
    pub excluded: Vec<ExcludedFixes>,
    /// Mock-flagged fixes counted because the device declared an external
    /// GNSS receiver at enrollment (such receivers reach Android as a mock
    /// provider): the reviewer should know.
    #[serde(default)]
    pub external_gnss_fixes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitFix {
    pub distance_m: f64,
    /// Fix time (GNSS), UTC ms.
    pub at_ms: i64,
    #[serde(default)]
    pub accuracy_m: Option<f64>,
    pub device_id: String,
    /// `track` (a sealed patrol segment) or `record` (a photo's or note's fix).
    pub source: String,
    /// The evidence record it came from (the segment's or the photo's).
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedFixes {
    pub reason: String,
    pub count: u64,
}

/// `GET /v1/admin/fires/stats?jurisdiction=&from=&to=`: fire events first
/// detected in `[from_ms, to_ms)`, within `jurisdiction` (all when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FireStats {
    pub from_ms: i64,
    pub to_ms: i64,
    #[serde(default)]
    pub jurisdiction: Option<String>,
    pub total: FireFigures,
    /// Per county (6-digit code), then per township (9 or 12 digits) for
    /// events placed in a township.
    pub counties: Vec<AreaFigures>,
    pub townships: Vec<AreaFigures>,
    /// Events whose task is past due and not closed, oldest first.
    pub overdue_events: Vec<OverdueEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaFigures {
    pub code: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(flatten)]
    pub figures: FireFigures,
}

/// The figures of a set of fire events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FireFigures {
    pub events: u64,
    /// Events a task was made for (inside a loaded boundary, past the filters).
    pub dispatched: u64,
    /// Tasks closed with a proven visit no later than the due time.
    pub visited_in_time: u64,
    /// Tasks past due and not closed.
    pub overdue: u64,
    /// Tasks closed by an accepted inspection, and how many of those with
    /// each verdict that the ratios use.
    pub closed: u64,
    pub confirmed_burning: u64,
    pub static_source: u64,
    /// From the first detection to the proven visit, over visited tasks.
    #[serde(default)]
    pub median_to_visit_ms: Option<i64>,
    #[serde(default)]
    pub p90_to_visit_ms: Option<i64>,
    /// `confirmed_burning / closed` and `static_source / closed`.
    #[serde(default)]
    pub confirmed_ratio: Option<f64>,
    #[serde(default)]
    pub static_source_ratio: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverdueEvent {
    pub event_id: String,
    pub task_id: String,
    pub jurisdiction: String,
    pub first_detected_ms: i64,
    pub due_ms: i64,
    pub state: TaskState,
}

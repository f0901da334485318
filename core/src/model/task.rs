//! Tasks: work the bureau dispatches to a jurisdiction, e.g. "verify the
//! satellite fire point at this place". They reach the device by pull.

use crate::geo::datum::Datum;
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

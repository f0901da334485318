//! Patrol tracks as records: what the app shows and exports.

use crate::geo::bounding_box::BoundingBox;
use crate::geo::recorder::{SegmentStart, TrackFilter, Verdict};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Track {
    pub id: String,
    pub officer_id: String,
    pub inspection_id: Option<String>,
    pub task_id: Option<String>,
    pub filter: TrackFilter,
    pub started_at_ms: i64,
    /// `None` while recording.
    pub stopped_at_ms: Option<i64>,
    pub stats: TrackStats,
}

/// Statistics kept up to date with every fix, and one count per filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrackStats {
    pub segments: u32,
    pub accepted: u64,
    /// Accepted fixes the platform flagged as mock locations (kept, flagged).
    pub mock: u64,
    pub invalid: u64,
    pub low_accuracy: u64,
    pub speed_jump: u64,
    pub too_close: u64,
    pub too_frequent: u64,
    pub duplicate_time: u64,
    pub out_of_order: u64,
    /// Geodesic length along accepted fixes, not across gaps or jumps.
    pub length_m: f64,
    /// From the first to the last accepted fix.
    pub duration_ms: i64,
    pub moving_ms: i64,
    pub max_speed_mps: f64,
    pub first_fix_ms: Option<i64>,
    pub last_fix_ms: Option<i64>,
    pub bbox: Option<BoundingBox>,
}

/// One stored fix, in WGS-84.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackPoint {
    pub segment: u32,
    pub lat: f64,
    pub lon: f64,
    pub time_ms: i64,
    pub accuracy_m: Option<f64>,
    pub altitude_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
    pub provider: String,
    pub mock: bool,
}

/// A closed segment and the hash that seals its points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SealedSegment {
    pub track_id: String,
    pub segment: u32,
    pub start_reason: SegmentStart,
    pub point_count: u64,
    pub first_time_ms: i64,
    pub last_time_ms: i64,
    /// Lowercase hex SHA-256 of the points (encoding in `store::tracks`).
    pub points_sha256: String,
}

/// What became of one appended fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixOutcome {
    pub verdict: Verdict,
    /// For `invalid`: the validation error's code.
    pub error_code: Option<String>,
    /// The segment an accepted fix went into.
    pub segment: Option<u32>,
    /// The segment this fix closed, if it opened a new one.
    pub sealed: Option<SealedSegment>,
}

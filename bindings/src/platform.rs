//! What the platform glue (android/, ios/) asks the core instead of deciding
//! itself: the next sync run from a report, a sync call's share of a background
//! window, a platform location read as a fix, and the patrol to resume.

use crate::error::FieldproofError;
use crate::inspection_store::InspectionStore;
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::geo::platform_location::{self, PlatformLocation};
use fieldproof_core::model::track::Track;
use fieldproof_core::sync::{schedule, SyncPlan, SyncReport};

type Result<T> = std::result::Result<T, FieldproofError>;

/// When to run the next sync after `report`, at `now_ms` (UTC ms).
#[uniffi::export]
pub fn plan_next_sync(report: SyncReport, now_ms: i64) -> SyncPlan {
    schedule::plan_next_sync(&report, now_ms)
}

/// The `sync_once` timeout for a background window of `window_ms`.
#[uniffi::export]
pub fn sync_timeout_ms(window_ms: u64) -> u64 {
    schedule::sync_timeout_ms(window_ms)
}

/// A platform location (Android `Location`, iOS `CLLocation`) as a WGS-84 fix;
/// `now_elapsed_ms` is the monotonic clock now, to refuse a cached position
/// (`stale_location`).
#[uniffi::export]
pub fn fix_from_location(location: PlatformLocation, now_elapsed_ms: Option<u64>) -> Result<Fix> {
    Ok(platform_location::fix_from_location(
        location,
        now_elapsed_ms,
    )?)
}

#[uniffi::export]
impl InspectionStore {
    /// The newest patrol still recording, if any: a restarted patrol service
    /// goes on with it.
    pub fn recording_track(&self) -> Result<Option<Track>> {
        Ok(self.store().recording_track()?)
    }
}

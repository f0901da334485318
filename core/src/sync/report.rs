//! What a sync call tells its caller: a report of what it did and what is left,
//! and, while it runs, progress events for a listener (a notification, a bar).

use crate::error::{Error, ErrorKind};
use serde::Serialize;

/// What one `sync_once` did, and what is left for the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Ops the bureau answered in this call (applied, duplicate, conflict or rejected).
    pub ops_pushed: u32,
    /// Change-feed entries applied (tasks, reviews, reference data, receipts).
    pub records_pulled: u32,
    /// Photo bytes the bureau confirmed in this call.
    pub bytes_uploaded: u64,
    /// Receipts checked and kept, from push answers and pull.
    pub receipts: u32,
    pub work_left: WorkLeft,
    /// When to call again (UTC ms). `None`: nothing is waiting (sync again on the
    /// usual schedule, for news from the bureau), or the device must enroll again.
    pub next_attempt_ms: Option<i64>,
    /// Why the call stopped early, if it did.
    pub last_error: Option<SyncError>,
    /// The caller interrupted the call.
    pub cancelled: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkLeft {
    /// Outbox ops the bureau has not answered yet.
    pub ops: u32,
    /// Photos whose original the bureau does not hold yet.
    pub uploads: u32,
}

impl WorkLeft {
    pub fn any(&self) -> bool {
        self.ops + self.uploads > 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncError {
    /// The core's stable error code (`offline`, `timeout`, `server_error`,
    /// `device_revoked`, `token_expired`, `sync_in_progress`, …).
    pub code: String,
    pub class: ErrorClass,
    pub message: String,
}

/// What the caller can do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// No usable link: retry when the network returns.
    Offline,
    /// The bureau failed or answered what the device could not use: retry later.
    Server,
    /// The bureau refused the device's token: enroll again; retrying cannot help.
    Auth,
    /// On the device: its database, its files, another sync already running.
    Local,
    /// The bureau's custody log contradicts what this device saw of it
    /// (`log_inconsistent`): evidence of a rewritten log. Retrying will not
    /// clear it; the bureau's administrators must be told.
    Custody,
}

impl SyncError {
    pub fn from_error(error: &Error) -> Self {
        let class = match error {
            Error::Offline { .. } | Error::Timeout | Error::Cancelled => ErrorClass::Offline,
            // A pin mismatch: the bureau's key changed, or someone poses as it;
            // a new enrollment (with a code carrying the new pin) is the way on.
            Error::AuthRefused { .. } | Error::NotEnrolled | Error::TlsPinMismatch => {
                ErrorClass::Auth
            }
            Error::LogInconsistent { .. } => ErrorClass::Custody,
            _ if error.kind() == ErrorKind::Network => ErrorClass::Server,
            _ => ErrorClass::Local,
        };
        SyncError {
            code: error.code().to_owned(),
            class,
            message: error.to_string(),
        }
    }
}

/// Progress of a sync call while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A push was answered; `ops` ops in it.
    Pushed { ops: u32 },
    /// A pull page was applied; `changes` entries in it.
    Pulled { changes: u32 },
    /// The bureau confirmed `sent` of `size` bytes of a photo file.
    Uploading {
        photo_id: String,
        /// `original` or `preview`.
        role: String,
        sent: u64,
        size: u64,
    },
}

/// Receives progress events, on the thread running the sync. Must return quickly.
pub trait ProgressListener: Send + Sync {
    fn on_progress(&self, progress: Progress);
}

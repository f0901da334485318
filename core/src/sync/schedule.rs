//! When the platform runs the next sync, read from the last report, so that
//! Android's JobScheduler and iOS's BGTaskScheduler schedule alike and their
//! glue only maps the plan onto its scheduler; and how much of a platform's
//! background window one `sync_once` may take.

use super::report::{ErrorClass, SyncReport};

/// How often to ask the bureau for news (tasks, reviews) when nothing waits:
/// Android's shortest periodic job, and a fair share of a 2G data plan.
pub const POLL_INTERVAL_MS: u64 = 15 * 60 * 1000;

/// The smallest share of a background window kept back from the sync: to save
/// the report, schedule the next run and end before the OS kills the work.
const MIN_MARGIN_MS: u64 = 2_000;

/// What to do after a sync call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextSync {
    /// Work is left and the call ended at its deadline or was interrupted: go on
    /// as soon as the platform lets the app.
    Continue,
    /// The call failed; retry after the backoff (an offline failure also waits
    /// for a network, which the plan always asks for).
    Retry,
    /// Nothing waits: ask the bureau for news now and then.
    Poll,
    /// The bureau refused this device's token, or its TLS key is not the pinned
    /// one: retrying cannot help. Schedule nothing; tell the officer to enroll
    /// again (the work is kept; enrolling schedules a run).
    Reenroll,
    /// The bureau's custody log contradicts what this device saw: schedule
    /// nothing; tell the officer to report it to the bureau.
    CustodyAlarm,
}

/// The next run, for the platform's scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPlan {
    pub next: NextSync,
    /// Run no sooner than this many ms from now (0: at once); `None`: schedule
    /// nothing.
    pub delay_ms: Option<u64>,
    /// Sync needs a network: a scheduler that can wait for one should.
    pub needs_network: bool,
    /// Photos are still to upload: long, metered work (iOS: a processing task,
    /// not an app refresh; Android: worth a job even on a slow link).
    pub uploads_waiting: bool,
}

/// The plan after `report`, at `now_ms` (UTC ms).
pub fn plan_next_sync(report: &SyncReport, now_ms: i64) -> SyncPlan {
    let (next, delay_ms) = match &report.last_error {
        Some(error) => match error.class {
            ErrorClass::Auth => (NextSync::Reenroll, None),
            ErrorClass::Custody => (NextSync::CustodyAlarm, None),
            ErrorClass::Offline | ErrorClass::Server | ErrorClass::Local => (
                NextSync::Retry,
                Some(until(report.next_attempt_ms, now_ms).unwrap_or(0)),
            ),
        },
        None if report.work_left.any() => (NextSync::Continue, Some(0)),
        None => (NextSync::Poll, Some(POLL_INTERVAL_MS)),
    };
    SyncPlan {
        next,
        delay_ms,
        needs_network: true,
        uploads_waiting: report.work_left.uploads > 0,
    }
}

/// How long one `sync_once` may run inside a background window of `window_ms`
/// (Android's job budget, iOS's task time): the window less a tenth, and at
/// least 2 s kept back.
pub fn sync_timeout_ms(window_ms: u64) -> u64 {
    window_ms.saturating_sub((window_ms / 10).max(MIN_MARGIN_MS))
}

fn until(at_ms: Option<i64>, now_ms: i64) -> Option<u64> {
    at_ms.map(|at| u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::report::{SyncError, WorkLeft};

    const NOW: i64 = 1_790_000_000_000;

    fn failed(class: ErrorClass, code: &str, next_attempt_ms: Option<i64>) -> SyncReport {
        SyncReport {
            work_left: WorkLeft { ops: 2, uploads: 1 },
            next_attempt_ms,
            last_error: Some(SyncError {
                code: code.into(),
                class,
                message: String::new(),
            }),
            ..SyncReport::default()
        }
    }

    #[test]
    fn nothing_left_polls_for_news() {
        let plan = plan_next_sync(&SyncReport::default(), NOW);
        assert_eq!(plan.next, NextSync::Poll);
        assert_eq!(plan.delay_ms, Some(POLL_INTERVAL_MS));
        assert!(plan.needs_network && !plan.uploads_waiting);
    }

    #[test]
    fn work_left_without_a_failure_goes_on_at_once() {
        for cancelled in [false, true] {
            let report = SyncReport {
                work_left: WorkLeft { ops: 0, uploads: 3 },
                next_attempt_ms: Some(NOW + 5_000),
                cancelled,
                ..SyncReport::default()
            };
            let plan = plan_next_sync(&report, NOW);
            assert_eq!((plan.next, plan.delay_ms), (NextSync::Continue, Some(0)));
            assert!(plan.uploads_waiting);
        }
    }

    #[test]
    fn failures_retry_after_the_backoff() {
        for class in [ErrorClass::Offline, ErrorClass::Server, ErrorClass::Local] {
            let plan = plan_next_sync(&failed(class, "offline", Some(NOW + 40_000)), NOW);
            assert_eq!((plan.next, plan.delay_ms), (NextSync::Retry, Some(40_000)));
            assert!(plan.needs_network);
        }
        // A retry time already past, or none, is at once.
        let late = plan_next_sync(
            &failed(ErrorClass::Server, "server_error", Some(NOW - 1)),
            NOW,
        );
        assert_eq!(late.delay_ms, Some(0));
        let unset = plan_next_sync(&failed(ErrorClass::Server, "server_error", None), NOW);
        assert_eq!(unset.delay_ms, Some(0));
    }

    #[test]
    fn refusals_that_retrying_cannot_cure_schedule_nothing() {
        let auth = plan_next_sync(&failed(ErrorClass::Auth, "device_revoked", None), NOW);
        assert_eq!((auth.next, auth.delay_ms), (NextSync::Reenroll, None));
        let custody = plan_next_sync(&failed(ErrorClass::Custody, "log_inconsistent", None), NOW);
        assert_eq!(
            (custody.next, custody.delay_ms),
            (NextSync::CustodyAlarm, None)
        );
    }

    #[test]
    fn a_window_keeps_a_margin() {
        assert_eq!(sync_timeout_ms(600_000), 540_000, "Android's 10 min job");
        assert_eq!(sync_timeout_ms(30_000), 27_000, "iOS app refresh");
        assert_eq!(sync_timeout_ms(10_000), 8_000, "at least 2 s kept back");
        assert_eq!(sync_timeout_ms(1_500), 0, "too short to start");
    }
}

//! Times are UTC milliseconds since the Unix epoch, as integers: the one clock
//! and time check of the device and the bureau alike.

use crate::error::{Error, Result};
use std::time::{SystemTime, UNIX_EPOCH};

/// 2000-01-01T00:00:00Z: no inspection of this app happened before it, so an
/// earlier time is a broken clock or a unit mix-up (seconds for milliseconds).
pub const EARLIEST_MS: i64 = 946_684_800_000;
/// 2100-01-01T00:00:00Z: a later time is a unit mix-up (microseconds), not a clock
/// that is merely wrong. Wrong-but-plausible clocks are accepted: they must never
/// stop an officer from recording.
pub const LATEST_MS: i64 = 4_102_444_800_000;

pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

pub fn check_time(ms: i64, field: &'static str) -> Result<i64> {
    if (EARLIEST_MS..LATEST_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(Error::InvalidTime { field })
    }
}

//! When to try again after a failed sync: exponential backoff with jitter, and
//! never sooner than the bureau's `Retry-After`.
//!
//! Why our own: the core never sleeps or spawns (the platform schedules the
//! next run from `next_attempt_ms`), so what it needs is one pure function of
//! the failure count and `Retry-After`; the `backoff` crate is unmaintained and
//! `backon` retries by sleeping in the caller.

use ring::rand::{SecureRandom, SystemRandom};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The delay after the first failure; it doubles with each failure after it.
const BASE: Duration = Duration::from_secs(5);
/// However long the outage, a device tries at least this often.
const CAP: Duration = Duration::from_secs(15 * 60);
/// A `Retry-After` further out than this is taken as a mistake, not a plan.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The wait after `failures` consecutive failures (1 or more). Half of it is
/// fixed, half random (`random` picks where): thousands of devices that lost the
/// network together must not all come back in the same second.
pub fn delay(failures: u32, random: u64) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let full = BASE.saturating_mul(1 << doublings).min(CAP);
    let half = full / 2;
    let jitter_ms = random % (half.as_millis() as u64 + 1);
    half + Duration::from_millis(jitter_ms)
}

/// When to try next, UTC ms: after the backoff delay, and not before the bureau's
/// `Retry-After` (milliseconds from now) if it sent one.
pub fn next_attempt_ms(now_ms: i64, failures: u32, retry_after_ms: Option<u64>) -> i64 {
    let backoff = delay(failures, random_u64()).as_millis() as u64;
    let wait = backoff.max(retry_after_ms.unwrap_or(0));
    now_ms.saturating_add(wait as i64)
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date in
/// any of the three formats a recipient must accept. Milliseconds from `now`;
/// a date in the past is 0. `None` for anything else.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(value.parse().ok()?)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER).as_millis() as u64)
}

/// `now_ms` as a `SystemTime`, for [`parse_retry_after`].
pub fn system_time(now_ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(now_ms).unwrap_or(0))
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // Without the OS generator the jitter is lost, not the retry.
    let _ = SystemRandom::new().fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_half_jitter_up_to_the_cap() {
        assert_eq!(delay(1, 0), Duration::from_millis(2_500));
        assert_eq!(
            delay(1, u64::MAX - 1),
            Duration::from_millis(2_500 + (u64::MAX - 1) % 2_501)
        );
        assert_eq!(delay(1, 2_500), Duration::from_secs(5));
        assert_eq!(delay(2, 0), Duration::from_secs(5));
        assert_eq!(delay(3, 0), Duration::from_secs(10));
        for failures in [9, 10, 30, u32::MAX] {
            assert_eq!(delay(failures, 0), CAP / 2, "{failures}");
            assert!(delay(failures, u64::MAX) <= CAP);
        }
        for random in [1, 77, 1_234_567] {
            let d = delay(4, random);
            assert!(d >= Duration::from_secs(20) && d <= Duration::from_secs(40));
        }
    }

    #[test]
    fn retry_after_takes_seconds_and_all_three_http_date_formats() {
        let now = system_time(784_111_777_000); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("120", now), Some(120_000));
        assert_eq!(parse_retry_after(" 0 ", now), Some(0));
        for date in [
            "Sun, 06 Nov 1994 08:50:37 GMT",  // IMF-fixdate
            "Sunday, 06-Nov-94 08:50:37 GMT", // RFC 850
            "Sun Nov  6 08:50:37 1994",       // asctime
        ] {
            assert_eq!(parse_retry_after(date, now), Some(60_000), "{date}");
        }
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(0),
            "past"
        );
        assert_eq!(
            parse_retry_after("99999999", now),
            Some(MAX_RETRY_AFTER.as_millis() as u64)
        );
        for bad in ["", "-5", "1.5", "soon", "Sun, 06 Nov 1994"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_wins_over_a_shorter_backoff() {
        let now = 1_790_000_000_000;
        assert!(next_attempt_ms(now, 1, None) <= now + 5_000);
        assert_eq!(next_attempt_ms(now, 1, Some(600_000)), now + 600_000);
        assert!(next_attempt_ms(now, 12, Some(1_000)) >= now + CAP.as_millis() as i64 / 2);
    }
}

//! A position as a phone's location API delivers it (Android `Location`, iOS
//! `CLLocation`), read into a [`Fix`]. Both platforms need the same reading, so it
//! lives here and the glue only copies fields across:
//!
//! - **Datum.** Android's `LocationManager` and iOS's CoreLocation report WGS-84,
//!   in China too; GCJ-02 only appears in map SDKs (AMap, Baidu) and on map
//!   display. So a platform location is WGS-84 by definition, and a glue fed by
//!   such an SDK must convert with `geo::datum` rather than come through here.
//! - **Unknown values.** iOS marks an unknown speed, course or accuracy with a
//!   negative number, Android with `hasSpeed()` and friends (the glue passes
//!   `None`). A negative horizontal accuracy means the coordinate itself is
//!   invalid (Apple's definition), so the location is refused.
//! - **Freshness.** Both platforms hand out cached positions (Android's last known
//!   location, iOS's first delivery after start). A photo must not carry where
//!   the phone was minutes ago, so a location older than [`MAX_LOCATION_AGE_MS`]
//!   on the monotonic clock is refused with `stale_location`: the evidence then
//!   says "no fix" rather than a wrong one.

use super::datum::Datum;
use super::fix::Fix;
use crate::error::{Error, Result};

/// Oldest a location may be, by the monotonic clock, to be taken as where the
/// phone is: a walking officer moves ~40 m in this time.
pub const MAX_LOCATION_AGE_MS: u64 = 30_000;

/// A location's fields as the platform API reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformLocation {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy radius, metres; `None` (or NaN) when the API has none.
    pub accuracy_m: Option<f64>,
    pub altitude_m: Option<f64>,
    /// Negative (iOS's "invalid") or NaN counts as unknown.
    pub speed_mps: Option<f64>,
    /// Course over ground, degrees; negative or NaN counts as unknown.
    pub bearing_deg: Option<f64>,
    /// The fix's UTC time, ms (Android `getTime()`, iOS `timestamp`).
    pub time_ms: i64,
    /// Android's provider (`gps`, `network`, `fused`); iOS: `core_location`.
    pub provider: String,
    /// Android `isMock()`/`isFromMockProvider()`, iOS
    /// `sourceInformation.isSimulatedBySoftware`.
    pub mock: bool,
    /// When the fix was made on the monotonic clock, ms since boot (Android
    /// `elapsedRealtimeNanos / 1e6`; iOS: `systemUptime` less the fix's age).
    pub elapsed_realtime_ms: Option<u64>,
}

/// Reads a platform location into a fix. `now_elapsed_ms` is the monotonic
/// clock now (ms since boot): with the location's own, it tells a cached
/// position from a fresh one. Refuses a location whose coordinate the platform
/// marked invalid (`invalid_coordinate`), one that is stale (`stale_location`),
/// or one made after now by the monotonic clock (`invalid_time`); the fix's
/// own range checks run when it is used.
pub fn fix_from_location(location: PlatformLocation, now_elapsed_ms: Option<u64>) -> Result<Fix> {
    if location.accuracy_m.is_some_and(|a| a < 0.0) {
        return Err(Error::InvalidCoordinate {
            field: "accuracy_m",
        });
    }
    if let (Some(made), Some(now)) = (location.elapsed_realtime_ms, now_elapsed_ms) {
        let age_ms = now.checked_sub(made).ok_or(Error::InvalidTime {
            field: "elapsed_realtime_ms",
        })?;
        if age_ms > MAX_LOCATION_AGE_MS {
            return Err(Error::StaleLocation { age_ms });
        }
    }
    Ok(Fix {
        lat: location.lat,
        lon: location.lon,
        datum: Datum::Wgs84,
        accuracy_m: known(location.accuracy_m),
        altitude_m: location.altitude_m.filter(|a| a.is_finite()),
        speed_mps: known(location.speed_mps),
        bearing_deg: known(location.bearing_deg),
        time_ms: location.time_ms,
        provider: location.provider,
        mock: location.mock,
    })
}

/// A value the platform reports, unless it is its "unknown" mark.
fn known(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite() && *v >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn android_gps() -> PlatformLocation {
        PlatformLocation {
            lat: 28.2282,
            lon: 112.9388,
            accuracy_m: Some(4.5),
            altitude_m: Some(52.0),
            speed_mps: Some(1.2),
            bearing_deg: Some(90.0),
            time_ms: 1_790_000_000_000,
            provider: "gps".into(),
            mock: false,
            elapsed_realtime_ms: Some(3_600_000),
        }
    }

    #[test]
    fn a_fresh_location_becomes_a_wgs84_fix_with_every_field() {
        let fix = fix_from_location(android_gps(), Some(3_601_000)).unwrap();
        assert_eq!(fix.datum, Datum::Wgs84);
        assert_eq!((fix.lat, fix.lon), (28.2282, 112.9388));
        assert_eq!(fix.accuracy_m, Some(4.5));
        assert_eq!(fix.altitude_m, Some(52.0));
        assert_eq!(fix.speed_mps, Some(1.2));
        assert_eq!(fix.bearing_deg, Some(90.0));
        assert_eq!(fix.time_ms, 1_790_000_000_000);
        assert_eq!(fix.provider, "gps");
        assert!(!fix.mock);
        fix.check().unwrap();
    }

    #[test]
    fn ios_unknown_marks_become_absent_values() {
        let location = PlatformLocation {
            speed_mps: Some(-1.0),
            bearing_deg: Some(-1.0),
            altitude_m: Some(f64::NAN),
            provider: "core_location".into(),
            mock: true,
            ..android_gps()
        };
        let fix = fix_from_location(location, None).unwrap();
        assert_eq!(
            (fix.speed_mps, fix.bearing_deg, fix.altitude_m),
            (None, None, None)
        );
        assert!(fix.mock, "the mock flag is kept, never dropped");
    }

    #[test]
    fn a_negative_accuracy_means_no_position() {
        let location = PlatformLocation {
            accuracy_m: Some(-1.0),
            ..android_gps()
        };
        let err = fix_from_location(location, None).unwrap_err();
        assert_eq!(err.code(), "invalid_coordinate");
    }

    #[test]
    fn a_cached_location_is_refused_as_stale() {
        let now = 3_600_000 + MAX_LOCATION_AGE_MS;
        assert!(
            fix_from_location(android_gps(), Some(now)).is_ok(),
            "at the limit"
        );
        let err = fix_from_location(android_gps(), Some(now + 1)).unwrap_err();
        assert_eq!(err.code(), "stale_location");
        assert!(err
            .to_string()
            .contains(&(MAX_LOCATION_AGE_MS + 1).to_string()));
        // Without either monotonic time, age cannot be judged: the fix is taken.
        let untimed = PlatformLocation {
            elapsed_realtime_ms: None,
            ..android_gps()
        };
        assert!(fix_from_location(untimed, Some(u64::MAX)).is_ok());
    }

    #[test]
    fn a_location_from_the_monotonic_future_is_refused() {
        let err = fix_from_location(android_gps(), Some(3_599_999)).unwrap_err();
        assert_eq!(err.code(), "invalid_time");
    }
}

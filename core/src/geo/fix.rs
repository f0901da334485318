//! A location fix as the platform delivers it, and its validation.

use super::datum::{Datum, LatLon};
use super::point::GeoPoint;
use crate::error::{Error, Result};
use crate::time::{check_time, now_ms};
use serde::{Deserialize, Serialize};

/// A GNSS clock more than this far ahead of the device clock is broken; a device
/// clock can be wrong too, so the allowance is generous.
const MAX_FUTURE_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    pub datum: Datum,
    /// Horizontal accuracy (68 % radius), metres; unknown for some sources (GPX).
    pub accuracy_m: Option<f64>,
    pub altitude_m: Option<f64>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
    /// GNSS time of the fix, UTC ms.
    pub time_ms: i64,
    /// Where the fix came from: `gps`, `network`, `fused`, `gpx`, ….
    pub provider: String,
    /// The platform flagged it as coming from a mock-location app.
    pub mock: bool,
}

/// A validated fix in WGS-84.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedFix {
    pub point: LatLon,
    pub fix: Fix,
}

impl Fix {
    pub fn check(self) -> Result<CheckedFix> {
        let point = GeoPoint {
            lat: self.lat,
            lon: self.lon,
            datum: self.datum,
        }
        .to_wgs84()?;
        check_optional(self.accuracy_m, 0.0, 100_000.0, "accuracy_m")?;
        check_optional(self.altitude_m, -1_000.0, 10_000.0, "altitude_m")?;
        check_optional(self.speed_mps, 0.0, 1_000.0, "speed_mps")?;
        check_optional(self.bearing_deg, 0.0, 360.0, "bearing_deg")?;
        check_time(self.time_ms, "time_ms")?;
        if self.time_ms > now_ms() + MAX_FUTURE_MS {
            return Err(Error::InvalidTime { field: "time_ms" });
        }
        let provider_ok = !self.provider.is_empty()
            && self.provider.len() <= 32
            && self.provider.bytes().all(|b| b.is_ascii_graphic());
        if !provider_ok {
            return Err(Error::InvalidField {
                field: "provider",
                reason: "must be a short printable ASCII token",
            });
        }
        Ok(CheckedFix { point, fix: self })
    }
}

fn check_optional(value: Option<f64>, min: f64, max: f64, field: &'static str) -> Result<()> {
    match value {
        Some(v) if !(v.is_finite() && (min..=max).contains(&v)) => Err(Error::InvalidField {
            field,
            reason: "not a finite number in the plausible range",
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(time_ms: i64) -> Fix {
        Fix {
            lat: 28.2,
            lon: 113.1,
            datum: Datum::Wgs84,
            accuracy_m: Some(5.0),
            altitude_m: Some(40.0),
            speed_mps: Some(1.2),
            bearing_deg: Some(90.0),
            time_ms,
            provider: "gps".into(),
            mock: false,
        }
    }

    #[test]
    fn invalid_fixes_have_clear_codes() {
        let now = now_ms();
        let code = |f: Fix| f.check().unwrap_err().code();
        assert_eq!(
            code(Fix {
                lat: f64::NAN,
                ..fix(now)
            }),
            "invalid_coordinate"
        );
        assert_eq!(
            code(Fix {
                lon: 181.0,
                ..fix(now)
            }),
            "invalid_coordinate"
        );
        assert_eq!(
            code(Fix {
                accuracy_m: Some(-1.0),
                ..fix(now)
            }),
            "invalid_field"
        );
        assert_eq!(
            code(Fix {
                accuracy_m: Some(f64::INFINITY),
                ..fix(now)
            }),
            "invalid_field"
        );
        assert_eq!(
            code(Fix {
                bearing_deg: Some(400.0),
                ..fix(now)
            }),
            "invalid_field"
        );
        assert_eq!(code(fix(now + 2 * MAX_FUTURE_MS)), "invalid_time");
        assert_eq!(code(fix(-2_147_483_648_000)), "invalid_time"); // the 1901 GPX sentinel
        assert_eq!(
            code(Fix {
                provider: String::new(),
                ..fix(now)
            }),
            "invalid_field"
        );
        assert!(fix(now).check().is_ok());
        assert!(Fix {
            accuracy_m: None,
            ..fix(now)
        }
        .check()
        .is_ok());
    }
}

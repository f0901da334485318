//! Conversions between WGS-84 (GPS), GCJ-02 (the state-mandated
//! "Mars" obfuscation used by AMap, Tencent and Google China) and BD-09
//! (Baidu's further offset on top of GCJ-02).
//!
//! Field devices record WGS-84, while bureau base maps come in GCJ-02 or
//! BD-09, so every overlay and geofence check must agree on one datum.
//! The forward formulas are the published reverse-engineered ones (as in
//! eviltransform and coordtransform). No closed-form inverse exists, so
//! the inverses here are solved numerically; the usual one-step
//! approximation leaves metre-level errors that would accumulate each
//! time a point is converted back and forth.

use std::f64::consts::PI;

/// Geodetic datum a coordinate is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Datum {
    Wgs84,
    Gcj02,
    Bd09,
}

impl Datum {
    /// Stable lowercase identifier, used in storage and on the FFI boundary.
    pub fn code(self) -> &'static str {
        match self {
            Datum::Wgs84 => "wgs84",
            Datum::Gcj02 => "gcj02",
            Datum::Bd09 => "bd09",
        }
    }

    /// Lenient parse: bureau exports and map SDKs spell datums both with
    /// and without the hyphen, in any case.
    pub fn from_code(code: &str) -> Option<Datum> {
        match code.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" => Some(Datum::Wgs84),
            "gcj02" | "gcj-02" => Some(Datum::Gcj02),
            "bd09" | "bd-09" => Some(Datum::Bd09),
            _ => None,
        }
    }
}

/// A latitude/longitude pair in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// Converts a point between datums. Inputs are assumed finite and in range (validation is done by callers).
///
/// WGS-84 ↔ BD-09 goes through GCJ-02 because BD-09 is defined as an offset
/// of GCJ-02, not of WGS-84.
pub fn convert(point: LatLon, from: Datum, to: Datum) -> LatLon {
    // Same-datum requests must not pay for (or be perturbed by) a round trip.
    if from == to {
        return point;
    }
    let gcj = match from {
        Datum::Wgs84 => wgs84_to_gcj02(point),
        Datum::Gcj02 => point,
        Datum::Bd09 => bd09_to_gcj02(point),
    };
    match to {
        Datum::Wgs84 => gcj02_to_wgs84(gcj),
        Datum::Gcj02 => gcj,
        Datum::Bd09 => gcj02_to_bd09(gcj),
    }
}

/// Krasovsky 1940 semi-major axis: GCJ-02 is defined on this ellipsoid.
const KRASOVSKY_A: f64 = 6378245.0;
/// Krasovsky 1940 first eccentricity squared, spelled exactly as every
/// port publishes it so it can be compared digit for digit.
#[allow(clippy::excessive_precision)]
const KRASOVSKY_EE: f64 = 0.00669342162296594323;
/// Baidu's angular scale factor.
const X_PI: f64 = PI * 3000.0 / 180.0;

/// Stop once the forward image matches the target this closely. 1e-10°
/// is about 11 µm: far below anything a map or GNSS fix can show, yet
/// reached in a few steps, so round trips agree to well under 1e-7°.
const INVERSE_TOLERANCE_DEG: f64 = 1e-10;
/// The forward maps are near-identities (Jacobian within ~2 % of I), so
/// fixed-point iteration contracts fast and converges in ~3–5 steps; the
/// cap only guards against oscillation where the offset is discontinuous
/// (the out-of-China box edge) or against non-finite input.
const MAX_INVERSE_ITERATIONS: usize = 30;

/// The rough bounding box every public port uses. A precise national
/// border would disagree with the map providers near the edges, and
/// matching them matters more than geographic truth.
fn out_of_china(p: LatLon) -> bool {
    p.lon < 72.004 || p.lon > 137.8347 || p.lat < 0.8293 || p.lat > 55.8271
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

fn wgs84_to_gcj02(p: LatLon) -> LatLon {
    if out_of_china(p) {
        return p;
    }
    let dlat = transform_lat(p.lon - 105.0, p.lat - 35.0);
    let dlon = transform_lon(p.lon - 105.0, p.lat - 35.0);
    let rad_lat = p.lat / 180.0 * PI;
    let sin_lat = rad_lat.sin();
    let magic = 1.0 - KRASOVSKY_EE * sin_lat * sin_lat;
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    LatLon {
        lat: p.lat + dlat,
        lon: p.lon + dlon,
    }
}

/// Exact inverse of [`wgs84_to_gcj02`]: the one-step `gcj − delta(gcj)`
/// used by most ports is off by up to several metres, enough to move a
/// point across a geofence edge after a round trip.
///
/// Within ~0.011° (the largest offset) inside the bounding-box edges a
/// GCJ point can have no WGS preimage (the offset jumps to zero at the
/// edge), so the iteration cap returns a best effort there; those strips
/// lie outside China's territory.
fn gcj02_to_wgs84(gcj: LatLon) -> LatLon {
    if out_of_china(gcj) {
        return gcj;
    }
    invert(gcj, gcj, wgs84_to_gcj02)
}

fn gcj02_to_bd09(p: LatLon) -> LatLon {
    let (x, y) = (p.lon, p.lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * X_PI).cos();
    LatLon {
        lat: z * theta.sin() + 0.006,
        lon: z * theta.cos() + 0.0065,
    }
}

/// Baidu's own inverse formula only approximates the forward map
/// (sub-metre error), so it serves as the starting point and iteration
/// makes the round trip exact.
fn bd09_to_gcj02(bd: LatLon) -> LatLon {
    let x = bd.lon - 0.0065;
    let y = bd.lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    let start = LatLon {
        lat: z * theta.sin(),
        lon: z * theta.cos(),
    };
    invert(bd, start, gcj02_to_bd09)
}

/// Solves `forward(x) = target` by fixed-point iteration
/// `x ← x − (forward(x) − target)`, which converges because `forward` is
/// the identity plus a slowly varying offset.
fn invert(target: LatLon, start: LatLon, forward: fn(LatLon) -> LatLon) -> LatLon {
    let mut x = start;
    for _ in 0..MAX_INVERSE_ITERATIONS {
        let image = forward(x);
        let dlat = image.lat - target.lat;
        let dlon = image.lon - target.lon;
        x.lat -= dlat;
        x.lon -= dlon;
        if dlat.abs().max(dlon.abs()) < INVERSE_TOLERANCE_DEG {
            break;
        }
    }
    x
}

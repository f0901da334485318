//! Satellite fire points (NASA FIRMS active-fire detections, MODIS and VIIRS)
//! and the fire events the bureau clusters them into. An event travels in the
//! body of the task that sends a township to verify it, so the phone can show
//! the detections and navigate there (WGS-84 here; `convert_point` gives
//! GCJ-02 for a Chinese base map).

use serde::{Deserialize, Serialize};

/// Which FIRMS product a detection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FireProduct {
    /// MODIS Collection 6.1 (Terra, Aqua): ~1 km pixels, confidence 0–100.
    Modis,
    /// VIIRS 375 m (S-NPP, NOAA-20, NOAA-21): confidence low/nominal/high.
    Viirs,
}

impl FireProduct {
    pub fn code(self) -> &'static str {
        match self {
            FireProduct::Modis => "modis",
            FireProduct::Viirs => "viirs",
        }
    }

    pub fn from_code(code: &str) -> Option<FireProduct> {
        match code {
            "modis" => Some(FireProduct::Modis),
            "viirs" => Some(FireProduct::Viirs),
            _ => None,
        }
    }

    /// The nominal size of a pixel at nadir, in metres.
    pub fn pixel_m(self) -> f64 {
        match self {
            FireProduct::Modis => 1000.0,
            FireProduct::Viirs => 375.0,
        }
    }
}

/// One detection as a task carries it (WGS-84).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FireDetection {
    pub product: FireProduct,
    /// As FIRMS writes it: `T`/`A` (Terra/Aqua), `N` (S-NPP), `N20`/`1`, `N21`…
    pub satellite: String,
    /// Acquisition time, UTC ms.
    pub time_ms: i64,
    pub lat: f64,
    pub lon: f64,
    /// As FIRMS writes it: 0–100 (MODIS) or `l`/`n`/`h` (VIIRS).
    pub confidence: String,
    /// Fire radiative power, MW, when given.
    #[serde(default)]
    pub frp_mw: Option<f64>,
    /// `D` or `N`.
    pub daynight: String,
}

/// Detections close in space and time, across satellites and passes: one fire
/// on the ground, one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FireEvent {
    pub id: String,
    /// Earliest and latest acquisition time of its detections, UTC ms.
    pub first_detected_ms: i64,
    pub last_detected_ms: i64,
    /// The mean position of its detections, WGS-84.
    pub lat: f64,
    pub lon: f64,
    pub detections: Vec<FireDetection>,
    /// The key zone (ban zone around a town, expressway, railway…) it lies
    /// in, by name, when it lies in one.
    #[serde(default)]
    pub key_zone: Option<String>,
}

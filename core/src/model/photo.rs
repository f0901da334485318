//! Photos as evidence: what was captured, and what the capture found.

use super::inspection::SiteJurisdiction;
use serde::{Deserialize, Serialize};

/// How the photo reached the app: the camera (shutter in the app) or the gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    Camera,
    Import,
}

impl CaptureSource {
    pub fn code(self) -> &'static str {
        match self {
            CaptureSource::Camera => "camera",
            CaptureSource::Import => "import",
        }
    }
}

/// Who and when, as the platform knows it at the shutter.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureContext {
    pub source: CaptureSource,
    pub inspection_id: Option<String>,
    pub task_id: Option<String>,
    pub officer_id: Option<String>,
    /// Milliseconds since boot (Android `elapsedRealtime`, iOS `systemUptime`),
    /// with the boot's id: lets a reviewer order events even if the wall clock lies.
    pub monotonic_ms: Option<u64>,
    pub boot_id: Option<String>,
    pub app_version: String,
}

/// Whether a derivative (thumbnail, preview) exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Derivative {
    Pending,
    Ok,
    Unavailable,
}

impl Derivative {
    pub fn code(self) -> &'static str {
        match self {
            Derivative::Pending => "pending",
            Derivative::Ok => "ok",
            Derivative::Unavailable => "unavailable",
        }
    }

    pub fn from_code(code: &str) -> Option<Derivative> {
        [Derivative::Pending, Derivative::Ok, Derivative::Unavailable]
            .into_iter()
            .find(|d| d.code() == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Photo {
    pub id: String,
    pub inspection_id: Option<String>,
    /// The evidence record that vouches for these exact bytes.
    pub record_seq: u64,
    pub source: CaptureSource,
    /// Lowercase hex SHA-256 of the original bytes.
    pub sha256: String,
    pub size: u64,
    pub mime: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub orientation: Option<u16>,
    /// EXIF DateTimeOriginal as the camera wrote it, and in UTC when it gave an offset.
    pub taken_at: Option<String>,
    pub taken_at_utc_ms: Option<i64>,
    /// Where the camera says it was (EXIF GPS, decimal degrees).
    pub exif_position: Option<Position>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// Where the platform's location fix put the capture (WGS-84), and its accuracy.
    pub fix_position: Option<Position>,
    pub fix_accuracy_m: Option<f64>,
    /// Where the fix lies relative to the inspection's jurisdiction.
    pub fix_jurisdiction: Option<SiteJurisdiction>,
    pub thumbnail: Derivative,
    pub preview: Derivative,
    /// What could not be read or made, in words without personal data.
    pub warnings: Vec<String>,
    pub captured_at_ms: i64,
}

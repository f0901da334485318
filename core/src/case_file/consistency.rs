//! What a reviewer must see about a record beside its signature: a mocked
//! position, a capture far from the site or outside the visit's time window,
//! an acknowledgement signed over content that has changed since. Flags, not
//! failures: the evidence is intact, its circumstances need a look. Shared by
//! the verifier (which reports them) and the bureau's printed on-site record
//! (which shows them beside each item), so both say the same.

use crate::evidence::record::{Event, EvidencePayload};
use crate::geo::datum::LatLon;
use crate::geo::geodesy::distance_m;
use crate::model::canonical::content_sha256;
use crate::model::inspection::Inspection;

/// A capture this far from the site is flagged.
pub const FAR_FROM_SITE_M: f64 = 500.0;
/// A capture this long before the start or after the end is flagged.
pub const TIME_WINDOW_SLACK_MS: i64 = 15 * 60 * 1000;

/// One inspection revision of an amendment line, with its canonical content hash.
pub struct Revision {
    pub inspection: Inspection,
    pub content_sha256: [u8; 32],
}

impl Revision {
    /// A revision from its JSON as received; `None` when it is no inspection.
    pub fn from_json(bytes: &[u8]) -> Option<Revision> {
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        Some(Revision {
            content_sha256: content_sha256(&value)?,
            inspection: serde_json::from_value(value).ok()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// Stable code: `mock_location`, `far_from_site`, `outside_time_window`,
    /// `acknowledgement_outdated`.
    pub code: &'static str,
    pub detail: String,
    /// For `acknowledgement_outdated`: the revision (1-based) it was signed
    /// over, when it is one of the line.
    pub signed_revision: Option<usize>,
}

/// The flags of one record against the amendment line `revisions` (oldest
/// first), the latest revision's site and the whole line's time window.
pub fn flags(payload: &EvidencePayload, revisions: &[Revision]) -> Vec<Flag> {
    let mut out = Vec::new();
    let flag = |code, detail: String| Flag {
        code,
        detail,
        signed_revision: None,
    };
    if let Event::Acknowledgement(ack) = &payload.event {
        let current = revisions
            .last()
            .is_some_and(|r| r.content_sha256 == ack.inspection_sha256);
        if !current {
            let signed = revisions
                .iter()
                .position(|r| r.content_sha256 == ack.inspection_sha256);
            let detail = match signed {
                Some(i) => format!(
                    "signed over revision {} of the amendment line; the inspection changed after it was signed",
                    i + 1
                ),
                None => "signed over content that matches no revision in the case file: the inspection changed after it was signed".into(),
            };
            out.push(Flag {
                signed_revision: signed.map(|i| i + 1),
                ..flag("acknowledgement_outdated", detail)
            });
        }
    }
    let Some(latest) = revisions.last().map(|r| &r.inspection) else {
        return out;
    };
    if let Some(fix) = &payload.fix {
        if fix.mock == Some(true) {
            out.push(flag(
                "mock_location",
                "the phone flagged the position as mocked".into(),
            ));
        }
        let distance = distance_from_site(fix.lat_e7, fix.lon_e7, latest);
        if distance > FAR_FROM_SITE_M {
            out.push(flag(
                "far_from_site",
                format!("recorded {distance:.0} m from the inspection site"),
            ));
        }
    }
    if payload.event.media().is_some() {
        let start = revisions
            .iter()
            .map(|r| r.inspection.started_at_ms)
            .min()
            .unwrap_or(latest.started_at_ms);
        let end = revisions
            .iter()
            .filter_map(|r| r.inspection.ended_at_ms)
            .max();
        let before = payload.wall_ms < start - TIME_WINDOW_SLACK_MS;
        let after = end.is_some_and(|end| payload.wall_ms > end + TIME_WINDOW_SLACK_MS);
        if before || after {
            out.push(flag(
                "outside_time_window",
                "captured outside the inspection's time window (device clock)".into(),
            ));
        }
    }
    out
}

/// Metres from a recorded fix (WGS-84 × 10^7) to the inspection's site.
pub fn distance_from_site(lat_e7: i32, lon_e7: i32, inspection: &Inspection) -> f64 {
    let at = LatLon {
        lat: f64::from(lat_e7) / 1e7,
        lon: f64::from(lon_e7) / 1e7,
    };
    let site = LatLon {
        lat: inspection.site.lat,
        lon: inspection.site.lon,
    };
    distance_m(at, site)
}

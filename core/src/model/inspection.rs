//! The inspection record: one visit to one site for one enforcement matter.

use super::checklist::Answer;
use super::division::DivisionCode;
use crate::error::{Error, Result};
use crate::geo::datum::{Datum, LatLon};
use crate::geo::point::GeoPoint;
use crate::time::check_time;
use serde::{Deserialize, Serialize};

/// Where an inspection is in its life. Only drafts change on the device; the
/// bureau moves submitted inspections on (accepted / returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    Accepted,
    Returned,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Accepted => "accepted",
            Status::Returned => "returned",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        [
            Status::Draft,
            Status::Submitted,
            Status::Accepted,
            Status::Returned,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// The person or organisation held responsible. Personal data: its `Debug` output
/// is redacted so it cannot leak into logs, and errors only ever name its fields.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsibleParty {
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
}

impl std::fmt::Debug for ResponsibleParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponsibleParty { <redacted> }")
    }
}

/// The fields of an inspection an officer edits while it is a draft. Updates
/// replace all of them at once: the form on screen holds the whole state.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftFields {
    /// Township (9 or 12 digits) or, for county-level work, county (6 digits)
    /// administrative division code.
    pub township_code: String,
    /// Derived from the township code when absent.
    pub county_code: Option<String>,
    pub site: GeoPoint,
    pub address: String,
    pub task_id: Option<String>,
    pub officer_id: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub findings: String,
    pub responsible_party: Option<ResponsibleParty>,
}

/// The site as stored: WGS-84, plus what the platform reported, so a reviewer can
/// see which datum the coordinates arrived in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub lat: f64,
    pub lon: f64,
    pub reported_lat: f64,
    pub reported_lon: f64,
    pub reported_datum: Datum,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub id: String,
    pub matter: String,
    pub checklist_id: String,
    pub checklist_version: u32,
    pub township_code: String,
    pub county_code: String,
    pub site: Site,
    pub task_id: Option<String>,
    pub officer_id: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub status: Status,
    pub answers: Vec<Answer>,
    pub findings: String,
    pub responsible_party: Option<ResponsibleParty>,
    /// The inspection this one amends; amendments form a chain from the original.
    pub amends_id: Option<String>,
    /// 0 for an original, n for its n-th amendment.
    pub revision: u32,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub submitted_at_ms: Option<i64>,
    /// Where the site lies relative to its jurisdiction (the township's polygon if
    /// loaded, else the county's); `None` when no boundary for it is loaded.
    pub site_jurisdiction: Option<SiteJurisdiction>,
}

/// The bureau's review of a submitted inspection. The inspection's status follows
/// it (`accepted` or `returned`); a returned one is corrected by an amendment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub inspection_id: String,
    /// `Accepted` or `Returned`.
    pub decision: Status,
    /// What to change (always given for a return).
    pub comment: Option<String>,
    /// When the reviewer decided, UTC ms (bureau clock).
    pub reviewed_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteJurisdiction {
    pub code: String,
    pub inside: bool,
    /// Distance from the site to the jurisdiction's boundary, metres.
    pub boundary_distance_m: f64,
}

/// What a list shows: no answers and no personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionSummary {
    pub id: String,
    pub matter: String,
    pub status: Status,
    pub township_code: String,
    pub county_code: String,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub task_id: Option<String>,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub amends_id: Option<String>,
    pub revision: u32,
}

/// List filters; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InspectionFilter {
    pub status: Option<Status>,
    pub matter: Option<String>,
    /// Start time range, inclusive lower bound, exclusive upper bound.
    pub started_from_ms: Option<i64>,
    pub started_before_ms: Option<i64>,
    pub task_id: Option<String>,
    /// Substring of the address or the findings.
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectionPage {
    pub items: Vec<InspectionSummary>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

pub const MAX_ADDRESS_CHARS: usize = 500;
pub const MAX_FINDINGS_CHARS: usize = 10_000;
const MAX_REF_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 100;
const MAX_PHONE_CHARS: usize = 32;
const MAX_ID_NUMBER_CHARS: usize = 32;

/// Draft fields after validation: coordinates in WGS-84, county code resolved.
#[derive(Debug, Clone)]
pub struct CheckedDraft {
    pub fields: DraftFields,
    pub county_code: String,
    pub wgs84: LatLon,
}

impl DraftFields {
    /// Validates everything an officer typed or the platform reported.
    pub fn check(self) -> Result<CheckedDraft> {
        division_code(&self.township_code, &[6, 9, 12], "township_code")?;
        let county_code = match &self.county_code {
            Some(county) => {
                if !division_code(county, &[6], "county_code")?.covers(&self.township_code) {
                    return Err(Error::InvalidField {
                        field: "county_code",
                        reason: "township is not in this county",
                    });
                }
                county.clone()
            }
            None => self.township_code[..6].to_owned(),
        };
        let wgs84 = self.site.to_wgs84()?;
        check_len(&self.address, MAX_ADDRESS_CHARS, "address")?;
        check_len(&self.findings, MAX_FINDINGS_CHARS, "findings")?;
        check_reference(&self.officer_id, "officer_id")?;
        if let Some(task) = &self.task_id {
            check_reference(task, "task_id")?;
        }
        check_time(self.started_at_ms, "started_at_ms")?;
        if let Some(end) = self.ended_at_ms {
            check_time(end, "ended_at_ms")?;
            if end < self.started_at_ms {
                return Err(Error::InvalidTimeRange);
            }
        }
        if let Some(party) = &self.responsible_party {
            if party.name.trim().is_empty() {
                return Err(Error::InvalidField {
                    field: "responsible_party.name",
                    reason: "must not be empty",
                });
            }
            check_len(&party.name, MAX_NAME_CHARS, "responsible_party.name")?;
            check_optional_len(&party.phone, MAX_PHONE_CHARS, "responsible_party.phone")?;
            check_optional_len(
                &party.id_number,
                MAX_ID_NUMBER_CHARS,
                "responsible_party.id_number",
            )?;
        }
        Ok(CheckedDraft {
            fields: self,
            county_code,
            wgs84,
        })
    }
}

/// A county is 6 digits, a township or village 9 or 12 ([`DivisionCode`]).
fn division_code(code: &str, levels: &[usize], field: &'static str) -> Result<DivisionCode> {
    DivisionCode::parse_level(code, levels).ok_or(Error::InvalidDivisionCode { field })
}

fn check_len(text: &str, max: usize, field: &str) -> Result<()> {
    if text.chars().count() > max {
        return Err(Error::TextTooLong {
            field: field.to_owned(),
            max,
        });
    }
    Ok(())
}

fn check_optional_len(text: &Option<String>, max: usize, field: &str) -> Result<()> {
    text.as_deref().map_or(Ok(()), |t| check_len(t, max, field))
}

/// Officer and task ids come from the bureau; they must be short printable tokens.
pub(crate) fn check_reference(id: &str, field: &'static str) -> Result<()> {
    let printable = id.chars().all(|c| c.is_ascii_graphic());
    if id.is_empty() || !printable {
        return Err(Error::InvalidField {
            field,
            reason: "must be a non-empty printable ASCII token",
        });
    }
    check_len(id, MAX_REF_CHARS, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> DraftFields {
        DraftFields {
            township_code: "430121101".into(),
            county_code: None,
            site: GeoPoint {
                lat: 28.2,
                lon: 113.1,
                datum: Datum::Wgs84,
            },
            address: "长沙县某村".into(),
            task_id: None,
            officer_id: "officer-7".into(),
            started_at_ms: 1_790_000_000_000,
            ended_at_ms: None,
            findings: String::new(),
            responsible_party: None,
        }
    }

    fn code(f: DraftFields) -> &'static str {
        f.check().unwrap_err().code()
    }

    #[test]
    fn valid_fields_derive_the_county() {
        assert_eq!(fields().check().unwrap().county_code, "430121");
    }

    #[test]
    fn bad_fields_each_have_a_code() {
        let mut f = fields();
        f.township_code = "43012".into();
        assert_eq!(code(f), "invalid_division_code");
        let mut f = fields();
        f.county_code = Some("430122".into());
        assert_eq!(code(f), "invalid_field");
        let mut f = fields();
        f.ended_at_ms = Some(f.started_at_ms - 1);
        assert_eq!(code(f), "invalid_time_range");
        let mut f = fields();
        f.started_at_ms = 1_700_000_000; // seconds, not milliseconds
        assert_eq!(code(f), "invalid_time");
        let mut f = fields();
        f.site.lat = f64::NAN;
        assert_eq!(code(f), "invalid_coordinate");
        let mut f = fields();
        f.address = "路".repeat(MAX_ADDRESS_CHARS + 1);
        assert_eq!(code(f), "text_too_long");
        let mut f = fields();
        f.officer_id = String::new();
        assert_eq!(code(f), "invalid_field");
    }

    #[test]
    fn personal_data_stays_out_of_debug_and_errors() {
        let mut f = fields();
        f.responsible_party = Some(ResponsibleParty {
            name: "张三".into(),
            phone: Some("13800138000".repeat(4)),
            id_number: None,
        });
        assert!(!format!("{f:?}").contains("13800138000"));
        let err = f.check().unwrap_err();
        assert_eq!(err.code(), "text_too_long");
        assert!(!err.to_string().contains("13800138000"));
        assert!(!format!("{err:?}").contains("张三"));
    }
}

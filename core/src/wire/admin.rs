//! The bureau's admin API (`/v1/admin/…`): the requests its clients send and the
//! answers it gives. The bureau serialises these, the CLI (and later the console)
//! reads them, so a field renamed on one side is a compile error on the other.
//!
//! Requests refuse unknown fields (a misspelt `jurisdiction` must not quietly
//! publish to everyone); answers tolerate them (an older CLI keeps working
//! against a newer bureau).

use super::enrollment::Role;
use crate::geo::datum::Datum;
use crate::model::checklist::ChecklistTemplate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::pull::ChecklistMatter;
pub use crate::model::task::{Task, TaskLocation};

/// One page of a list, newest first, and where the next page starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass it back as `cursor` for the next page. `None` on the last page.
    pub next_cursor: Option<String>,
}

// --- people and devices ---

/// `POST /v1/admin/officers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOfficer {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Officer {
    pub id: String,
    pub name: String,
    pub created_ms: i64,
}

/// `POST /v1/admin/enrollment-codes`: either an existing officer's id, or a name
/// (the officer is created if no one has that name yet).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollmentCode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub officer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub officer_name: Option<String>,
    pub jurisdiction: String,
    /// A [`Role`] code; the bureau refuses others with `invalid_role`.
    pub role: String,
}

/// A freshly issued code: shown once to the admin, stored only as a hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollmentCode {
    pub code: String,
    pub officer_id: String,
    pub jurisdiction: String,
    pub role: Role,
    pub expires_ms: i64,
    /// The bureau's TLS pin (`sha256/<base64>`), when it serves HTTPS: handed to
    /// the device with the code (printed, or in the QR payload) so that it talks
    /// only to this bureau's key from its first request on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_pin: Option<String>,
}

/// An enrolled device, as the bureau holds it (and authenticates requests by).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub officer_id: String,
    pub jurisdiction: String,
    pub role: Role,
    #[serde(
        serialize_with = "crate::hex::serialize",
        deserialize_with = "crate::hex::deserialize"
    )]
    pub key_id: Vec<u8>,
    pub enrolled_ms: i64,
    pub revoked_ms: Option<i64>,
    /// Its enrollment declared an external GNSS receiver: its mock-flagged
    /// fixes count as proof of a visit.
    #[serde(default)]
    pub external_gnss: bool,
    /// Size of the key attestation its enrollment carried (Android Keystore:
    /// the certificate chain), kept as sent; 0 when there was none.
    #[serde(default)]
    pub attestation_bytes: u64,
}

// --- staff: accounts, sessions, the audit log ---

/// What a person does at the bureau; each role is held over a jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Accepts or returns inspections.
    Reviewer,
    /// Approves or sends back accepted cases marked for penalty.
    LegalReviewer,
    /// Creates tasks and follows them.
    Dispatcher,
    /// Manages staff, devices, enrollment codes and reference data; reads the audit log.
    Admin,
}

impl StaffRole {
    pub const ALL: [StaffRole; 4] = [
        StaffRole::Reviewer,
        StaffRole::LegalReviewer,
        StaffRole::Dispatcher,
        StaffRole::Admin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            StaffRole::Reviewer => "reviewer",
            StaffRole::LegalReviewer => "legal_reviewer",
            StaffRole::Dispatcher => "dispatcher",
            StaffRole::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.code() == code)
    }
}

/// A role over a jurisdiction and everything within it (a county's code covers
/// its townships).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub role: StaffRole,
    pub jurisdiction: String,
}

/// `POST /v1/admin/users`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewStaffUser {
    /// 3 to 32 of a-z, 0-9, `.`, `_`, `-`; compared without case.
    pub username: String,
    /// Shown in the console; personal data, never logged.
    pub display_name: String,
    /// At least 10 characters; kept as an argon2id hash only.
    pub password: String,
    pub grants: Vec<Grant>,
}

/// A person with an account at the bureau.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub grants: Vec<Grant>,
    pub created_ms: i64,
    /// When an admin disabled the account; its sessions ended then.
    pub disabled_ms: Option<i64>,
}

/// `POST /v1/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// A signed-in session (the cookie itself is HttpOnly and never in a body).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: StaffUser,
    /// Sent back as the `X-CSRF-Token` header (or the console forms' `csrf`
    /// field) with every request that changes something.
    pub csrf_token: String,
    /// The session ends then at the latest, or earlier when left idle.
    pub expires_ms: i64,
}

/// One entry of the bureau's audit log: who did what, when. Entries are chained
/// by hash; `entry_sha256` covers this entry and the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    /// `admin_token` or `user:` and the user's id.
    pub actor: String,
    /// e.g. `inspection.review`, `device.revoke`.
    pub action: String,
    /// The id of what was acted on.
    pub subject: String,
    pub jurisdiction: Option<String>,
    /// What was decided, as a JSON object (ids and codes, never names).
    pub detail: Value,
    pub entry_sha256: String,
}

// --- inspections and their review ---

/// How far an inspection's evidence is verified, over all its evidence records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// No evidence record names this inspection (yet).
    None,
    /// Some record was flagged (bad signature, gap, fork, replay…) or its photo
    /// did not match its hash: a reviewer must look.
    Flagged,
    /// Every record verified so far, but some photo is not uploaded yet.
    PendingMedia,
    /// Every record accepted, every photo received and matching its record.
    Verified,
}

impl Verification {
    pub fn code(self) -> &'static str {
        match self {
            Verification::None => "none",
            Verification::Flagged => "flagged",
            Verification::PendingMedia => "pending_media",
            Verification::Verified => "verified",
        }
    }

    pub const ALL: [Verification; 4] = [
        Verification::None,
        Verification::Flagged,
        Verification::PendingMedia,
        Verification::Verified,
    ];

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.code() == code)
    }
}

/// Counts behind a [`Verification`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceSummary {
    pub records: i64,
    pub accepted: i64,
    pub flagged: i64,
    pub media_pending: i64,
    pub media_verified: i64,
    pub media_mismatch: i64,
}

impl EvidenceSummary {
    pub fn verification(&self) -> Verification {
        if self.records == 0 {
            Verification::None
        } else if self.flagged > 0 || self.media_mismatch > 0 {
            Verification::Flagged
        } else if self.media_pending > 0 {
            Verification::PendingMedia
        } else {
            Verification::Verified
        }
    }
}

/// The evidence part of a case: the overall status and its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub status: Verification,
    #[serde(flatten)]
    pub counts: EvidenceSummary,
}

impl From<EvidenceSummary> for Evidence {
    fn from(counts: EvidenceSummary) -> Self {
        Evidence {
            status: counts.verification(),
            counts,
        }
    }
}

/// A received inspection as a list shows it: review state, where and what, and
/// its evidence status. No answers and no personal data (the responsible party
/// appears only in [`InspectionCase::inspection`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InspectionSummary {
    pub id: String,
    pub device_id: String,
    pub officer_id: String,
    pub jurisdiction: String,
    /// `submitted`, `accepted` or `returned`.
    pub status: String,
    pub amends_id: Option<String>,
    pub received_ms: i64,
    pub reviewed_ms: Option<i64>,
    pub review_comment: Option<String>,
    /// Marked for penalty at acceptance: legal review follows.
    #[serde(default)]
    pub penalty: bool,
    /// `pending`, `approved` or `sent_back`; none for a case not marked for penalty.
    #[serde(default)]
    pub legal_status: Option<String>,
    #[serde(default)]
    pub legal_comment: Option<String>,
    pub matter: Option<String>,
    pub township_code: Option<String>,
    pub county_code: Option<String>,
    /// Site, WGS-84.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub task_id: Option<String>,
    pub started_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    pub revision: Option<u64>,
    pub evidence: Evidence,
}

/// One evidence record as a reviewer sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvidenceRecord {
    pub seq: Option<i64>,
    pub kind: Option<String>,
    /// `accepted` or `flagged`.
    pub status: String,
    /// Why it was flagged (a stable code), if it was.
    pub failure: Option<String>,
    /// `none` (no photo), `pending`, `verified` or `mismatch`.
    pub media_status: String,
    /// SHA-256 of the photo the record vouches for, hex.
    pub media_sha256: Option<String>,
    /// Its place in the custody log (accepted records only).
    pub leaf_index: Option<i64>,
    pub received_ms: i64,
    /// The device that sent (and signed) it.
    pub device_id: String,
    /// Why it is not attached to the inspection it names, when it is not:
    /// `not_case_officer` (its device is not one of the case's officers') or
    /// `officer_mismatch` (its context names another officer than its device's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// One inspection in full: the summary, the inspection as the device sent it,
/// the evidence attached to it, the records that name it but may not attach to
/// it, its officers, and the amendment that supersedes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InspectionCase {
    #[serde(flatten)]
    pub summary: InspectionSummary,
    pub amended_by: Option<String>,
    pub inspection: Value,
    /// Records of the case's officers' devices naming it: these make its
    /// evidence status.
    pub evidence_records: Vec<EvidenceRecord>,
    /// Records naming it from any other device, or naming another officer:
    /// kept and shown, never counted (see `refusal`).
    #[serde(default)]
    pub refused_records: Vec<EvidenceRecord>,
    /// The officers besides the submitting one that the bureau assigned.
    #[serde(default)]
    pub assigned_officers: Vec<String>,
    /// For an inspection answering a fire task: the proof of visit its
    /// officers' signed fixes make — as judged now while it waits for review
    /// (`visited: false` is the reviewer's flag), as recorded once its
    /// acceptance closed the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<super::fires::Visit>,
}

/// `POST /v1/admin/inspections/{id}/officers`: adds an officer to a case (a
/// joint inspection), whose devices may then attach evidence to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficerAssignment {
    pub officer_id: String,
}

/// `POST /v1/admin/inspections/{id}/review`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `accept` or `return`.
    pub decision: String,
    #[serde(default)]
    pub comment: Option<String>,
    /// With `accept`: the case is marked for penalty, and a legal reviewer must
    /// approve it before it is handed on.
    #[serde(default)]
    pub penalty: bool,
}

/// `POST /v1/admin/inspections/{id}/legal-review`: on an accepted case marked for
/// penalty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalReviewRequest {
    /// `approve` or `send_back` (to the officer, with the reasons in `comment`).
    pub decision: String,
    #[serde(default)]
    pub comment: Option<String>,
}

// --- tasks ---

/// `POST /v1/admin/tasks`: a task as the admin asks for it (answered by a [`Task`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub jurisdiction: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<NewLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_ms: Option<i64>,
}

/// A place in the datum its source gave it in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLocation {
    pub lat: f64,
    pub lon: f64,
    /// `wgs84`, `gcj02` or `bd09`.
    pub datum: String,
}

// --- reference data ---

/// What `POST /v1/admin/boundaries?datum=` did with one GeoJSON file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundaryLoad {
    /// The datum the file was in.
    pub datum: Datum,
    /// Jurisdictions stored new or changed, and announced.
    pub loaded: usize,
    /// Jurisdictions already stored exactly so.
    pub unchanged: usize,
    pub jurisdictions: Vec<BoundarySummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundarySummary {
    pub code: String,
    pub name: String,
}

/// A stored boundary, without its polygons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBoundary {
    pub code: String,
    pub name: String,
    pub loaded_ms: i64,
}

/// `POST /v1/admin/checklists`: a checklist template to publish, optionally as the
/// checklist of an enforcement matter, to everyone or to one jurisdiction.
/// Devices receive its template and matter as a [`super::pull::ChecklistBody`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistPublication {
    pub template: ChecklistTemplate,
    #[serde(default)]
    pub matter: Option<ChecklistMatter>,
    /// Only devices within (or above) this jurisdiction receive it; everyone when absent.
    #[serde(default)]
    pub jurisdiction: Option<String>,
}

/// A published checklist, without its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedChecklist {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub items: usize,
    pub matter: Option<ChecklistMatter>,
    pub jurisdiction: Option<String>,
    pub loaded_ms: i64,
    /// True when exactly this was already published (nothing changed).
    pub unchanged: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verification_codes_are_its_wire_names() {
        for status in [
            Verification::None,
            Verification::Flagged,
            Verification::PendingMedia,
            Verification::Verified,
        ] {
            assert_eq!(json!(status), json!(status.code()));
        }
    }

    #[test]
    fn a_device_reads_back_what_the_bureau_wrote_key_id_as_hex() {
        let device = Device {
            id: "0190f3a4-7b1c-7def-8000-0123456789ab".into(),
            officer_id: "0190f3a4-7b1c-7def-8000-0123456789ac".into(),
            jurisdiction: "430121".into(),
            role: Role::TownshipStaff,
            key_id: vec![0xab, 0x01],
            enrolled_ms: 1,
            revoked_ms: None,
            external_gnss: false,
            attestation_bytes: 1_234,
        };
        let text = serde_json::to_value(&device).unwrap();
        assert_eq!(text["key_id"], "ab01");
        assert_eq!(serde_json::from_value::<Device>(text).unwrap(), device);
        let bad = json!({"id": "x", "officer_id": "y", "jurisdiction": "430121",
            "role": "reviewer", "key_id": "zz", "enrolled_ms": 1, "revoked_ms": null});
        assert!(serde_json::from_value::<Device>(bad).is_err());
    }

    #[test]
    fn requests_refuse_unknown_fields_and_answers_tolerate_them() {
        let template = json!({"id": "t", "version": 1, "title": "t", "items": []});
        let right = json!({"template": template, "jurisdiction": "430121"});
        let parsed: ChecklistPublication = serde_json::from_value(right).unwrap();
        assert_eq!(parsed.jurisdiction.as_deref(), Some("430121"));
        let typo = json!({"template": template, "jurisdicton": "430121"});
        assert!(serde_json::from_value::<ChecklistPublication>(typo).is_err());
        assert!(serde_json::from_value::<NewOfficer>(json!({"name": "a", "phone": "1"})).is_err());
        let newer = json!({"id": "o", "name": "a", "created_ms": 1, "rank": "chief"});
        assert_eq!(serde_json::from_value::<Officer>(newer).unwrap().name, "a");
    }
}

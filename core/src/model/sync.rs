//! How the device's records stand with the bureau: the enrollment, each op's
//! answer, each photo's upload. What the app shows; the store keeps them.

use crate::hex;
use serde::Serialize;

/// The bureau this device is enrolled with. The token stays inside the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrollment {
    pub server_url: String,
    pub device_id: String,
    pub officer_id: String,
    pub jurisdiction: String,
    /// `township_staff`, `county_officer` or `reviewer`.
    pub role: String,
    pub token_expires_ms: Option<i64>,
    /// COSE_Sign1 by the bureau key over the device's key and identity.
    #[serde(serialize_with = "hex::serialize")]
    pub certificate: Vec<u8>,
    /// SEC1 P-256: what checkpoints, receipts and the certificate verify against.
    #[serde(serialize_with = "hex::serialize")]
    pub bureau_public_key: Vec<u8>,
    pub enrolled_at_ms: i64,
    /// The bureau's TLS key, pinned at enrollment (`sha256/<base64>`); `None`
    /// for a bureau enrolled with over plain HTTP (loopback, tests).
    pub tls_pin: Option<String>,
}

/// Where an op stands with the bureau. `Pending` until the bureau's first answer
/// for it; every other state is final and the op is never sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpState {
    Pending,
    Applied,
    /// The bureau already holds another version (e.g. `inspection_exists`).
    Conflict,
    /// Refused for good; `reason` says why (for evidence records: stored and flagged).
    Rejected,
}

impl OpState {
    pub fn code(self) -> &'static str {
        match self {
            OpState::Pending => "pending",
            OpState::Applied => "applied",
            OpState::Conflict => "conflict",
            OpState::Rejected => "rejected",
        }
    }

    pub fn from_code(code: &str) -> Option<OpState> {
        [
            OpState::Pending,
            OpState::Applied,
            OpState::Conflict,
            OpState::Rejected,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// One op's sync status, as the app shows it on the record it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpStatus {
    pub op_id: String,
    pub kind: String,
    pub state: OpState,
    /// The bureau's code for a conflict or a rejection.
    pub reason: Option<String>,
    /// Sends that got no answer, and the code of the last such failure.
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Where the upload of a photo's original stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    NotStarted,
    Sending,
    /// The bureau holds it, verified against its SHA-256.
    Complete,
    /// Refused by the bureau for good (see the reason).
    Failed,
}

/// A photo's way to the bureau: its upload and the two ops that depend on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhotoSync {
    pub upload: UploadState,
    /// Bytes of the original the bureau confirmed holding.
    pub uploaded_bytes: u64,
    pub size: u64,
    /// Why the bureau refused the upload for good.
    pub upload_reason: Option<String>,
    /// The `photo.upload` op: applied once the bureau holds the photo, verified.
    pub photo_op: Option<OpStatus>,
    /// The `capture`/`import` evidence record vouching for the photo.
    pub record_op: Option<OpStatus>,
}

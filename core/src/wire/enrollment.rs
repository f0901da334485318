//! `POST /v1/enroll`: a one-time code and the device's key in; a certificate,
//! a token and the bureau's key out.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const ENROLL_PATH: &str = "/v1/enroll";

/// What an enrolled officer does, and so what the bureau lets their device do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    TownshipStaff,
    CountyOfficer,
    Reviewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::TownshipStaff, Role::CountyOfficer, Role::Reviewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::TownshipStaff => "township_staff",
            Role::CountyOfficer => "county_officer",
            Role::Reviewer => "reviewer",
        }
    }

    /// The role a string names; `None` for any other.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: String,
    /// SEC1 uncompressed P-256 public key, hex (65 bytes).
    pub public_key: String,
    /// The platform's key attestation (e.g. an Android Keystore certificate chain),
    /// hex, stored as is for reviewers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
}

/// The `201` answer: what the device keeps after enrolling.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollAnswer {
    pub device_id: String,
    pub officer_id: String,
    pub jurisdiction: String,
    pub role: Role,
    /// The device certificate (COSE_Sign1 by the bureau key), hex.
    pub certificate: String,
    pub token: String,
    pub token_expires_ms: i64,
    /// The bureau's SEC1 public key, hex: what checkpoints, receipts and
    /// certificates verify against.
    pub bureau_public_key: String,
}

//! `POST /v1/enroll`: a one-time code and the device's key in; a certificate,
//! a token and the bureau's key out.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const ENROLL_PATH: &str = "/v1/enroll";
/// `POST`: a fresh nonce for one enrollment ([`EnrollChallenge`]).
pub const ENROLL_CHALLENGE_PATH: &str = "/v1/enroll/challenge";

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

/// The `201` answer of [`ENROLL_CHALLENGE_PATH`]: a nonce the bureau made, good
/// for one enrollment until `expires_ms`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollChallenge {
    /// 32 bytes, hex.
    pub nonce: String,
    pub expires_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: String,
    /// SEC1 uncompressed P-256 public key, hex (65 bytes).
    pub public_key: String,
    /// The challenge's nonce, hex.
    pub nonce: String,
    /// The key's ES256 signature (raw r‖s, hex) over
    /// [`possession_message`]`(nonce, code)`: proof that whoever enrolls holds the
    /// private key, not just knows the public one.
    pub signature: String,
    /// The platform's key attestation (e.g. an Android Keystore certificate chain),
    /// hex, stored as is for reviewers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// The device's fixes come from an external GNSS receiver, which reaches
    /// Android as a mock location provider: its mock-flagged fixes still count
    /// as proof of a visit (the reviewer is told). Sent only when true, so an
    /// older bureau, which refuses unknown fields, still enrolls other devices.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external_gnss: bool,
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

/// Codes are compared in a normal form: case, spaces and dashes do not matter.
pub fn normal_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What a device signs with its evidence key to enroll: a domain-separation
/// prefix (no evidence record's COSE `Sig_structure` starts with it), the
/// bureau's nonce and the SHA-256 of the code in its normal form. The signature
/// binds the key to this code and this challenge: it cannot be replayed with
/// another code or after the challenge is spent.
pub fn possession_message(nonce: &[u8; 32], code: &str) -> Vec<u8> {
    let mut message = POSSESSION_PREFIX.to_vec();
    message.extend_from_slice(nonce);
    message.extend_from_slice(&crate::evidence::sha256(normal_code(code).as_bytes()));
    message
}

const POSSESSION_PREFIX: &[u8] = b"fieldproof/enroll-possession/v1\0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_binds_the_nonce_and_the_code_in_its_normal_form() {
        let nonce = [7; 32];
        let message = possession_message(&nonce, "abcd-efgh 2345");
        assert_eq!(message, possession_message(&nonce, "ABCDEFGH2345"));
        assert_ne!(message, possession_message(&nonce, "ABCDEFGH2346"));
        assert_ne!(message, possession_message(&[8; 32], "ABCDEFGH2345"));
        assert_eq!(message.len(), POSSESSION_PREFIX.len() + 64);
        assert!(message.starts_with(b"fieldproof/enroll-possession/v1\0"));
    }
}

//! The bureau's error codes that a device acts on: the bureau's error type
//! answers with these, and the device's sync engine keeps them as its own codes.
//! Every refusal, on every route, has the body [`ErrorBody`].

use serde::{Deserialize, Serialize};

/// `{"error": {"code": …, "message": …}}`: a non-2xx answer's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable, snake_case: what clients act on.
    pub code: String,
    /// For people; never holds personal data.
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}

pub const UNKNOWN_ENROLLMENT_CODE: &str = "unknown_enrollment_code";
pub const ENROLLMENT_CODE_USED: &str = "enrollment_code_used";
pub const ENROLLMENT_CODE_EXPIRED: &str = "enrollment_code_expired";
pub const KEY_ALREADY_ENROLLED: &str = "key_already_enrolled";
pub const UNKNOWN_CHALLENGE: &str = "unknown_challenge";
pub const CHALLENGE_EXPIRED: &str = "challenge_expired";
pub const POSSESSION_NOT_PROVEN: &str = "possession_not_proven";

pub const UNAUTHENTICATED: &str = "unauthenticated";
pub const INVALID_TOKEN: &str = "invalid_token";
pub const TOKEN_EXPIRED: &str = "token_expired";
pub const DEVICE_REVOKED: &str = "device_revoked";

/// A refused enrollment: the code cannot be used (again), the key is taken, or
/// the device did not prove it holds the key over a fresh challenge.
pub const ENROLLMENT: [&str; 7] = [
    UNKNOWN_ENROLLMENT_CODE,
    ENROLLMENT_CODE_USED,
    ENROLLMENT_CODE_EXPIRED,
    KEY_ALREADY_ENROLLED,
    UNKNOWN_CHALLENGE,
    CHALLENGE_EXPIRED,
    POSSESSION_NOT_PROVEN,
];

/// A token the bureau no longer accepts: the device must enroll again.
pub const AUTH: [&str; 4] = [
    UNAUTHENTICATED,
    INVALID_TOKEN,
    TOKEN_EXPIRED,
    DEVICE_REVOKED,
];

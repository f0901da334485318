//! The one public error: a few classes a platform can branch on, each carrying the
//! core's stable error code and a message free of personal data.

use fieldproof_core::{Error, ErrorKind};

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FieldproofError {
    /// The caller passed something invalid (form input, an unknown item, a bad id).
    #[error("{code}: {reason}")]
    InvalidInput { code: String, reason: String },
    #[error("{code}: {reason}")]
    NotFound { code: String, reason: String },
    /// The record is not in a state that allows the operation (e.g. already submitted).
    #[error("{code}: {reason}")]
    InvalidState { code: String, reason: String },
    /// The database file cannot be used: corrupt, full, read-only, too new.
    #[error("{code}: {reason}")]
    Storage { code: String, reason: String },
    /// The exchange with the bureau did not complete (offline, timeout, cancelled,
    /// a bureau failure): worth retrying later.
    #[error("{code}: {reason}")]
    Network { code: String, reason: String },
}

impl From<Error> for FieldproofError {
    fn from(err: Error) -> Self {
        let code = err.code().to_owned();
        let reason = err.to_string();
        match err.kind() {
            ErrorKind::InvalidInput => FieldproofError::InvalidInput { code, reason },
            ErrorKind::NotFound => FieldproofError::NotFound { code, reason },
            ErrorKind::InvalidState => FieldproofError::InvalidState { code, reason },
            ErrorKind::Storage => FieldproofError::Storage { code, reason },
            ErrorKind::Network => FieldproofError::Network { code, reason },
        }
    }
}

/// A foreign callback (e.g. a platform signer) failed in a way its declared
/// error does not cover.
impl From<uniffi::UnexpectedUniFFICallbackError> for FieldproofError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FieldproofError::Storage {
            code: "key_unavailable".into(),
            reason: format!("platform callback failed: {}", err.reason),
        }
    }
}

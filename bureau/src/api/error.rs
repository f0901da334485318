//! How an [`Error`] leaves as an HTTP response: its status, and a JSON body
//! `{"error": {"code": …, "message": …}}` whose code is stable. The domain's
//! errors know nothing of HTTP; this is the one place that maps them.

use crate::error::Error;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fieldproof_core::wire::refusal::ErrorBody;

/// An [`Error`] on its way out as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(http_status(&self.0)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        super::request_log::note_error(self.0.code());
        if status.is_server_error() {
            // Messages carry ids, sizes and codes only (see `crate::error`).
            tracing::error!(code = self.0.code(), message = %self.0, "request failed");
        }
        let body = ErrorBody::new(self.0.code(), self.0.to_string());
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match &self.0 {
            Error::RateLimited { retry_after_s } | Error::LoginThrottled { retry_after_s } => {
                Some(HeaderValue::from(*retry_after_s))
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(HeaderValue::from_static("5")),
            _ => None,
        };
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The HTTP status the API answers `error` with.
pub fn http_status(error: &Error) -> u16 {
    match error {
        Error::LeafIndexOutOfRange { .. }
        | Error::TreeSizeTooLarge { .. }
        | Error::TreeSizesOutOfOrder { .. }
        | Error::InvalidRequest { .. }
        | Error::MalformedJson { .. }
        | Error::TooManyOps { .. }
        | Error::InvalidId { .. }
        | Error::InvalidPublicKey { .. }
        | Error::UnknownChallenge
        | Error::PossessionNotProven
        | Error::UnknownOpKind
        | Error::InvalidCursor
        | Error::DivisionMismatch { .. }
        | Error::RevisionMismatch { .. }
        | Error::InvalidCoordinate { .. }
        | Error::UnknownDatum
        | Error::TextTooLong { .. }
        | Error::CommentRequired
        | Error::InvalidGeoJson { .. }
        | Error::InvalidTemplate { .. }
        | Error::ReasonRequired
        | Error::InvalidTaskState
        | Error::UnknownFireProduct
        | Error::MissingColumn { .. }
        | Error::InvalidCsv { .. }
        | Error::PhotoSizeMismatch
        | Error::InvalidPassword { .. } => 400,
        Error::Unauthenticated
        | Error::InvalidToken
        | Error::TokenExpired
        | Error::LoginFailed
        | Error::SessionExpired => 401,
        Error::DeviceRevoked
        | Error::OutsideJurisdiction
        | Error::Forbidden
        | Error::CsrfRejected
        | Error::OfficerMismatch
        | Error::NotCaseOfficer => 403,
        Error::NotFound { .. } | Error::UnknownEnrollmentCode => 404,
        Error::EnrollmentCodeUsed
        | Error::KeyAlreadyEnrolled
        | Error::Constraint { .. }
        | Error::OpIdTaken
        | Error::InspectionExists
        | Error::PhotoNotUploaded
        | Error::AlreadyReviewed
        | Error::Superseded
        | Error::NotAwaitingLegalReview
        | Error::AlreadyAmended
        | Error::ChecklistVersionPublished
        | Error::UsernameTaken => 409,
        Error::EnrollmentCodeExpired | Error::ChallengeExpired => 410,
        Error::BodyTimeout => 408,
        Error::BodyTooLarge { .. } => 413,
        Error::UnsupportedContentType { .. } => 415,
        Error::InvalidTusHeader { .. }
        | Error::InvalidUploadMetadata { .. }
        | Error::UnsupportedChecksumAlgorithm => 400,
        Error::UploadNotFound => 404,
        // Not HTTP answers: they classify `fieldproof admin backup|restore` failures.
        Error::BackupInvalid { .. } => 400,
        Error::RestoreTargetNotEmpty { .. } => 409,
        Error::OffsetMismatch { .. }
        | Error::UploadFinished
        | Error::UploadQuotaExceeded { .. } => 409,
        Error::UploadExpired => 410,
        Error::TusVersionUnsupported => 412,
        Error::UploadTooLarge { .. } | Error::BeyondUploadLength { .. } => 413,
        Error::UploadLocked => 423,
        Error::RateLimited { .. } | Error::LoginThrottled { .. } => 429,
        // tus's "460 Checksum Mismatch", for a chunk and for the whole photo.
        Error::ChecksumMismatch | Error::PhotoHashMismatch => 460,
        // The object store is another service: devices retry as on a busy bureau.
        Error::Busy | Error::PhotoStore { .. } => 503,
        Error::DiskFull => 507,
        // The fire source the bureau polls failed: a gateway's failure.
        Error::FireFetch { .. } => 502,
        Error::InvalidBureauKey
        | Error::RandomUnavailable
        | Error::LogRewritten { .. }
        | Error::Storage { .. }
        | Error::SchemaTooNew { .. }
        | Error::InvalidConfig { .. }
        | Error::Io { .. }
        | Error::ReportFontMissing
        | Error::ReportFont { .. }
        | Error::AuditLogInconsistent { .. } => 500,
    }
}

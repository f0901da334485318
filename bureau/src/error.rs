//! The one error type of the bureau crate.
//!
//! Every variant has a stable machine-readable [`Error::code`] that the API hands
//! to devices and admin tools (a code never changes once released); its HTTP
//! status is the API's business (`api::http_status`). Messages carry ids, sizes and codes only, never names, phone numbers or
//! record contents.

use fieldproof_core::wire::refusal;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // --- custody log ---
    #[error("leaf index {index} is not below tree size {tree_size}")]
    LeafIndexOutOfRange { index: u64, tree_size: u64 },
    #[error("tree size {tree_size} is larger than the log ({log_size} records)")]
    TreeSizeTooLarge { tree_size: u64, log_size: u64 },
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    TreeSizesOutOfOrder { old_size: u64, new_size: u64 },
    #[error("bureau key is not a valid ECDSA P-256 PKCS#8 document")]
    InvalidBureauKey,
    #[error("the system random number generator failed")]
    RandomUnavailable,
    #[error(
        "the custody log no longer holds what the checkpoint of {tree_size} records signed: \
         a logged record was changed; no checkpoint is signed until it is restored"
    )]
    LogRewritten { tree_size: u64 },

    // --- requests ---
    #[error("{reason}")]
    InvalidRequest { reason: String },
    #[error("request body is not valid JSON: {reason}")]
    MalformedJson { reason: String },
    #[error("expected content type {expected}")]
    UnsupportedContentType { expected: &'static str },
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge { limit: u64 },
    #[error("the request body paused for too long and was abandoned")]
    BodyTimeout,
    #[error("a push carries at most {limit} ops")]
    TooManyOps { limit: usize },
    #[error("{what} is not a valid id")]
    InvalidId { what: &'static str },
    #[error("no {what} with that id")]
    NotFound { what: &'static str },

    // --- authentication and authorisation ---
    #[error("missing or malformed Authorization header")]
    Unauthenticated,
    #[error("the access token is not valid")]
    InvalidToken,
    #[error("the access token has expired; enroll again")]
    TokenExpired,
    #[error("this device has been revoked")]
    DeviceRevoked,
    #[error("outside this device's jurisdiction")]
    OutsideJurisdiction,
    #[error("not allowed for this role")]
    Forbidden,
    #[error("too many requests: retry in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },

    // --- staff: accounts, sessions, the audit log ---
    #[error("{reason}")]
    InvalidPassword { reason: String },
    #[error("that username is taken")]
    UsernameTaken,
    #[error("wrong username or password")]
    LoginFailed,
    #[error("too many failed logins: retry in {retry_after_s} s")]
    LoginThrottled { retry_after_s: u64 },
    #[error("the session has ended: sign in again")]
    SessionExpired,
    #[error("the request does not carry this session's CSRF token")]
    CsrfRejected,
    #[error("the audit log's hash chain breaks at entry {seq}")]
    AuditLogInconsistent { seq: i64 },

    // --- enrollment ---
    #[error("unknown enrollment code")]
    UnknownEnrollmentCode,
    #[error("this enrollment code has already been used")]
    EnrollmentCodeUsed,
    #[error("this enrollment code has expired")]
    EnrollmentCodeExpired,
    #[error("this device key is already enrolled")]
    KeyAlreadyEnrolled,
    #[error("{reason}")]
    InvalidPublicKey { reason: String },
    #[error("no enrollment challenge with that nonce: ask for a new one")]
    UnknownChallenge,
    #[error("the enrollment challenge has expired: ask for a new one")]
    ChallengeExpired,
    #[error("the signature does not prove possession of the key for this challenge and code")]
    PossessionNotProven,

    // --- sync ---
    #[error("unknown op kind")]
    UnknownOpKind,
    #[error("this op_id was already used by another device")]
    OpIdTaken,
    #[error("this inspection has already been received; changes come as amendments")]
    InspectionExists,
    #[error("the photo has not been uploaded completely")]
    PhotoNotUploaded,
    #[error("the uploaded photo's size differs from the op's")]
    PhotoSizeMismatch,
    #[error("the pull cursor is not one this bureau issued")]
    InvalidCursor,
    #[error("the inspection names another officer than the one this device is enrolled for")]
    OfficerMismatch,
    #[error("county_code {county} does not contain township_code {township}")]
    DivisionMismatch { county: String, township: String },
    #[error("only the inspection's officers may amend it")]
    NotCaseOfficer,
    #[error("this inspection has been amended already: amend its newest amendment")]
    AlreadyAmended,
    #[error("this inspection must have revision {expected}")]
    RevisionMismatch { expected: u64 },

    // --- cases (admin: inspections, reviews, tasks, reference data) ---
    #[error("{field} is not a valid coordinate")]
    InvalidCoordinate { field: &'static str },
    #[error("unknown datum: use wgs84, gcj02 or bd09")]
    UnknownDatum,
    #[error("{field} is longer than {limit} characters")]
    TextTooLong { field: &'static str, limit: usize },
    #[error("returning an inspection needs a comment saying what to change")]
    CommentRequired,
    #[error("this inspection has already been reviewed")]
    AlreadyReviewed,
    #[error("this inspection has been amended: review its newest amendment")]
    Superseded,
    #[error("this inspection is not an accepted case waiting for legal review")]
    NotAwaitingLegalReview,
    #[error("invalid GeoJSON: {reason}")]
    InvalidGeoJson { reason: String },
    #[error("invalid checklist template: {reason}")]
    InvalidTemplate { reason: String },
    #[error("this checklist version is already published with other content")]
    ChecklistVersionPublished,
    #[error("a task the team declines needs a reason")]
    ReasonRequired,
    #[error("a device reports received, in_progress, completed or declined")]
    InvalidTaskState,

    // --- fire points ---
    #[error(
        "not a FIRMS fire file: the header has neither brightness (MODIS) nor bright_ti4 (VIIRS)"
    )]
    UnknownFireProduct,
    #[error("the FIRMS file has no {name} column")]
    MissingColumn { name: &'static str },
    #[error("invalid CSV: {reason}")]
    InvalidCsv { reason: String },
    #[error("the fire fetch failed: {reason}")]
    FireFetch { reason: String },

    // --- photo uploads (tus 1.0) ---
    #[error("this server speaks tus 1.0.0 only")]
    TusVersionUnsupported,
    #[error("missing or malformed {header} header")]
    InvalidTusHeader { header: &'static str },
    #[error("Upload-Metadata: {reason}")]
    InvalidUploadMetadata { reason: &'static str },
    #[error("a photo is at most {limit} bytes")]
    UploadTooLarge { limit: u64 },
    #[error(
        "this device has {limit} bytes in unfinished uploads already: finish or end one first"
    )]
    UploadQuotaExceeded { limit: u64 },
    #[error("the chunk goes beyond the upload's length of {length} bytes")]
    BeyondUploadLength { length: u64 },
    #[error("unsupported checksum algorithm: use sha1 or sha256")]
    UnsupportedChecksumAlgorithm,
    #[error("no upload with that id")]
    UploadNotFound,
    #[error("this upload has expired; create a new one")]
    UploadExpired,
    #[error("Upload-Offset must be {expected}")]
    OffsetMismatch { expected: u64 },
    #[error("the chunk does not match its Upload-Checksum and was discarded")]
    ChecksumMismatch,
    #[error("the uploaded bytes do not match the declared sha256 and were refused")]
    PhotoHashMismatch,
    #[error("another request is using this upload; retry later")]
    UploadLocked,
    #[error("this upload is finished and can no longer be terminated")]
    UploadFinished,

    // --- storage and configuration ---
    #[error("storage failed: {reason}")]
    Storage { reason: String },
    #[error("the backup cannot be used: {reason}")]
    BackupInvalid { reason: String },
    #[error("nothing was restored: {what}")]
    RestoreTargetNotEmpty { what: String },
    #[error("the photo store failed: {reason}")]
    PhotoStore { reason: String },
    #[error("a storage constraint refused the change: {reason}")]
    Constraint { reason: String },
    #[error("the bureau's disk is full")]
    DiskFull,
    #[error("the bureau is busy; retry later")]
    Busy,
    #[error("database schema version {found} is newer than this bureau supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("invalid configuration: {reason}")]
    InvalidConfig { reason: String },
    #[error("file system error: {reason}")]
    Io { reason: String },

    // --- case files ---
    #[error(
        "no CJK font for the case file's report.pdf: set report_font in the bureau's \
         configuration, or install fonts-wqy-microhei or fonts-noto-cjk"
    )]
    ReportFontMissing,
    #[error("the report font cannot be used: {reason}")]
    ReportFont { reason: String },
}

impl Error {
    /// A refusal for a rate limit, waiting `wait` (rounded up to whole seconds).
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        Error::RateLimited {
            retry_after_s: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    }

    /// Stable error code; part of the public contract (API, CLI).
    pub fn code(&self) -> &'static str {
        match self {
            Error::LeafIndexOutOfRange { .. } => "leaf_index_out_of_range",
            Error::TreeSizeTooLarge { .. } => "tree_size_too_large",
            Error::TreeSizesOutOfOrder { .. } => "tree_sizes_out_of_order",
            Error::InvalidBureauKey => "invalid_bureau_key",
            Error::RandomUnavailable => "random_unavailable",
            Error::LogRewritten { .. } => "log_inconsistent",
            Error::InvalidRequest { .. } => "invalid_request",
            Error::MalformedJson { .. } => "malformed_json",
            Error::UnsupportedContentType { .. } => "unsupported_content_type",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::BodyTimeout => "body_timeout",
            Error::TooManyOps { .. } => "too_many_ops",
            Error::InvalidId { .. } => "invalid_id",
            Error::NotFound { .. } => "not_found",
            Error::Unauthenticated => refusal::UNAUTHENTICATED,
            Error::InvalidToken => refusal::INVALID_TOKEN,
            Error::TokenExpired => refusal::TOKEN_EXPIRED,
            Error::DeviceRevoked => refusal::DEVICE_REVOKED,
            Error::OutsideJurisdiction => "outside_jurisdiction",
            Error::Forbidden => "forbidden",
            Error::RateLimited { .. } => "rate_limited",
            Error::InvalidPassword { .. } => "invalid_password",
            Error::UsernameTaken => "username_taken",
            Error::LoginFailed => "login_failed",
            Error::LoginThrottled { .. } => "login_throttled",
            Error::SessionExpired => "session_expired",
            Error::CsrfRejected => "csrf_rejected",
            Error::AuditLogInconsistent { .. } => "audit_log_inconsistent",
            Error::UnknownEnrollmentCode => refusal::UNKNOWN_ENROLLMENT_CODE,
            Error::EnrollmentCodeUsed => refusal::ENROLLMENT_CODE_USED,
            Error::EnrollmentCodeExpired => refusal::ENROLLMENT_CODE_EXPIRED,
            Error::KeyAlreadyEnrolled => refusal::KEY_ALREADY_ENROLLED,
            Error::InvalidPublicKey { .. } => "invalid_public_key",
            Error::UnknownChallenge => refusal::UNKNOWN_CHALLENGE,
            Error::ChallengeExpired => refusal::CHALLENGE_EXPIRED,
            Error::PossessionNotProven => refusal::POSSESSION_NOT_PROVEN,
            Error::UnknownOpKind => "unknown_op_kind",
            Error::OpIdTaken => "op_id_taken",
            Error::InspectionExists => "inspection_exists",
            Error::PhotoNotUploaded => "photo_not_uploaded",
            Error::PhotoSizeMismatch => "photo_size_mismatch",
            Error::InvalidCursor => "invalid_cursor",
            Error::OfficerMismatch => "officer_mismatch",
            Error::DivisionMismatch { .. } => "division_mismatch",
            Error::NotCaseOfficer => "not_case_officer",
            Error::AlreadyAmended => "already_amended",
            Error::RevisionMismatch { .. } => "revision_mismatch",
            Error::InvalidCoordinate { .. } => "invalid_coordinate",
            Error::UnknownDatum => "unknown_datum",
            Error::TextTooLong { .. } => "text_too_long",
            Error::CommentRequired => "comment_required",
            Error::AlreadyReviewed => "already_reviewed",
            Error::Superseded => "superseded",
            Error::NotAwaitingLegalReview => "not_awaiting_legal_review",
            Error::InvalidGeoJson { .. } => "invalid_geojson",
            Error::InvalidTemplate { .. } => "invalid_template",
            Error::ChecklistVersionPublished => "checklist_version_published",
            Error::ReasonRequired => "reason_required",
            Error::InvalidTaskState => "invalid_task_state",
            Error::UnknownFireProduct => "unknown_fire_product",
            Error::MissingColumn { .. } => "missing_column",
            Error::InvalidCsv { .. } => "invalid_csv",
            Error::FireFetch { .. } => "fire_fetch_failed",
            Error::TusVersionUnsupported => "tus_version_unsupported",
            Error::InvalidTusHeader { .. } => "invalid_tus_header",
            Error::InvalidUploadMetadata { .. } => "invalid_upload_metadata",
            Error::UploadTooLarge { .. } => "upload_too_large",
            Error::UploadQuotaExceeded { .. } => "upload_quota_exceeded",
            Error::BeyondUploadLength { .. } => "beyond_upload_length",
            Error::UnsupportedChecksumAlgorithm => "unsupported_checksum_algorithm",
            Error::UploadNotFound => "upload_not_found",
            Error::UploadExpired => "upload_expired",
            Error::OffsetMismatch { .. } => "offset_mismatch",
            Error::ChecksumMismatch => "checksum_mismatch",
            Error::PhotoHashMismatch => "photo_hash_mismatch",
            Error::UploadLocked => "upload_locked",
            Error::UploadFinished => "upload_finished",
            Error::Storage { .. } => "storage_failed",
            Error::PhotoStore { .. } => "photo_store_failed",
            Error::BackupInvalid { .. } => "backup_invalid",
            Error::RestoreTargetNotEmpty { .. } => "restore_target_not_empty",
            Error::Constraint { .. } => "constraint_violated",
            Error::DiskFull => "disk_full",
            Error::Busy => "busy",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::InvalidConfig { .. } => "invalid_config",
            Error::Io { .. } => "io_failed",
            Error::ReportFontMissing => "report_font_missing",
            Error::ReportFont { .. } => "report_font_unusable",
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        match error.raw_os_error() {
            Some(28) => Error::DiskFull, // ENOSPC
            _ => Error::Io {
                reason: error.kind().to_string(),
            },
        }
    }
}

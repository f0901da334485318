//! The one internal error type of the core.
//!
//! Every variant has a stable machine-readable [`Error::code`]: the CLI prints it, the
//! FFI hands it to Kotlin/Swift/Python, and later the bureau API uses the same words.
//! Messages name fields and item ids, never values a person typed: a responsible
//! party's name or phone number must not end up in a log.

use rusqlite::ErrorCode;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field} is not a finite coordinate in range")]
    InvalidCoordinate { field: &'static str },
    #[error("unknown datum (expected wgs84, gcj02 or bd09)")]
    UnknownDatum,
    #[error("{field} is not a plausible time")]
    InvalidTime { field: &'static str },
    #[error("end time is before start time")]
    InvalidTimeRange,
    #[error("the location is {age_ms} ms old: a cached position, not where the phone is now")]
    StaleLocation { age_ms: u64 },
    #[error("{field} is not a valid administrative division code")]
    InvalidDivisionCode { field: &'static str },
    #[error("{field}: {reason}")]
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
    #[error("{field} is longer than {max} characters")]
    TextTooLong { field: String, max: usize },
    #[error("unknown enforcement matter {matter:?}")]
    UnknownMatter { matter: String },
    #[error("invalid checklist template: {reason}")]
    InvalidTemplate { reason: String },
    #[error("checklist item {item:?} is not in template {template:?}")]
    UnknownChecklistItem { item: String, template: String },
    #[error("checklist item {item:?} expects a {expected} answer")]
    WrongAnswerType {
        item: String,
        expected: &'static str,
    },
    #[error("checklist item {item:?} has no option {option:?}")]
    InvalidChoice { item: String, option: String },
    #[error("checklist item {item:?} must be between {min} and {max}")]
    NumberOutOfRange { item: String, min: f64, max: f64 },
    #[error("required checklist items are unanswered: {}", items.join(", "))]
    RequiredItemsMissing { items: Vec<String> },
    #[error("{what} is not a valid id")]
    InvalidId { what: &'static str },
    #[error("paging cursor is not valid")]
    InvalidCursor,
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("inspection {id} is {status}, only drafts can change")]
    NotDraft { id: String, status: &'static str },
    #[error("inspection {id} is a draft; only submitted inspections can be amended")]
    NotSubmitted { id: String },
    #[error("inspection {id} already has a draft amendment {amendment}")]
    AmendmentPending { id: String, amendment: String },
    #[error("inspection {id} was already amended by {by}; amend that one")]
    Superseded { id: String, by: String },
    #[error("task {id} is {state}: the team's part is over")]
    TaskFinished { id: String, state: &'static str },
    #[error("track {id} is stopped; start a new one")]
    TrackStopped { id: String },
    #[error("GPX file cannot be read: {reason}")]
    InvalidGpx { reason: String },
    #[error("GeoJSON cannot be read: {reason}")]
    InvalidGeoJson { reason: String },
    #[error("jurisdiction {code} is not loaded")]
    UnknownJurisdiction { code: String },
    #[error("not a supported image (by its leading bytes)")]
    UnsupportedMedia,
    #[error("media is larger than {max_bytes} bytes")]
    MediaTooLarge { max_bytes: u64 },
    #[error("evidence record cannot be read: {reason}")]
    InvalidRecord { reason: String },
    #[error("signature does not verify with the device key")]
    SignatureInvalid,
    #[error("signing key unavailable: {reason}")]
    KeyUnavailable { reason: String },
    #[error("file is not a Fieldproof database")]
    NotADatabase,
    #[error("database file is truncated or corrupt")]
    DatabaseCorrupt,
    #[error("database schema version {found} is newer than this app supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("database or disk is full")]
    StorageFull,
    #[error("database is read-only")]
    ReadOnly,
    #[error("database cannot be opened")]
    CannotOpen,
    #[error("this device is not enrolled with a bureau")]
    NotEnrolled,
    #[error("another sync of this database is in progress")]
    SyncInProgress,
    /// A refusal of `POST /v1/enroll`; `code` is the bureau's, one of
    /// [`crate::wire::refusal::ENROLLMENT`].
    #[error("the bureau refused the enrollment: {code}")]
    EnrollmentRefused { code: &'static str },
    /// The bureau no longer accepts this device's token; `code` is the bureau's, one
    /// of [`crate::wire::refusal::AUTH`]. Retrying cannot help: the device must enroll again.
    #[error("the bureau refused this device's credentials ({code}); enroll again")]
    AuthRefused { code: &'static str },
    #[error("the bureau cannot be reached: {reason}")]
    Offline { reason: String },
    #[error("the bureau did not answer in time")]
    Timeout,
    #[error("cancelled")]
    Cancelled,
    /// Any other answer than the one asked for: 5xx, 429, or a 4xx that names no
    /// fault of this device. `code` is the bureau's error code, when it gave one.
    #[error("the bureau answered HTTP {status} ({code})")]
    ServerError {
        status: u16,
        code: String,
        /// The bureau's `Retry-After`, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    #[error("the bureau's answer cannot be read: {reason}")]
    BadResponse { reason: String },
    /// The bureau's custody log does not extend what this device saw of it: a
    /// checkpoint of the same size with another root, or a newer one it cannot
    /// prove consistent. The device keeps the checkpoint it held.
    #[error(
        "the bureau's custody log of {offered_size} records is not consistent with the \
         checkpoint of {held_size} records this device holds: report it to the bureau"
    )]
    LogInconsistent { held_size: u64, offered_size: u64 },
    /// The server did not prove it holds the bureau's TLS key pinned at
    /// enrollment: nothing was sent to it. A rotated key needs a new enrollment.
    #[error("the bureau's TLS key is not the one pinned at enrollment: nothing was sent")]
    TlsPinMismatch,
    /// A pinned bureau was to be reached over plain HTTP: refused, so the
    /// token never travels unencrypted.
    #[error("this bureau is pinned to TLS: its address must be https")]
    TlsRequired,
    #[error("storage error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Stable error code; part of the public contract (CLI, FFI, README).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidCoordinate { .. } => "invalid_coordinate",
            Error::UnknownDatum => "unknown_datum",
            Error::InvalidTime { .. } => "invalid_time",
            Error::InvalidTimeRange => "invalid_time_range",
            Error::StaleLocation { .. } => "stale_location",
            Error::InvalidDivisionCode { .. } => "invalid_division_code",
            Error::InvalidField { .. } => "invalid_field",
            Error::TextTooLong { .. } => "text_too_long",
            Error::UnknownMatter { .. } => "unknown_matter",
            Error::InvalidTemplate { .. } => "invalid_template",
            Error::UnknownChecklistItem { .. } => "unknown_checklist_item",
            Error::WrongAnswerType { .. } => "wrong_answer_type",
            Error::InvalidChoice { .. } => "invalid_choice",
            Error::NumberOutOfRange { .. } => "number_out_of_range",
            Error::RequiredItemsMissing { .. } => "required_item_missing",
            Error::InvalidId { .. } => "invalid_id",
            Error::InvalidCursor => "invalid_cursor",
            Error::NotFound { .. } => "not_found",
            Error::TaskFinished { .. } => "task_finished",
            Error::NotDraft { .. } => "not_draft",
            Error::NotSubmitted { .. } => "not_submitted",
            Error::AmendmentPending { .. } => "amendment_pending",
            Error::Superseded { .. } => "superseded",
            Error::TrackStopped { .. } => "track_stopped",
            Error::InvalidGpx { .. } => "invalid_gpx",
            Error::InvalidGeoJson { .. } => "invalid_geojson",
            Error::UnknownJurisdiction { .. } => "unknown_jurisdiction",
            Error::UnsupportedMedia => "unsupported_media",
            Error::MediaTooLarge { .. } => "media_too_large",
            Error::InvalidRecord { .. } => "invalid_record",
            Error::SignatureInvalid => "signature_invalid",
            Error::KeyUnavailable { .. } => "key_unavailable",
            Error::NotADatabase => "not_a_database",
            Error::DatabaseCorrupt => "database_corrupt",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::StorageFull => "storage_full",
            Error::ReadOnly => "read_only",
            Error::CannotOpen => "cannot_open",
            Error::NotEnrolled => "not_enrolled",
            Error::SyncInProgress => "sync_in_progress",
            Error::EnrollmentRefused { code } | Error::AuthRefused { code } => code,
            Error::Offline { .. } => "offline",
            Error::Timeout => "timeout",
            Error::Cancelled => "cancelled",
            Error::ServerError { .. } => "server_error",
            Error::BadResponse { .. } => "bad_response",
            Error::LogInconsistent { .. } => "log_inconsistent",
            Error::TlsPinMismatch => "tls_pin_mismatch",
            Error::TlsRequired => "tls_required",
            Error::Sqlite(_) => "storage_error",
            Error::Io(_) => "io_error",
        }
    }

    /// Coarse class of the error, for callers that branch on what to do next
    /// (show a form error, give up on an id, warn about storage).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } | Error::UnknownJurisdiction { .. } => ErrorKind::NotFound,
            Error::NotDraft { .. }
            | Error::NotSubmitted { .. }
            | Error::AmendmentPending { .. }
            | Error::Superseded { .. }
            | Error::TaskFinished { .. }
            | Error::TrackStopped { .. }
            | Error::NotEnrolled
            | Error::SyncInProgress
            | Error::AuthRefused { .. } => ErrorKind::InvalidState,
            // A mistyped code is the caller's input; a spent one is the code's state.
            Error::EnrollmentRefused { code } if *code != "unknown_enrollment_code" => {
                ErrorKind::InvalidState
            }
            Error::Offline { .. }
            | Error::Timeout
            | Error::Cancelled
            | Error::ServerError { .. }
            | Error::BadResponse { .. }
            | Error::LogInconsistent { .. }
            | Error::TlsPinMismatch => ErrorKind::Network,
            Error::NotADatabase
            | Error::DatabaseCorrupt
            | Error::SchemaTooNew { .. }
            | Error::StorageFull
            | Error::ReadOnly
            | Error::CannotOpen
            | Error::Sqlite(_)
            | Error::Io(_)
            | Error::KeyUnavailable { .. } => ErrorKind::Storage,
            _ => ErrorKind::InvalidInput,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidInput,
    NotFound,
    InvalidState,
    Storage,
    /// The exchange with the bureau did not complete: offline, timed out,
    /// cancelled, or the bureau failed. Worth retrying later.
    Network,
}

impl From<rusqlite::Error> for Error {
    /// SQLite result codes that mean something to the user get their own code; the
    /// rest stay `storage_error` with SQLite's own text (which holds no user data).
    fn from(err: rusqlite::Error) -> Self {
        if let rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..) = err
        {
            // A stored value our own schema and code never write: damage or hand edits.
            return Error::DatabaseCorrupt;
        }
        match err.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Error::NotADatabase,
            Some(ErrorCode::DatabaseCorrupt) => Error::DatabaseCorrupt,
            Some(ErrorCode::DiskFull) => Error::StorageFull,
            Some(ErrorCode::ReadOnly) => Error::ReadOnly,
            Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied) => Error::CannotOpen,
            _ => Error::Sqlite(err),
        }
    }
}

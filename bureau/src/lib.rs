//! Fieldproof bureau: the server that township and county devices sync to, and the
//! place where evidence custody is proved.
//!
//! - [`storage`]: SQLite (embedded default) or PostgreSQL, one SQL vocabulary.
//! - [`enrollment`]: officers, one-time codes, devices, certificates, tokens.
//! - [`sync`]: push (ops applied exactly once) and pull (the change feed).
//! - [`evidence_ingest`]: every record verified on receipt, then logged or flagged.
//! - [`custody_log`]: the RFC 9162 Merkle log, checkpoints and receipts.
//! - [`uploads`]: tus 1.0 resumable photo uploads and the photo store.
//! - [`cases`]: inspections, reviews, tasks and reference data for the admin side.
//! - [`fires`]: satellite fire points in, fire events and their tasks out, figures.
//! - [`people`]: staff accounts with roles over jurisdictions, sessions, the audit log.
//! - [`acts`]: what staff do (review, dispatch, codes, revocations), checked
//!   against their grants and recorded in the audit log.
//! - [`rate_limits`]: token buckets per address and per device.
//! - [`tls`]: the HTTPS certificate and the pin devices hold the bureau to.
//! - [`api`]: the HTTP layer (axum), thin over the above; [`console`]: the web
//!   console's pages, as thin; [`server`] runs both.

pub mod acts;
pub mod api;
pub mod backup;
pub mod bureau;
pub mod cases;
pub mod config;
pub mod console;
pub mod custody_log;
pub mod enrollment;
pub mod error;
pub mod evidence_ingest;
pub mod fires;
pub mod pdf;
pub mod people;
pub mod photo_thumbnails;
pub mod rate_limits;
mod secrets;
pub mod server;
pub mod shared_schedule;
pub mod storage;
pub mod sync;
pub mod tls;
pub mod uploads;

pub use bureau::Bureau;
pub use config::{Config, Limits};
pub use error::{Error, Result};

/// Bureau wall-clock time, UTC milliseconds: the time of every stored fact.
pub(crate) use fieldproof_core::time::now_ms;

/// Every id in a path or body is a UUID, hyphenated lower case: anything else
/// (`..`, slashes, NULs) is refused before it reaches storage or the file
/// system. The device's rule (`fieldproof_core::model::id`), with this crate's error.
pub(crate) fn parse_id(text: &str, what: &'static str) -> Result<String> {
    fieldproof_core::model::id::parse_id(text, what).map_err(|_| Error::InvalidId { what })
}

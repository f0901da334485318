//! Sync with devices: push (ops applied exactly once) and pull (the change feed).

pub mod feed;
mod inspection_ops;
pub mod pull;
pub mod push;
mod task_ops;

use crate::error::{Error, Result};
use serde_json::value::RawValue;

/// Parses an op's payload. serde's message is left out: it can quote the
/// offending value, and payloads carry names and places.
fn payload<T: serde::de::DeserializeOwned>(payload: &RawValue) -> Result<T> {
    serde_json::from_str(payload.get()).map_err(|_| Error::InvalidRequest {
        reason: "op payload does not have the fields its kind needs".into(),
    })
}

//! Admin API, case files: `GET /v1/admin/inspections/{id}/bundle` streams the
//! case file of an inspection's amendment line as a zip
//! ([`crate::cases::case_file`]). The plan is read on a blocking thread; a
//! second one writes the zip into a bounded channel that the response body
//! drains, so a case of many photos streams in constant memory, and a client
//! that goes away stops the writer at its next chunk.

use super::{blocking, ApiResult, ChannelBody, Staff, State};
use crate::cases::{case_file, inspections};
use crate::error::Error;
use crate::parse_id;
use crate::people::audit::{self, action};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State as Extract};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use std::io::{self, Write};
use tokio::sync::mpsc::Sender;

/// Chunks in flight between the writer and the connection: 8 × 256 KiB.
const CHANNEL_CHUNKS: usize = 8;
const CHUNK_BYTES: usize = 256 * 1024;

pub fn routes() -> Router<State> {
    Router::new().route("/v1/admin/inspections/{id}/bundle", get(bundle))
}

/// A case file holds the responsible party: for those who decide on the case
/// (reviewer, legal reviewer, admin); each export goes in the audit log.
async fn bundle(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "inspection id")?;
    let plan = blocking(&state, move |b| {
        let jurisdiction = b.db.read(|tx| inspections::jurisdiction_of(tx, &id))?;
        if !actor.may_see(&jurisdiction) {
            return Err(Error::NotFound { what: "inspection" });
        }
        if !actor.may_see_personal_data(&jurisdiction) {
            return Err(Error::Forbidden);
        }
        let plan = case_file::plan_now(b, &id)?;
        b.db.write(|tx| {
            let (subject, place) = (plan.inspection_id(), Some(jurisdiction.as_str()));
            let detail = serde_json::json!({ "requested": id });
            audit::record(tx, &actor, action::CASE_FILE_EXPORT, subject, place, detail)
        })?;
        Ok(plan)
    })
    .await?;
    let filename = format!("attachment; filename=\"case-{}.zip\"", plan.inspection_id());
    let (sender, receiver) = tokio::sync::mpsc::channel(CHANNEL_CHUNKS);
    let bureau = state.clone();
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            sender: sender.clone(),
            buffer: Vec::with_capacity(CHUNK_BYTES),
        };
        let written = plan
            .write(writer, &bureau.key)
            .and_then(|mut w| Ok(w.flush()?));
        if let Err(e) = written {
            // The client sees the body end in an error, never a short zip that looks whole.
            tracing::warn!(code = e.code(), "case file not written");
            let _ = sender.blocking_send(Err(axum::Error::new(e)));
        }
    });
    let mut response = Response::new(Body::new(ChannelBody(receiver)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `Write` into the response channel, in chunks of [`CHUNK_BYTES`]; blocks
/// while the channel is full, fails once the client has gone.
struct ChannelWriter {
    sender: Sender<Result<http_body::Frame<Bytes>, axum::Error>>,
    buffer: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = CHUNK_BYTES - self.buffer.len();
        let n = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..n]);
        if self.buffer.len() == CHUNK_BYTES {
            self.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.sender
            .blocking_send(Ok(http_body::Frame::data(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

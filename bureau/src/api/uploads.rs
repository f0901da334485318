//! tus 1.0 photo uploads over HTTP: `/v1/uploads` (OPTIONS, POST) and
//! `/v1/uploads/{id}` (HEAD, PATCH, DELETE, OPTIONS). Thin: headers in, headers
//! out; the rules live in [`crate::uploads`]. The endpoint is documented in
//! `bureau/docs/uploads.md`.

use super::{blocking, ApiError, ApiResult, ChannelBody, DeviceAuth, State};
use crate::error::{Error, Result};
use crate::parse_id;
use crate::uploads::tus::{self, Checksum, Metadata};
use crate::uploads::{self, Chunk, Upload, UploadState};
use axum::extract::{Path, Request, State as Extract};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{head, post};
use axum::Router;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/v1/uploads", post(create).options(capabilities))
        .route(
            "/v1/uploads/{id}",
            head(status)
                .patch(append)
                .delete(terminate)
                .options(capabilities),
        )
        .route_layer(middleware::from_fn(tus_resumable))
        .route_layer(middleware::from_fn(drain_unread_body))
}

/// How much of a body the bureau reads and discards when it answers without
/// needing it (a refused token, a wrong offset, a photo it already holds): a whole
/// device chunk (2 MiB at most) with room to spare.
const DRAIN_BYTES: usize = 4 << 20;
/// How long a drain may take, so a stalled client cannot hold the request open.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(120);

/// Reads what the handler left of the request body before the answer goes out.
///
/// A server that answers before reading the body makes hyper close the connection,
/// and a client still writing the body then sees a broken pipe instead of the
/// answer: on a slow link it would resend the same request forever. So the body
/// is forwarded to the handler through a channel, and whatever the handler did
/// not read is read here (up to [`DRAIN_BYTES`]) before the answer is returned.
async fn drain_unread_body(request: Request, next: Next) -> Response {
    use http_body_util::BodyExt;
    let (parts, mut body) = request.into_parts();
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let forward = tokio::spawn(async move {
        let mut discarded = 0;
        while let Some(frame) = body.frame().await {
            let Err(tokio::sync::mpsc::error::SendError(frame)) = sender.send(frame).await else {
                continue;
            };
            // The handler let go of the body: read the rest and drop it.
            discarded += frame
                .ok()
                .and_then(|f| f.into_data().ok())
                .map_or(0, |d| d.len());
            if discarded > DRAIN_BYTES {
                break;
            }
        }
    });
    let request = Request::from_parts(parts, axum::body::Body::new(ChannelBody(receiver)));
    let response = next.run(request).await;
    // Bounded: a client that stops sending gets its answer after DRAIN_TIME.
    let _ = tokio::time::timeout(DRAIN_TIME, forward).await;
    response
}

/// Every response carries `Tus-Resumable`. Every request but OPTIONS must carry
/// it too, naming the version spoken here; else 412, with the versions that are.
async fn tus_resumable(request: Request, next: Next) -> Response {
    let supported = request.method() == Method::OPTIONS
        || matches!(header_text(request.headers(), "Tus-Resumable"), Ok(Some(v)) if v == tus::VERSION);
    let mut response = if supported {
        next.run(request).await
    } else {
        let mut refused = ApiError(Error::TusVersionUnsupported).into_response();
        refused
            .headers_mut()
            .insert("tus-version", HeaderValue::from_static(tus::VERSION));
        refused
    };
    response
        .headers_mut()
        .insert("tus-resumable", HeaderValue::from_static(tus::VERSION));
    response
}

/// OPTIONS: what this server supports. Needs no token.
async fn capabilities(Extract(state): Extract<State>) -> (StatusCode, HeaderMap) {
    let mut headers = HeaderMap::new();
    headers.insert("tus-version", HeaderValue::from_static(tus::VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(tus::EXTENSIONS));
    headers.insert(
        "tus-max-size",
        HeaderValue::from(state.limits.max_photo_bytes),
    );
    headers.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static(tus::CHECKSUM_ALGORITHMS),
    );
    (StatusCode::NO_CONTENT, headers)
}

/// POST: creates an upload (creation), with its first chunk when the request has
/// a body (creation-with-upload).
async fn create(
    DeviceAuth(device): DeviceAuth,
    Extract(state): Extract<State>,
    request: Request,
) -> ApiResult<Response> {
    let headers = request.headers();
    let length = number(headers, "Upload-Length")?;
    let metadata = Metadata::parse(header_text(headers, "Upload-Metadata")?.unwrap_or(""))?;
    // creation-with-upload is told by the chunk content type (checked in `chunk`);
    // without a Content-Type, any body is ignored and Upload-Offset: 0 says so.
    let first_chunk = if headers.contains_key(header::CONTENT_TYPE) {
        Some(chunk(request, 0)?)
    } else {
        None
    };
    let device_id = device.id.clone();
    let upload = blocking(&state, move |b| {
        uploads::create(b, &device_id, length, metadata)
    })
    .await?;
    let location = format!("/v1/uploads/{}", upload.id);
    let outcome = match first_chunk {
        Some(chunk) if upload.state == UploadState::Receiving => {
            uploads::receive_chunk(state, device.id, upload.id, chunk).await
        }
        // No body, or a photo already held complete: nothing to write.
        _ => Ok(upload),
    };
    // The upload exists whatever became of its first chunk: say where it is.
    let mut response = match outcome {
        Ok(upload) => (StatusCode::CREATED, progress(&upload)).into_response(),
        Err(error) => ApiError(error).into_response(),
    };
    response
        .headers_mut()
        .insert(header::LOCATION, ascii_value(location));
    Ok(response)
}

/// HEAD: how far the upload is.
async fn status(
    DeviceAuth(device): DeviceAuth,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, HeaderMap)> {
    let id = parse_id(&id, "upload id")?;
    let upload = uploads::status(&state, device.id, id).await?;
    let mut headers = progress(&upload);
    headers.insert("upload-length", HeaderValue::from(upload.length));
    headers.insert("upload-metadata", ascii_value(upload.metadata.to_header()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((StatusCode::OK, headers))
}

/// PATCH: the next chunk.
async fn append(
    DeviceAuth(device): DeviceAuth,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<(StatusCode, HeaderMap)> {
    let id = parse_id(&id, "upload id")?;
    let offset = number(request.headers(), "Upload-Offset")?;
    let upload = uploads::receive_chunk(state, device.id, id, chunk(request, offset)?).await?;
    Ok((StatusCode::NO_CONTENT, progress(&upload)))
}

/// DELETE: termination.
async fn terminate(
    DeviceAuth(device): DeviceAuth,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "upload id")?;
    uploads::terminate(&state, device.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The chunk a request's body carries, which must be `application/offset+octet-stream`.
fn chunk(request: Request, offset: u64) -> Result<Chunk<axum::body::Body>> {
    let headers = request.headers();
    let media_type = header_text(headers, "Content-Type")?
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|t| t.eq_ignore_ascii_case(tus::CHUNK_CONTENT_TYPE)) {
        return Err(Error::UnsupportedContentType {
            expected: tus::CHUNK_CONTENT_TYPE,
        });
    }
    let declared_length = header_text(headers, "Content-Length")?
        .map(|v| tus::parse_number(v, "Content-Length"))
        .transpose()?;
    let checksum = header_text(headers, "Upload-Checksum")?
        .map(Checksum::parse)
        .transpose()?;
    Ok(Chunk {
        offset,
        declared_length,
        checksum,
        body: request.into_body(),
    })
}

/// `Upload-Offset`, and `Upload-Expires` while the upload is unfinished.
fn progress(upload: &Upload) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("upload-offset", HeaderValue::from(upload.offset));
    if upload.state == UploadState::Receiving {
        headers.insert(
            "upload-expires",
            ascii_value(tus::http_date(upload.expires_ms)),
        );
    }
    headers
}

/// A header's text; present but not visible ASCII counts as malformed.
fn header_text<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| Error::InvalidTusHeader { header: name })
        })
        .transpose()
}

/// A required decimal header (`Upload-Length`, `Upload-Offset`).
fn number(headers: &HeaderMap, name: &'static str) -> Result<u64> {
    let text = header_text(headers, name)?.ok_or(Error::InvalidTusHeader { header: name })?;
    tus::parse_number(text, name)
}

/// A value the bureau made from ASCII only (ids, dates, base64).
fn ascii_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("the bureau's own header values are visible ASCII")
}

//! Photo uploads over tus 1.0 (core, creation, creation-with-upload, checksum,
//! expiration): resumable at any byte, on any link.
//!
//! - The first chunk rides on the creating `POST`; the upload's `Location` is kept
//!   in the database at once, so a restarted app resumes the same upload.
//! - Whenever the bureau's offset is not known for sure (a new sync call, a cut
//!   connection, a timeout, a 409) a `HEAD` asks for it, and sending resumes
//!   there: what is re-sent after a cut is at most the chunk that was in flight.
//! - Every chunk carries `Upload-Checksum: sha256`; the bureau checks the SHA-256
//!   of the whole file (declared in `Upload-Metadata`) when the last byte is in.
//! - The chunk size adapts to the link (`chunk_size`) and is kept for next time.
//!
//! The same uploader sends one file to any tus 1.0 server ([`upload_file`]), which
//! is how it is checked against other implementations of the protocol.

use super::chunk_size::ChunkSize;
use super::client::{error_code, header, origin, refusal, BureauClient};
use super::report::{Progress, ProgressListener};
use super::transport::{HttpResponse, Transport};
use crate::error::{Error, Result};
use crate::store::{Store, UploadJob};
use crate::wire::tus::{self, PhotoRole};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Chunks refused for a bad checksum, offsets out of step (409), a busy upload
/// (423), or link timeouts, this many times in a row: not passing trouble; give
/// up for this call.
const MAX_RETRIES: u32 = 3;

/// How one file's upload ended in this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    /// Refused for good (the bureau's code, or `media_missing` when the file is gone).
    Refused(String),
    /// The deadline came first; the next call resumes.
    OutOfTime,
}

/// Where an upload's progress is kept as it goes: the device database in a sync
/// call, so that a restarted app resumes; the caller's [`TusFile`] for a single file.
pub(crate) trait UploadLog {
    /// The upload's address and confirmed offset changed.
    fn progress(&self, job: &UploadJob) -> Result<()>;
    /// Complete, or refused for good with the server's code.
    fn finished(&self, job: &UploadJob, refused: Option<&str>) -> Result<()>;
    /// The chunk size learnt from the link changed.
    fn chunk_size(&self, chunk: ChunkSize) -> Result<()>;
}

impl UploadLog for Store {
    fn progress(&self, job: &UploadJob) -> Result<()> {
        self.save_upload_progress(job)
    }

    fn finished(&self, job: &UploadJob, refused: Option<&str>) -> Result<()> {
        self.finish_upload(job, refused)
    }

    fn chunk_size(&self, chunk: ChunkSize) -> Result<()> {
        self.save_chunk_size(chunk.bytes, chunk.link_bytes_per_s)
    }
}

/// Uploads files for one sync call, adapting and keeping the chunk size.
pub(crate) struct Uploader<'a> {
    pub log: &'a dyn UploadLog,
    pub bureau: &'a BureauClient<'a>,
    /// Where uploads are created (`POST`): a path under the server's address or a URL.
    pub creation: &'a str,
    pub listener: Option<&'a dyn ProgressListener>,
    pub chunk: ChunkSize,
    /// Bytes the bureau confirmed in this call.
    pub bytes_uploaded: u64,
    /// When progress within a file was last written down (see `confirmed`).
    pub progress_saved: Option<Instant>,
    /// Whether the bureau confirmed bytes that are not written down yet.
    pub progress_unsaved: bool,
}

/// Progress within a file is written down at most this often. Resuming never
/// relies on it (the bureau's HEAD says where to go on), so on a fast link a
/// durable write per chunk would only cost time; the upload's address and its end
/// are always written at once.
const SAVE_PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What the bureau says about an upload it was asked about.
enum Status {
    At(u64),
    /// Expired or unknown there: start again with a new upload.
    Gone,
    Refused(String),
    /// Another request holds the upload (e.g. the bureau still finishing a chunk
    /// whose connection was cut).
    Busy,
}

impl Uploader<'_> {
    /// Sends `job`'s file until it is complete, refused or out of time. Network
    /// failures other than a timeout end the call (`Err`); the upload resumes later.
    pub fn upload(&mut self, mut job: UploadJob) -> Result<Outcome> {
        let outcome = self.send_file(&mut job);
        // Progress not yet written down is written now, however the call ended, so
        // the next call counts its bytes from where this one got to.
        if self.progress_unsaved {
            self.progress_unsaved = false;
            if !matches!(outcome, Ok(Outcome::Complete | Outcome::Refused(_))) {
                self.log.progress(&job)?;
            }
        }
        outcome
    }

    fn send_file(&mut self, job: &mut UploadJob) -> Result<Outcome> {
        // Whether job.confirmed is what the bureau holds right now.
        let mut offset_known = job.url.is_none();
        let (mut retries, mut timeouts) = (0, 0);
        // Create without data: after a creation with data got no answer.
        let mut bare_creation = false;
        loop {
            if !self.bureau.has_time() {
                return Ok(Outcome::OutOfTime);
            }
            if let (Some(url), false) = (job.url.clone(), offset_known) {
                match self.status(&url)? {
                    Status::At(offset) => {
                        self.confirmed(job, offset)?;
                        offset_known = true;
                    }
                    Status::Gone => {
                        job.url = None;
                        job.confirmed = 0;
                        self.log.progress(job)?;
                        offset_known = true;
                    }
                    Status::Refused(code) => return self.refused(job, code),
                    Status::Busy => {
                        retry(&mut retries, upload_locked)?;
                        continue;
                    }
                }
            }
            if job.url.is_some() && job.confirmed >= job.size {
                self.log.finished(job, None)?;
                return Ok(Outcome::Complete);
            }
            let length = self
                .chunk
                .for_window(self.bureau.time_left())
                .min(job.size - job.confirmed);
            let Some(bytes) = read_chunk(job, length)? else {
                // The file is gone from the device: nothing can ever send it, and
                // the records waiting for it must not wait forever.
                return self.refused(job, "media_missing".into());
            };
            let started = Instant::now();
            let sent = match &job.url {
                None if bare_creation => self.create(job, Vec::new()),
                None => self.create(job, bytes),
                Some(url) => self.append(url, job.confirmed, bytes),
            };
            let response = match sent {
                Ok(response) => response,
                Err(Error::Timeout) if !self.bureau.has_time() => return Ok(Outcome::OutOfTime),
                Err(e @ (Error::Timeout | Error::Offline { .. })) => {
                    // The chunk did not get through this link: smaller ones stand a
                    // better chance. After a timeout the link may still be there: ask
                    // where the bureau got to and go on; a cut connection ends the call.
                    self.chunk = self.chunk.after_lost_chunk();
                    self.log.chunk_size(self.chunk)?;
                    if let Error::Offline { .. } = e {
                        // A server may answer a creation from its headers alone (a
                        // photo it already holds, one too large) and close the
                        // connection under data still being sent: on a slow link
                        // the answer is lost with it, every time. Asking once
                        // more without data gets that answer, or the upload's
                        // address to send the chunk to.
                        if job.url.is_none() && !bare_creation {
                            bare_creation = true;
                            continue;
                        }
                        return Err(e);
                    }
                    offset_known = false;
                    retry(&mut timeouts, || Error::Timeout)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            timeouts = 0;
            match (response.status, error_code(&response).as_str()) {
                (200..=299, _) => {
                    let offset = upload_offset(&response)?;
                    let accepted = offset.saturating_sub(job.confirmed);
                    let before = self.chunk;
                    self.chunk = self.chunk.after_success(accepted, started.elapsed());
                    if self.chunk != before {
                        self.log.chunk_size(self.chunk)?;
                    }
                    self.confirmed(job, offset)?;
                    retries = 0;
                }
                // Not where the bureau is (409), or busy with the chunk of a cut
                // connection (423): ask again.
                (409 | 423, _) => {
                    offset_known = false;
                    retry(&mut retries, || refusal(&response))?;
                }
                (404 | 410, _) => {
                    job.url = None;
                    job.confirmed = 0;
                    self.log.progress(job)?;
                    offset_known = true;
                }
                (460, "checksum_mismatch") => {
                    // Damaged on the way; the bureau kept nothing of it.
                    offset_known = false;
                    retry(&mut retries, || refusal(&response))?;
                }
                (400 | 413 | 460, code) => return self.refused(job, code.to_owned()),
                _ => return Err(refusal(&response)),
            }
        }
    }

    /// `HEAD`: where the bureau's copy of the upload stands.
    fn status(&self, url: &str) -> Result<Status> {
        let headers = vec![header("Tus-Resumable", tus::VERSION)];
        let response = self.bureau.send("HEAD", url, headers, Vec::new())?;
        Ok(match response.status {
            200..=299 => Status::At(upload_offset(&response)?),
            404 | 410 => Status::Gone,
            423 => Status::Busy,
            // An answer to HEAD has no body, so no code: 460 is tus' checksum
            // status, here the bureau's refusal of the whole file's SHA-256.
            460 => Status::Refused("photo_hash_mismatch".into()),
            _ => return Err(refusal(&response)),
        })
    }

    /// `POST` with the first chunk (creation-with-upload), or without data when
    /// `chunk` is empty (creation). The upload's address is kept as soon as the
    /// bureau names it, even when the chunk itself failed.
    fn create(&self, job: &mut UploadJob, chunk: Vec<u8>) -> Result<HttpResponse> {
        let metadata = [
            ("photo_id", job.photo_id.as_str()),
            ("sha256", job.sha256.as_str()),
            ("mime", job.mime.as_str()),
            ("role", job.role.as_str()),
        ]
        .iter()
        .map(|(key, value)| format!("{key} {}", BASE64.encode(value)))
        .collect::<Vec<_>>()
        .join(",");
        let mut headers = if chunk.is_empty() {
            vec![header("Tus-Resumable", tus::VERSION)]
        } else {
            chunk_headers(&chunk)
        };
        headers.push(header("Upload-Length", &job.size.to_string()));
        headers.push(header("Upload-Metadata", &metadata));
        let response = self.bureau.send("POST", self.creation, headers, chunk)?;
        if let Some(location) = response.header("Location") {
            job.url = Some(location.to_owned());
            self.log.progress(job)?;
        }
        if response.status == 201 && job.url.is_none() {
            return Err(Error::BadResponse {
                reason: "upload created without a Location".into(),
            });
        }
        Ok(response)
    }

    /// `PATCH`: the next chunk, at the offset the bureau holds.
    fn append(&self, url: &str, offset: u64, chunk: Vec<u8>) -> Result<HttpResponse> {
        let mut headers = chunk_headers(&chunk);
        headers.push(header("Upload-Offset", &offset.to_string()));
        self.bureau.send("PATCH", url, headers, chunk)
    }

    /// Takes the bureau's offset as the new confirmed position.
    fn confirmed(&mut self, job: &mut UploadJob, offset: u64) -> Result<()> {
        if offset > job.size {
            return Err(Error::BadResponse {
                reason: "upload offset beyond the file".into(),
            });
        }
        self.bytes_uploaded += offset.saturating_sub(job.confirmed);
        job.confirmed = offset;
        // The end is written by `finished`, next.
        let saved_lately = self
            .progress_saved
            .is_some_and(|at| at.elapsed() < SAVE_PROGRESS_EVERY);
        if offset < job.size && !saved_lately {
            self.log.progress(job)?;
            self.progress_saved = Some(Instant::now());
            self.progress_unsaved = false;
        } else {
            self.progress_unsaved = true;
        }
        if let Some(listener) = self.listener {
            listener.on_progress(Progress::Uploading {
                photo_id: job.photo_id.clone(),
                role: job.role.as_str().into(),
                sent: offset,
                size: job.size,
            });
        }
        Ok(())
    }

    fn refused(&self, job: &UploadJob, code: String) -> Result<Outcome> {
        self.log.finished(job, Some(&code))?;
        Ok(Outcome::Refused(code))
    }
}

/// One file to send to a tus 1.0 server with [`upload_file`]. The upload's address
/// and the offset the server confirmed are kept here as it goes, so that after a
/// call that failed (a cut connection, a stalled link) the next call resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TusFile {
    pub path: PathBuf,
    /// Sent as the `photo_id` metadata.
    pub photo_id: String,
    /// Sent as the `mime` metadata.
    pub mime: String,
    pub size: u64,
    /// Hex SHA-256 of the whole file, sent as the `sha256` metadata.
    pub sha256: String,
    /// The upload's address (the server's `Location`); `None` until created.
    pub url: Option<String>,
    /// Bytes the server confirmed.
    pub offset: u64,
}

impl TusFile {
    /// Reads the file at `path` for its size and SHA-256.
    pub fn new(path: impl Into<PathBuf>, photo_id: &str, mime: &str) -> Result<Self> {
        let path = path.into();
        let bytes = std::fs::read(&path)?;
        Ok(Self {
            photo_id: photo_id.to_owned(),
            mime: mime.to_owned(),
            size: bytes.len() as u64,
            sha256: crate::hex::encode(&crate::evidence::sha256(&bytes)),
            url: None,
            offset: 0,
            path,
        })
    }
}

/// A [`TusFile`]'s progress, written back when the call ends.
struct FileLog(Mutex<(Option<String>, u64)>);

impl UploadLog for FileLog {
    fn progress(&self, job: &UploadJob) -> Result<()> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = (job.url.clone(), job.confirmed);
        Ok(())
    }

    fn finished(&self, job: &UploadJob, _refused: Option<&str>) -> Result<()> {
        self.progress(job)
    }

    fn chunk_size(&self, _chunk: ChunkSize) -> Result<()> {
        Ok(())
    }
}

/// Uploads one file to the tus 1.0 server whose creation URL is `endpoint` (e.g.
/// `http://127.0.0.1:1080/files`), with the uploader the sync engine uses for
/// photos: creation-with-upload, a SHA-256 `Upload-Checksum` on every chunk,
/// `HEAD` to resume, chunks adapting to the link. `token`, if any, goes in
/// `Authorization: Bearer`. Ends when the server holds the whole file
/// ([`Outcome::Complete`]), refused it for good ([`Outcome::Refused`] with the
/// server's code) or at `deadline` ([`Outcome::OutOfTime`]). A cut connection is
/// `Err` (`offline`), as are answers it cannot follow; `file.url` and
/// `file.offset` then say where a later call resumes.
pub fn upload_file(
    transport: &dyn Transport,
    endpoint: &str,
    token: Option<&str>,
    file: &mut TusFile,
    deadline: Instant,
) -> Result<Outcome> {
    let mut client = BureauClient::new(transport, origin(endpoint), deadline);
    if let Some(token) = token {
        client = client.with_token(token);
    }
    let log = FileLog(Mutex::new((file.url.clone(), file.offset)));
    let mut uploader = Uploader {
        log: &log,
        bureau: &client,
        creation: endpoint,
        listener: None,
        chunk: ChunkSize::default(),
        bytes_uploaded: 0,
        progress_saved: None,
        progress_unsaved: false,
    };
    let job = UploadJob {
        photo_id: file.photo_id.clone(),
        role: PhotoRole::Original,
        sha256: file.sha256.clone(),
        size: file.size,
        mime: file.mime.clone(),
        path: file.path.clone(),
        url: file.url.clone(),
        confirmed: file.offset,
    };
    let outcome = uploader.upload(job);
    (file.url, file.offset) = log.0.into_inner().unwrap_or_else(|e| e.into_inner());
    outcome
}

/// Counts one more failure of a kind that may pass; past the limit, `error`.
fn retry(count: &mut u32, error: impl FnOnce() -> Error) -> Result<()> {
    *count += 1;
    if *count >= MAX_RETRIES {
        return Err(error());
    }
    Ok(())
}

fn upload_locked() -> Error {
    Error::ServerError {
        status: 423,
        code: "upload_locked".into(),
        retry_after_ms: None,
    }
}

fn chunk_headers(chunk: &[u8]) -> Vec<super::transport::HttpHeader> {
    let digest = crate::evidence::sha256(chunk);
    vec![
        header("Tus-Resumable", tus::VERSION),
        header("Content-Type", tus::CHUNK_CONTENT_TYPE),
        header(
            "Upload-Checksum",
            &format!("sha256 {}", BASE64.encode(digest)),
        ),
    ]
}

fn upload_offset(response: &HttpResponse) -> Result<u64> {
    response
        .header("Upload-Offset")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::BadResponse {
            reason: "upload answer without Upload-Offset".into(),
        })
}

/// `length` bytes of the job's file from the confirmed offset; `None` when the
/// file is gone or shorter than its recorded size (cut after capture).
fn read_chunk(job: &UploadJob, length: u64) -> Result<Option<Vec<u8>>> {
    let mut file = match File::open(&job.path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    file.seek(SeekFrom::Start(job.confirmed))?;
    let mut bytes = Vec::with_capacity(length as usize);
    file.take(length).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 == length).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn relative_locations_resolve_against_the_endpoints_origin() {
        assert_eq!(
            origin("http://127.0.0.1:1080/files"),
            "http://127.0.0.1:1080"
        );
        assert_eq!(
            origin("https://gov.example/a/b/uploads"),
            "https://gov.example"
        );
        assert_eq!(origin("http://host:8080"), "http://host:8080");
    }
}

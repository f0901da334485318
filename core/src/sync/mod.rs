//! Sync with the bureau: what an officer records offline reaches the bureau when a
//! connection returns — exactly once, intact, resumably on 2G — and what the
//! bureau sends back (tasks, review decisions, reference data, receipts) reaches
//! the device.
//!
//! The core is passive: the platform calls [`SyncEngine::sync_once`] (WorkManager,
//! BGTaskScheduler, the app on foreground and after a capture). It does as much as
//! fits before its deadline, starts no thread and never sleeps, and returns a
//! [`SyncReport`]: what it did, what is left, when to call again.
//!
//! Order of work, chosen to start evidence custody as early as possible:
//!
//! 1. **Push** what may go now: submitted inspections and amendments, and the
//!    evidence records that wait for no photo (notes, track segments, records
//!    before the first photo not yet uploaded). The bureau logs each record and
//!    answers with a receipt: custody has started, before any large upload.
//! 2. **Pull** the feed: tasks and review decisions for the officer, reference
//!    data, receipts, and the newest checkpoint (it goes into the next evidence
//!    record). Small, so it fits even a short window. A task that arrived is
//!    reported received by a push right after.
//! 3. **Upload** photos, oldest capture first, since records go in chain order and
//!    a capture record waits for its photo. On a slow link the previews of all
//!    waiting photos go first, so the bureau sees every case early. An original
//!    completed is followed by a push of what it unblocked (its record, the records
//!    after it, its `photo.upload` op): at once on a slow link, and batched at most
//!    every two seconds on a fast one.
//!
//! Modules: [`transport`] (the HTTP trait) and [`http_transport`] (ureq),
//! `client` (requests within a call), `enrollment`, `push`, `pull`, `uploads`
//! (tus), `chunk_size`, [`backoff`], [`schedule`] (the next run, for the
//! platform's scheduler), `lease` (one call at a time per database,
//! across processes), [`interrupt`], [`report`]. What is kept in the database is
//! in `store::sync` and `store::received`.

pub mod backoff;
pub(crate) mod chunk_size;
mod client;
mod content_encoding;
mod enrollment;
pub mod http_transport;
pub mod interrupt;
mod lease;
mod log_view;
mod pull;
mod push;
pub mod report;
pub mod schedule;
pub mod tls_pin;
pub mod transport;
mod uploads;

pub use enrollment::EnrollOptions;
pub use http_transport::HttpTransport;
pub use interrupt::InterruptHandle;
pub use report::{ErrorClass, Progress, ProgressListener, SyncError, SyncReport, WorkLeft};
pub use schedule::{plan_next_sync, sync_timeout_ms, NextSync, SyncPlan};
pub use transport::{HttpHeader, HttpRequest, HttpResponse, Transport, TransportError};
pub use uploads::{upload_file, Outcome as UploadOutcome, TusFile};

use crate::error::{Error, ErrorKind, Result};
use crate::model::sync::Enrollment;
use crate::store::Store;
use crate::time::now_ms;
use chunk_size::ChunkSize;
use client::BureauClient;
use lease::Lease;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uploads::{Outcome, Uploader};

/// Enrollment is one request; this is all it may take.
const ENROLL_TIMEOUT: Duration = Duration::from_secs(60);
/// The lease outlives the call's deadline by this much: a request in flight at the
/// deadline may still be answered, and no other call may start sending meanwhile.
const LEASE_GRACE: Duration = Duration::from_secs(30);
/// Below this measured speed (bytes/s) previews go before originals: a 3 MB
/// original then takes more than 20 s, a 200 KB preview about one.
const SLOW_LINK_BYTES_PER_S: u64 = 128 * 1024;

/// Settings of one engine.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Talk to this address instead of the enrolled one (e.g. through a proxy).
    pub server_url: Option<String>,
    /// Below this link speed (bytes/s), previews are uploaded before originals.
    pub slow_link_bytes_per_s: u64,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            server_url: None,
            slow_link_bytes_per_s: SLOW_LINK_BYTES_PER_S,
        }
    }
}

/// Syncs one device database with the bureau it is enrolled with.
pub struct SyncEngine {
    store: Arc<Store>,
    transport: Arc<dyn Transport>,
    listener: Option<Arc<dyn ProgressListener>>,
    interrupt: InterruptHandle,
    options: SyncOptions,
}

impl SyncEngine {
    pub fn new(store: Arc<Store>, transport: Arc<dyn Transport>) -> Self {
        Self {
            store,
            transport,
            listener: None,
            interrupt: InterruptHandle::default(),
            options: SyncOptions::default(),
        }
    }

    pub fn with_options(mut self, options: SyncOptions) -> Self {
        self.options = options;
        self
    }

    pub fn with_listener(mut self, listener: Arc<dyn ProgressListener>) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Cancels the calls running when it is used (from any thread).
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// Enrolls this device with the bureau at `server_url` using a one-time code
    /// and stores the enrollment. `tls_pin` (`sha256/<base64>`, given with the
    /// code) pins the bureau's TLS key for this and every later call
    /// (`tls_pin_mismatch` otherwise); `None` is for a bureau on loopback or one
    /// with a certificate a CA vouches for. Refusals keep the bureau's codes
    /// (`unknown_enrollment_code`, `enrollment_code_used`, `enrollment_code_expired`,
    /// `key_already_enrolled`); no answer is `offline` or `timeout`.
    pub fn enroll(
        &self,
        server_url: &str,
        code: &str,
        tls_pin: Option<&str>,
    ) -> Result<Enrollment> {
        let options = EnrollOptions {
            tls_pin: tls_pin.map(str::to_owned),
            ..EnrollOptions::default()
        };
        self.enroll_with(server_url, code, &options)
    }

    /// [`Self::enroll`], with everything the enrollment may declare.
    pub fn enroll_with(
        &self,
        server_url: &str,
        code: &str,
        options: &EnrollOptions,
    ) -> Result<Enrollment> {
        let deadline = Instant::now() + ENROLL_TIMEOUT;
        let transport = &*self.transport;
        enrollment::enroll(&self.store, transport, server_url, code, options, deadline)
    }

    /// Does as much sync as fits before `deadline` (see the module docs for the
    /// order) and reports what is left. Failures of the link, the bureau or the
    /// token are in the report; `Err` is for the device's own storage, and for a
    /// device that is not enrolled.
    pub fn sync_once(&self, deadline: Instant) -> Result<SyncReport> {
        let credentials = self.store.credentials()?.ok_or(Error::NotEnrolled)?;
        let state = self.store.sync_state()?;
        if let Some(code) = state.auth_refused {
            // The bureau refused this token; asking again would be refused again.
            let refused = Error::AuthRefused {
                code: crate::wire::refusal::AUTH
                    .into_iter()
                    .find(|c| *c == code)
                    .unwrap_or(crate::wire::refusal::INVALID_TOKEN),
            };
            return self.report(SyncReport {
                last_error: Some(SyncError::from_error(&refused)),
                ..SyncReport::default()
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let lease_until = now_ms() + (left + LEASE_GRACE).as_millis() as i64;
        let lease = match Lease::take(&self.store, lease_until)? {
            Ok(lease) => lease,
            Err(busy_until_ms) => {
                return self.report(SyncReport {
                    last_error: Some(SyncError::from_error(&Error::SyncInProgress)),
                    next_attempt_ms: Some(busy_until_ms),
                    ..SyncReport::default()
                });
            }
        };
        let scope = self.interrupt.scope();
        let server_url = self
            .options
            .server_url
            .as_deref()
            .unwrap_or(&credentials.server_url);
        let bureau = BureauClient::new(&*self.transport, server_url, deadline)
            .pinned(credentials.tls_pin.as_deref())
            .for_sync(&credentials.token, &scope, &lease);
        let mut run = Run {
            store: &self.store,
            bureau: &bureau,
            bureau_key: &credentials.bureau_public_key,
            listener: self.listener.as_deref(),
            report: SyncReport::default(),
            uploader: Uploader {
                log: &*self.store,
                bureau: &bureau,
                creation: crate::wire::tus::UPLOADS_PATH,
                listener: self.listener.as_deref(),
                chunk: ChunkSize::new(state.chunk_bytes, state.link_bytes_per_s),
                bytes_uploaded: 0,
                progress_saved: None,
                progress_unsaved: false,
            },
            slow_link_bytes_per_s: self.options.slow_link_bytes_per_s,
        };
        let outcome = run.work();
        let mut report = run.report;
        report.bytes_uploaded = run.uploader.bytes_uploaded;
        let failure = match outcome {
            Ok(()) => None,
            // The deadline, not the link: what is left is for the next call.
            Err(Error::Timeout) if !bureau.has_time() => None,
            Err(Error::Cancelled) => {
                report.cancelled = true;
                let mut report = self.report(report)?;
                report.next_attempt_ms = report.work_left.any().then(now_ms);
                return Ok(report);
            }
            Err(e) if e.kind() == ErrorKind::Storage => return Err(e),
            Err(e) => Some(e),
        };
        report.last_error = failure.as_ref().map(SyncError::from_error);
        let mut report = self.report(report)?;
        report.next_attempt_ms = match &failure {
            // Asking again with a refused token would be refused again.
            Some(Error::AuthRefused { .. }) => None,
            Some(e) => Some(backoff::next_attempt_ms(
                now_ms(),
                state.failures + 1,
                retry_after(e),
            )),
            None => report.work_left.any().then(now_ms),
        };
        let auth_refused = match &failure {
            Some(Error::AuthRefused { code }) => Some(*code),
            _ => None,
        };
        self.store
            .save_sync_outcome(failure.is_some(), auth_refused)?;
        Ok(report)
    }

    /// Completes a report with the work left.
    fn report(&self, mut report: SyncReport) -> Result<SyncReport> {
        let (ops, uploads) = self.store.work_left()?;
        report.work_left = WorkLeft { ops, uploads };
        Ok(report)
    }
}

fn retry_after(error: &Error) -> Option<u64> {
    match error {
        Error::ServerError { retry_after_ms, .. } => *retry_after_ms,
        _ => None,
    }
}

/// On a fast link photos complete faster than a push per photo is worth: the
/// records they unblock then go in one push at most this often. On 2G each photo
/// takes longer than this, so each is still followed by its push at once.
const PUSH_EVERY: Duration = Duration::from_secs(2);

/// One sync call at work.
struct Run<'a> {
    store: &'a Store,
    bureau: &'a BureauClient<'a>,
    bureau_key: &'a [u8],
    listener: Option<&'a dyn ProgressListener>,
    report: SyncReport,
    uploader: Uploader<'a>,
    slow_link_bytes_per_s: u64,
}

impl Run<'_> {
    fn work(&mut self) -> Result<()> {
        self.push()?;
        self.pull()?;
        // What the pull brought may have queued ops of its own (that a task
        // was received): they go now, not at the next call.
        self.push()?;
        if self.uploader.chunk.is_slow(self.slow_link_bytes_per_s) {
            for preview in self.store.pending_previews(self.bureau.deadline())? {
                if self.uploader.upload(preview)? == Outcome::OutOfTime {
                    return Ok(());
                }
            }
        }
        // Each original complete (or refused for good) unblocks its record and the
        // chain after it. They go at once, unless the last push was under
        // PUSH_EVERY ago: then they wait for the next photo or the end.
        let mut last_push = Instant::now();
        let mut waiting = false;
        for original in self.store.pending_originals()? {
            if self.uploader.upload(original)? == Outcome::OutOfTime {
                break;
            }
            waiting = true;
            if last_push.elapsed() >= PUSH_EVERY {
                self.push()?;
                last_push = Instant::now();
                waiting = false;
            }
        }
        if waiting {
            self.push()?;
        }
        Ok(())
    }

    /// Pushes batches until nothing more may go (or time is up).
    fn push(&mut self) -> Result<()> {
        while self.bureau.has_time() {
            let pushed = push::push_batch(self.store, self.bureau, self.bureau_key)?;
            if pushed.answered == 0 {
                break;
            }
            self.report.ops_pushed += pushed.answered;
            self.report.receipts += pushed.receipts;
            self.progress(Progress::Pushed {
                ops: pushed.answered,
            });
        }
        Ok(())
    }

    /// Pulls pages until the feed is read to its end (or time is up).
    fn pull(&mut self) -> Result<()> {
        while self.bureau.has_time() {
            let page = pull::pull_page(self.store, self.bureau, self.bureau_key)?;
            self.report.records_pulled += page.applied;
            self.report.receipts += page.receipts;
            self.progress(Progress::Pulled {
                changes: page.applied,
            });
            if !page.has_more {
                break;
            }
        }
        Ok(())
    }

    fn progress(&self, progress: Progress) {
        if let Some(listener) = self.listener {
            listener.on_progress(progress);
        }
    }
}

//! The optional scheduled fetch: a configured URL serving a FIRMS CSV (the
//! FIRMS area API with its map key in the URL, or an intranet mirror of it)
//! is imported every `fires.fetch_every_min` minutes, each fetch bounded by
//! `fires.fetch_timeout_s`, by one bureau process of all those sharing the
//! database ([`crate::shared_schedule`]). A failed fetch is retried sooner,
//! backing off from one minute and doubling up to the period; re-importing a
//! file adds nothing twice, so a fetch that overlaps the last one is harmless.
//!
//! The URL is never logged: FIRMS puts its map key in it.

use super::spool::SpoolFile;
use crate::bureau::{blocking, Bureau};
use crate::error::{Error, Result};
use crate::{now_ms, shared_schedule};
use fieldproof_core::wire::fires::FireImport;
use std::sync::Arc;
use std::time::Duration;

/// The first wait after a failed fetch; it doubles up to the fetch period.
const FIRST_RETRY: Duration = Duration::from_secs(60);

/// Fetches `url` and imports what it serves, in one transaction.
pub fn fetch_once(bureau: &Bureau, url: &str) -> Result<FireImport> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(bureau.fires.fetch_timeout_s)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let failed = |reason: String| Error::FireFetch { reason };
    let response = agent
        .get(url)
        .call()
        .map_err(|e| failed(format!("no answer ({})", error_kind(&e))))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!(
            "the source answered HTTP {}",
            status.as_u16()
        )));
    }
    let limit = bureau.limits.max_reference_bytes;
    let mut body = response.into_body();
    let mut reader = body.with_config().limit(limit.saturating_add(1)).reader();
    let spooled = SpoolFile::copy_from(bureau, &mut reader, limit).map_err(|e| match e {
        Error::Io { .. } => failed("the answer broke off".into()),
        other => other,
    })?;
    spooled.import(bureau)
}

/// What went wrong with a request, without its URL.
fn error_kind(error: &ureq::Error) -> &'static str {
    match error {
        ureq::Error::Timeout(_) => "timed out",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed => "connection failed",
        ureq::Error::Io(_) => "connection broken",
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS failed",
        _ => "request failed",
    }
}

/// The job's name in the shared schedule.
const JOB: &str = "fire_fetch";

/// Fetches when due (at once on a new database), then every period, backing off
/// after failures, for as long as the task runs (the server aborts it at
/// shutdown). Between runs it sleeps until the job is next due, whichever
/// process claimed the last run.
pub async fn poll_periodically(bureau: Arc<Bureau>, url: String) {
    let period = Duration::from_secs(bureau.fires.fetch_every_min * 60);
    let mut retry = FIRST_RETRY;
    loop {
        let url = url.clone();
        match blocking(&bureau, move |b| run_if_due(b, &url, period, retry)).await {
            Ok(next_retry) => retry = next_retry,
            // The database did not answer: nothing was claimed; try again later.
            Err(e) => tracing::warn!(code = e.code(), "fire fetch schedule unavailable"),
        }
        let next = blocking(&bureau, |b| shared_schedule::next_run(&b.db, JOB)).await;
        let wait_ms = next
            .ok()
            .flatten()
            .map_or(FIRST_RETRY.as_millis() as i64, |next| next - now_ms());
        let wait = Duration::from_millis(wait_ms.max(1_000) as u64).min(period);
        tokio::time::sleep(wait).await;
    }
}

/// Claims the fetch if it is due and runs it; a failure brings the next run
/// forward by `retry`. Returns the wait after the next failure: doubled (up to
/// the period) after a failure, back to the first after a success.
fn run_if_due(bureau: &Bureau, url: &str, period: Duration, retry: Duration) -> Result<Duration> {
    let now = now_ms();
    let next = now + period.as_millis() as i64;
    if !shared_schedule::claim(&bureau.db, JOB, now, next)? {
        return Ok(retry);
    }
    match fetch_once(bureau, url) {
        Ok(import) => {
            tracing::info!(
                rows = import.rows,
                imported = import.imported,
                rejected = import.rejected_total,
                events_new = import.events_new,
                tasks_created = import.tasks_created,
                "fire fetch imported"
            );
            Ok(FIRST_RETRY)
        }
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "fire fetch failed");
            let wait = retry.min(period);
            shared_schedule::reschedule(&bureau.db, JOB, now_ms() + wait.as_millis() as i64)?;
            Ok((retry * 2).min(period))
        }
    }
}

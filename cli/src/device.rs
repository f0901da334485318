//! `fieldproof device`: a device's side of sync from a shell — enroll the device
//! database with a bureau, then sync it (push the outbox, pull the bureau's
//! changes, upload photos) within a deadline, printing the sync report; list the
//! tasks the bureau sent and decline one.

use crate::output::{self, Failure, Output};
use crate::progress::Progress;
use clap::{Args as ClapArgs, Subcommand};
use fieldproof_core::store::Store;
use fieldproof_core::sync::{
    EnrollOptions, ErrorClass, HttpTransport, SyncEngine, SyncOptions, SyncReport,
};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(ClapArgs)]
pub struct Args {
    /// Device database file (created if absent).
    #[arg(long)]
    db: PathBuf,
    /// Print one JSON object per line.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Enroll with a bureau using a one-time code; prints `server_url, device_id,
    /// officer_id, jurisdiction, role, token_expires_ms`.
    Enroll {
        /// The bureau's URL, e.g. https://bureau.example or http://127.0.0.1:8440.
        #[arg(long)]
        server: String,
        /// The one-time enrollment code the bureau issued.
        #[arg(long)]
        code: String,
        /// The bureau's TLS pin issued with the code (`sha256/…`): from then on
        /// the device talks only to a server holding that key.
        #[arg(long)]
        tls_pin: Option<String>,
        /// The device's fixes come from an external GNSS receiver through the
        /// mock provider: its mock-flagged fixes then count as proof of visit.
        #[arg(long)]
        external_gnss: bool,
    },
    /// Sync once: push, pull, upload photos until done or the deadline; prints the
    /// sync report (`ops_pushed, records_pulled, bytes_uploaded, receipts,
    /// work_left{ops, uploads}, next_attempt_ms, last_error{code, class, message},
    /// cancelled`).
    Sync {
        /// Talk to this URL instead of the enrolled one (e.g. through a proxy).
        #[arg(long)]
        server: Option<String>,
        /// Stop starting new work after this many seconds.
        #[arg(long, default_value_t = 60)]
        deadline_s: u64,
    },
    /// The tasks the bureau sent, newest first, one per line: `id, title,
    /// jurisdiction, due_ms, event, closed, progress{state, state_ms, reason,
    /// inspection_id}`.
    Tasks,
    /// Declines a task with the reason the dispatcher will read; the next sync
    /// reports it. Prints the task's progress.
    DeclineTask {
        /// The task's id.
        id: String,
        /// Why it cannot or will not be done (at most 500 characters).
        #[arg(long)]
        reason: String,
    },
}

pub fn run(args: Args) -> ExitCode {
    let out = Output::new(args.json);
    let store = match Store::open(&args.db) {
        Ok(store) => Arc::new(store),
        Err(err) => return output::fail(&err, out.json),
    };
    let engine = SyncEngine::new(store.clone(), Arc::new(HttpTransport::new()));
    match args.command {
        Command::Enroll {
            server,
            code,
            tls_pin,
            external_gnss,
        } => match engine.enroll_with(
            &server,
            &code,
            &EnrollOptions {
                tls_pin,
                external_gnss,
                ..EnrollOptions::default()
            },
        ) {
            Ok(e) => {
                let line = json!({
                    "server_url": e.server_url, "device_id": e.device_id,
                    "officer_id": e.officer_id, "jurisdiction": e.jurisdiction,
                    "role": e.role, "token_expires_ms": e.token_expires_ms,
                    "tls_pin": e.tls_pin,
                });
                out.print(&line, || {
                    format!(
                        "enrolled as device {} of officer {} ({}, {}) with {}",
                        e.device_id, e.officer_id, e.role, e.jurisdiction, e.server_url
                    )
                });
                ExitCode::SUCCESS
            }
            Err(err) => output::fail(&err, out.json),
        },
        Command::Sync { server, deadline_s } => {
            let mut engine = engine.with_options(SyncOptions {
                server_url: server,
                ..SyncOptions::default()
            });
            let progress = Progress::new(&out, None, "of the current photo");
            if let Some(listener) = progress.sync_listener() {
                engine = engine.with_listener(Arc::new(listener));
            }
            let synced = engine.sync_once(Instant::now() + Duration::from_secs(deadline_s));
            progress.finish("sync ended".into());
            match synced {
                Ok(report) => print_report(&out, &report),
                Err(err) => output::fail(&err, out.json),
            }
        }
        Command::Tasks => match list_tasks(&out, &store) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => output::fail(&err, out.json),
        },
        Command::DeclineTask { id, reason } => match store.decline_task(&id, &reason) {
            Ok(progress) => {
                out.print(&progress, || format!("task {id} declined"));
                ExitCode::SUCCESS
            }
            Err(err) => output::fail(&err, out.json),
        },
    }
}

fn list_tasks(out: &Output, store: &Store) -> fieldproof_core::Result<()> {
    for task in store.tasks()? {
        let progress = store.task_progress(&task.id)?;
        let mut line = serde_json::to_value(&task).expect("a task serializes");
        line["progress"] = json!(progress);
        out.print(&line, || {
            let state = progress.as_ref().map_or("received", |p| p.state.code());
            let closed = if task.closed.is_some() {
                ", closed"
            } else {
                ""
            };
            format!(
                "{}  {}  [{state}{closed}]  {}",
                task.id, task.jurisdiction, task.title
            )
        });
    }
    Ok(())
}

/// Prints the report; a sync that stopped on an error then fails with it, as
/// every command does (exit 7 for the link or the bureau, 5 for a refused token
/// or another sync running).
fn print_report(out: &Output, report: &SyncReport) -> ExitCode {
    out.print(report, || {
        let left = report.work_left;
        format!(
            "pushed {} ops, pulled {} changes, uploaded {} bytes, kept {} receipts; \
             left: {} ops, {} uploads{}",
            report.ops_pushed,
            report.records_pulled,
            report.bytes_uploaded,
            report.receipts,
            left.ops,
            left.uploads,
            report
                .next_attempt_ms
                .map_or(String::new(), |ms| format!("; next attempt at {ms} ms"))
        )
    });
    let Some(error) = &report.last_error else {
        return ExitCode::SUCCESS;
    };
    let exit = match error.class {
        ErrorClass::Offline | ErrorClass::Server => 7,
        ErrorClass::Auth | ErrorClass::Local => 5,
        // Not a failure to retry away: the bureau's log contradicts this device's.
        ErrorClass::Custody => 8,
    };
    Failure::new(&error.code, error.message.clone(), exit).report(out)
}

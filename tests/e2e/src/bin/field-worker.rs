//! The app in the crash test (`tests/sync_crash.rs`): opens a device database
//! that is already enrolled and does what an officer's phone does, in a loop —
//! sync, record an inspection, take a photo, submit, sync again — until it has
//! done `--cycles` rounds or is killed, which the test does with SIGKILL at a
//! random moment.
//!
//! It prints the phase it enters on stdout, flushed, so that the test can tell
//! where each kill landed: `open`, `capture`, `submit` (local work), `sync` (the
//! engine's own work between requests), and `push`, `pull`, `upload` while such
//! a request is on the wire.
//!
//! ```text
//! field-worker --db PATH --server URL --photo PATH [--photo PATH…] [--cycles N] [--first N]
//! ```
//! `--first` picks which of the photos the first round takes (rounds go on
//! through the list from there).

use fieldproof_core::store::Store;
use fieldproof_core::sync::{
    HttpRequest, HttpResponse, HttpTransport, SyncEngine, SyncOptions, Transport, TransportError,
};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    db: PathBuf,
    server: String,
    photos: Vec<PathBuf>,
    cycles: usize,
    first: usize,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        db: PathBuf::new(),
        server: String::new(),
        photos: Vec::new(),
        cycles: 20,
        first: 0,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--db" => args.db = value.into(),
            "--server" => args.server = value,
            "--photo" => args.photos.push(value.into()),
            "--cycles" => args.cycles = value.parse().map_err(|_| "--cycles: a number")?,
            "--first" => args.first = value.parse().map_err(|_| "--first: a number")?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.db.as_os_str().is_empty() || args.server.is_empty() || args.photos.is_empty() {
        return Err("--db, --server and --photo are required".into());
    }
    Ok(args)
}

fn phase(name: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "phase {name}");
    let _ = out.flush();
}

/// The built-in transport, saying which kind of request is on the wire.
struct Phases(HttpTransport);

impl Transport for Phases {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let kind = if request.url.contains("/v1/sync/push") {
            "push"
        } else if request.url.contains("/v1/sync/pull") {
            "pull"
        } else {
            "upload"
        };
        phase(kind);
        let answer = self.0.send(request);
        phase("sync");
        answer
    }
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("field-worker: {e}");
            return ExitCode::from(2);
        }
    };
    phase("open");
    let store = Arc::new(Store::open(&args.db).expect("the device database opens"));
    let engine = SyncEngine::new(store.clone(), Arc::new(Phases(HttpTransport::new())))
        .with_options(SyncOptions {
            server_url: Some(args.server.clone()),
            ..SyncOptions::default()
        });
    for round in 0..args.cycles {
        phase("sync");
        engine
            .sync_once(Instant::now() + Duration::from_secs(10))
            .expect("sync runs");
        phase("capture");
        let inspection = fieldproof_e2e::record_inspection(&store, "430121101", "crash test field");
        let photo = &args.photos[(args.first + round) % args.photos.len()];
        fieldproof_e2e::capture(&store, &inspection, photo);
        phase("submit");
        store.submit(&inspection).expect("submit");
    }
    phase("sync");
    engine
        .sync_once(Instant::now() + Duration::from_secs(10))
        .expect("sync runs");
    phase("done");
    ExitCode::SUCCESS
}

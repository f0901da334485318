//! `fieldproof evidence`: take photos into evidence and verify the device chain.

use crate::inspections::DbArgs;
use crate::output::{self, Output};
use crate::progress::Progress;
use clap::{Subcommand, ValueEnum};
use fieldproof_core::model::photo::{CaptureContext, CaptureSource, Derivative, Photo};
use fieldproof_core::store::PhotoSource;
use fieldproof_core::Result;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum Command {
    /// Take photo files into evidence (copy, hash, EXIF, thumbnail, signed
    /// record); one line per file, or its error code. Exits non-zero if any failed.
    Ingest {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        inspection: Option<String>,
        #[arg(long, value_enum, default_value = "import")]
        source: Source,
        #[arg(long, env = "FIELDPROOF_OFFICER")]
        officer: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Make pending 1280 px previews (what the app does in the background).
    Previews {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, default_value_t = 60_000)]
        budget_ms: u64,
    },
    /// Check the whole device chain and every stored photo; one line per failure,
    /// then a summary. Exits non-zero if anything failed.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Source {
    Camera,
    Import,
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Ingest { db, .. } | Command::Previews { db, .. } | Command::Verify { db } => {
                db.json
            }
        }
    }
}

/// The capture context of evidence the CLI takes: this machine's clock since boot.
pub fn cli_context(
    source: CaptureSource,
    inspection_id: Option<String>,
    officer_id: Option<String>,
) -> CaptureContext {
    let (monotonic_ms, boot_id) = device_clock();
    CaptureContext {
        source,
        inspection_id,
        task_id: None,
        officer_id,
        monotonic_ms,
        boot_id,
        app_version: concat!("fieldproof-cli/", env!("CARGO_PKG_VERSION")).into(),
    }
}

pub fn run(command: Command, out: &Output) -> Result<ExitCode> {
    match command {
        Command::Ingest {
            db,
            inspection,
            source,
            officer,
            files,
        } => {
            let store = db.open()?;
            let source = match source {
                Source::Camera => CaptureSource::Camera,
                Source::Import => CaptureSource::Import,
            };
            let context = cli_context(source, inspection, officer);
            let mut failed = 0;
            let progress = Progress::new(out, Some(files.len() as u64), "photos");
            for file in files {
                let name = file.display().to_string();
                let taken = store.capture_photo(PhotoSource::Path(file), None, context.clone());
                progress.suspend(|| match taken {
                    Ok(photo) => print_photo(out, &name, &photo),
                    Err(err) => {
                        failed += 1;
                        let line = json!({ "file": name, "error": { "code": err.code(), "message": err.to_string() } });
                        out.print(&line, || format!("{name}: error[{}] {err}", err.code()));
                    }
                });
                progress.advance(1);
            }
            progress.finish(format!("taken into evidence, {failed} refused"));
            let failed = failed > 0;
            Ok(if failed {
                ExitCode::from(output::exit_status(
                    fieldproof_core::ErrorKind::InvalidInput,
                ))
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Previews { db, budget_ms } => {
            let report = db
                .open()?
                .prepare_previews(std::time::Duration::from_millis(budget_ms))?;
            out.print(&report, || {
                format!(
                    "made {} unavailable {} remaining {}",
                    report.made, report.unavailable, report.remaining
                )
            });
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { db } => {
            let report = db.open()?.verify_evidence()?;
            for failure in &report.failures {
                out.print(failure, || {
                    format!("FAIL {}: {}", failure.code, failure.detail)
                });
            }
            let summary = json!({
                "records": report.records,
                "photos": report.photos,
                "failures": report.failures.len(),
                "intact": report.is_intact(),
            });
            out.print(&summary, || {
                format!(
                    "{} records, {} photos, {} failures",
                    report.records,
                    report.photos,
                    report.failures.len()
                )
            });
            Ok(if report.is_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn print_photo(out: &Output, file: &str, photo: &Photo) {
    let line = json!({
        "file": file,
        "photo_id": photo.id,
        "sha256": photo.sha256,
        "size": photo.size,
        "mime": photo.mime,
        "width": photo.width,
        "height": photo.height,
        "gps": photo.exif_position,
        "orientation": photo.orientation,
        "taken_at": photo.taken_at,
        "thumbnail": match photo.thumbnail { Derivative::Ok => "ok", _ => "unavailable" },
        "seq": photo.record_seq,
        "warnings": photo.warnings,
    });
    out.print(&line, || {
        format!(
            "{file}: seq {} {} thumbnail={}",
            photo.record_seq,
            photo.sha256,
            photo.thumbnail.code()
        )
    });
}

/// The machine's boot id and milliseconds since boot, as a phone's
/// `elapsedRealtime` would give them; unknown off Linux.
fn device_clock() -> (Option<u64>, Option<String>) {
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned());
    let uptime = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|secs| secs.parse::<f64>().ok())
        })
        .map(|secs| (secs * 1000.0) as u64);
    (uptime, boot_id)
}

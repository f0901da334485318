//! `fieldproof track`: import GPX recordings through the recorder, export tracks.

use crate::inspections::DbArgs;
use crate::output::Output;
use clap::{Subcommand, ValueEnum};
use fieldproof_core::model::track::Track;
use fieldproof_core::Result;
use serde_json::json;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Command {
    /// Replay a GPX file through the track recorder into a new, stopped track;
    /// prints the track id, statistics and one count per filter.
    Import {
        #[command(flatten)]
        db: DbArgs,
        file: PathBuf,
        #[arg(long, env = "FIELDPROOF_OFFICER", default_value = "unassigned")]
        officer: String,
    },
    /// Print a track's statistics.
    Show {
        #[command(flatten)]
        db: DbArgs,
        id: String,
    },
    /// Write a track as GPX 1.1 or GeoJSON (RFC 7946) to stdout.
    Export {
        #[arg(long)]
        db: PathBuf,
        id: String,
        #[arg(long, value_enum)]
        format: Format,
        /// Simplify for map display (Ramer–Douglas–Peucker, metres); the stored
        /// track is never changed.
        #[arg(long)]
        simplify_m: Option<f64>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Gpx,
    Geojson,
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Import { db, .. } | Command::Show { db, .. } => db.json,
            Command::Export { .. } => false,
        }
    }
}

pub fn run(command: Command, out: &Output) -> Result<()> {
    match command {
        Command::Import { db, file, officer } => {
            let bytes = std::fs::read(&file)?;
            let track = db.open()?.import_gpx(&bytes, &officer)?;
            print_track(out, &track);
        }
        Command::Show { db, id } => print_track(out, &db.open()?.get_track(&id)?),
        Command::Export {
            db,
            id,
            format,
            simplify_m,
        } => {
            let store = fieldproof_core::store::Store::open(&db)?;
            let text = match format {
                Format::Gpx => store.export_track_gpx(&id, simplify_m)?,
                Format::Geojson => store.export_track_geojson(&id, simplify_m)?,
            };
            print!("{text}");
        }
    }
    Ok(())
}

/// The track flattened for scripts: id, statistics and filter counts at the top level.
fn print_track(out: &Output, track: &Track) {
    let s = &track.stats;
    let line = json!({
        "id": track.id,
        "recording": track.stopped_at_ms.is_none(),
        "segments": s.segments,
        "accepted": s.accepted,
        "mock": s.mock,
        "invalid": s.invalid,
        "low_accuracy": s.low_accuracy,
        "speed_jump": s.speed_jump,
        "too_close": s.too_close,
        "too_frequent": s.too_frequent,
        "duplicate_time": s.duplicate_time,
        "out_of_order": s.out_of_order,
        "length_m": s.length_m,
        "duration_ms": s.duration_ms,
        "moving_ms": s.moving_ms,
        "max_speed_mps": s.max_speed_mps,
        "first_fix_ms": s.first_fix_ms,
        "last_fix_ms": s.last_fix_ms,
        "bbox": s.bbox,
    });
    out.print(&line, || {
        format!(
            "{} segments={} accepted={} length={:.0} m duration={} s rejected: invalid={} low_accuracy={} speed_jump={} too_close={} too_frequent={} duplicate_time={} out_of_order={} mock={}",
            track.id,
            s.segments,
            s.accepted,
            s.length_m,
            s.duration_ms / 1000,
            s.invalid,
            s.low_accuracy,
            s.speed_jump,
            s.too_close,
            s.too_frequent,
            s.duplicate_time,
            s.out_of_order,
            s.mock
        )
    });
}

//! Satellite fire points: FIRMS files in, the reference data their filters
//! use (static heat sources, key zones), and the figures a county is judged on.

use super::client::Client;
use super::Result;
use crate::output::{Failure, Output};
use crate::progress::Progress;
use clap::Subcommand;
use fieldproof_core::wire::fires::{FireFigures, FireImport, FireStats, ReferenceLoad};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum FireCommand {
    /// Import a NASA FIRMS CSV file (MODIS or VIIRS, as published); prints
    /// `rows, imported, duplicates, rejected [{line, code}], events_new,
    /// events_updated, tasks_created` and the rest of the answer.
    Import { file: PathBuf },
    /// The figures of the fire events first detected in a period (default:
    /// the last 30 days), per county and township, and the overdue events.
    Stats {
        /// Events within this jurisdiction (codes starting with it).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Start of the period, UTC milliseconds.
        #[arg(long)]
        from: Option<i64>,
        /// End of the period (excluded), UTC milliseconds.
        #[arg(long)]
        to: Option<i64>,
    },
    /// Load static heat sources (`{"sources": [{id, name, lat, lon,
    /// radius_m}]}`): detections within one are filtered as `static_source`.
    StaticSources {
        file: PathBuf,
        /// Datum of the file's positions: wgs84, gcj02 or bd09. Required.
        #[arg(long)]
        datum: String,
    },
    /// Load key zones (a GeoJSON FeatureCollection of polygons with `code`,
    /// `name` and optionally `due_hours`, `active_from_ms`, `active_until_ms`).
    KeyZones {
        file: PathBuf,
        /// Datum of the file's positions: wgs84, gcj02 or bd09. Required.
        #[arg(long)]
        datum: String,
    },
}

pub fn fires(command: FireCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        FireCommand::Import { file } => {
            let len = std::fs::metadata(&file)
                .map_err(|e| Failure::unreadable("io_error", &file, &e))?
                .len();
            let progress = Progress::new(out, Some(len), "bytes");
            let import: FireImport =
                client.post_file("/v1/admin/fires", "text/csv", &file, &progress)?;
            progress.suspend(|| out.print(&import, || import_lines(&import)));
        }
        FireCommand::Stats {
            jurisdiction,
            from,
            to,
        } => {
            let query = [
                ("jurisdiction", jurisdiction),
                ("from", from.map(|f| f.to_string())),
                ("to", to.map(|t| t.to_string())),
            ];
            let stats: FireStats = client.get("/v1/admin/fires/stats", &query)?;
            out.print(&stats, || stats_lines(&stats));
        }
        FireCommand::StaticSources { file, datum } => {
            load(client, out, "/v1/admin/fires/static-sources", &file, datum)?;
        }
        FireCommand::KeyZones { file, datum } => {
            load(client, out, "/v1/admin/fires/key-zones", &file, datum)?;
        }
    }
    Ok(())
}

fn load(client: &Client, out: &Output, path: &str, file: &PathBuf, datum: String) -> Result<()> {
    let bytes = std::fs::read(file).map_err(|e| Failure::unreadable("io_error", file, &e))?;
    let load: ReferenceLoad = client.send("POST", path, &[("datum", Some(datum))], Some(bytes))?;
    out.print(&load, || {
        format!(
            "{}: {} loaded, {} unchanged",
            file.display(),
            load.loaded,
            load.unchanged
        )
    });
    Ok(())
}

fn import_lines(import: &FireImport) -> String {
    let product = import.product.map_or("?", |p| p.code());
    let mut lines = vec![format!(
        "{product}: {} rows, {} imported, {} duplicates, {} rejected; {} outside, {} filtered; \
         {} new events, {} updated, {} tasks created",
        import.rows,
        import.imported,
        import.duplicates,
        import.rejected_total,
        import.outside,
        import.filtered,
        import.events_new,
        import.events_updated,
        import.tasks_created
    )];
    lines.extend(
        import
            .rejected
            .iter()
            .map(|r| format!("  line {}: {}", r.line, r.code)),
    );
    lines.join("\n")
}

fn stats_lines(stats: &FireStats) -> String {
    let mut lines = vec![format!("total  {}", figures(&stats.total))];
    for area in stats.counties.iter().chain(&stats.townships) {
        let name = area.name.as_deref().unwrap_or("");
        lines.push(format!("{} {name}  {}", area.code, figures(&area.figures)));
    }
    for e in &stats.overdue_events {
        lines.push(format!(
            "overdue  {}  {}  task {} ({}), due {}",
            e.event_id,
            e.jurisdiction,
            e.task_id,
            e.state.code(),
            fieldproof_core::time::utc_text(e.due_ms)
        ));
    }
    lines.join("\n")
}

fn figures(f: &FireFigures) -> String {
    let hours = |ms: Option<i64>| ms.map_or("-".into(), |ms| format!("{:.1} h", ms as f64 / 3.6e6));
    let ratio = |r: Option<f64>| r.map_or("-".into(), |r| format!("{:.0}%", r * 100.0));
    format!(
        "events {}, dispatched {}, visited in time {}, overdue {}, closed {}; \
         to visit median {} p90 {}; confirmed {}, static sources {}",
        f.events,
        f.dispatched,
        f.visited_in_time,
        f.overdue,
        f.closed,
        hours(f.median_to_visit_ms),
        hours(f.p90_to_visit_ms),
        ratio(f.confirmed_ratio),
        ratio(f.static_source_ratio)
    )
}

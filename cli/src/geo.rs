//! `fieldproof geo`: datum conversion and jurisdiction lookup from a shell.

use crate::output::Output;
use clap::Subcommand;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::jurisdiction::JurisdictionIndex;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::Result;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum Command {
    /// Convert a point between WGS-84, GCJ-02 and BD-09; prints `lat`, `lon`.
    Convert {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        #[arg(long)]
        json: bool,
    },
    /// Find the jurisdiction containing a point; prints `code`, `name`, `inside`,
    /// `distance_m` (to that jurisdiction's boundary; all null when none contains it).
    Locate {
        /// GeoJSON FeatureCollection file, or a directory of them; repeatable.
        #[arg(long, required = true)]
        boundaries: Vec<PathBuf>,
        /// Datum of the boundary files.
        #[arg(long, default_value = "gcj02")]
        datum: String,
        /// Datum of LAT/LON (defaults to the boundaries' datum).
        #[arg(long)]
        point_datum: Option<String>,
        /// Instead of searching, say where the point lies relative to this jurisdiction.
        #[arg(long)]
        jurisdiction: Option<String>,
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Convert { json, .. } | Command::Locate { json, .. } => *json,
        }
    }
}

pub fn run(command: Command, out: &Output) -> Result<()> {
    match command {
        Command::Convert {
            from, to, lat, lon, ..
        } => {
            let datum = Datum::parse(&from)?;
            let p = GeoPoint { lat, lon, datum }.to_datum(Datum::parse(&to)?)?;
            out.print(&json!({ "lat": p.lat, "lon": p.lon }), || {
                format!("{} {}", p.lat, p.lon)
            });
        }
        Command::Locate {
            boundaries,
            datum,
            point_datum,
            jurisdiction,
            lat,
            lon,
            ..
        } => {
            let datum = Datum::parse(&datum)?;
            let point_datum = point_datum
                .as_deref()
                .map(Datum::parse)
                .transpose()?
                .unwrap_or(datum);
            let mut index = JurisdictionIndex::new();
            for path in &boundaries {
                load(&mut index, path, datum)?;
            }
            let p = GeoPoint {
                lat,
                lon,
                datum: point_datum,
            }
            .to_wgs84()?;
            let placement = match jurisdiction {
                Some(code) => Some(index.placement(&code, p)?),
                None => index.locate(p),
            };
            let line = match &placement {
                Some(pl) => {
                    json!({ "code": pl.code, "name": pl.name, "inside": pl.inside, "distance_m": pl.distance_m })
                }
                None => json!({ "code": null, "name": null, "inside": false, "distance_m": null }),
            };
            out.print(&line, || match &placement {
                Some(pl) => format!(
                    "{} {} {} {:.0} m from the boundary",
                    pl.code,
                    pl.name,
                    if pl.inside { "inside" } else { "outside" },
                    pl.distance_m
                ),
                None => "no loaded jurisdiction contains this point".into(),
            });
        }
    }
    Ok(())
}

fn load(index: &mut JurisdictionIndex, path: &Path, datum: Datum) -> Result<()> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        files.retain(|f| f.extension().is_some_and(|e| e == "json" || e == "geojson"));
        files.sort();
        for file in files {
            index.load_geojson(&std::fs::read(file)?, datum)?;
        }
    } else {
        index.load_geojson(&std::fs::read(path)?, datum)?;
    }
    Ok(())
}

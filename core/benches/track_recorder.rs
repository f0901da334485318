//! Track recording benchmark: a 10-hour patrol at 1 Hz (36,000 fixes) appended one
//! call per fix, each committed (WAL, synchronous=FULL), against a raw rusqlite
//! single-row insert per fix in the same run; then GPX export and simplification
//! of the recorded track.
//!
//!     cargo bench -p fieldproof-core --bench track_recorder [-- N]
//!
//! Prints per-fix p50/p99 and ratios; asserts nothing about time.

use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::store::{NewTrack, Store};
use rusqlite::{params, Connection};
use std::time::{Duration, Instant};

const T0: i64 = 1_790_000_000_000;

/// A walk that meanders north-east at ~1.4 m/s, one fix a second.
fn fix(i: usize) -> Fix {
    let t = i as f64;
    Fix {
        lat: 28.2 + t * 1.0e-5 + (t / 60.0).sin() * 2.0e-4,
        lon: 113.1 + t * 0.8e-5,
        datum: Datum::Wgs84,
        accuracy_m: Some(4.0 + (i % 7) as f64),
        altitude_m: Some(45.0),
        speed_mps: Some(1.4),
        bearing_deg: Some(45.0),
        time_ms: T0 + i as i64 * 1_000,
        provider: "gps".into(),
        mock: false,
    }
}

fn percentile_us(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(36_000usize);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("api.db")).unwrap();
    let track = store
        .start_track(NewTrack {
            officer_id: "officer-17".into(),
            ..NewTrack::default()
        })
        .unwrap();

    let raw = Connection::open(dir.path().join("raw.db")).unwrap();
    raw.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    raw.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE fixes (track_id TEXT NOT NULL, seq INTEGER NOT NULL, time_ms INTEGER NOT NULL,
             lat_e7 INTEGER NOT NULL, lon_e7 INTEGER NOT NULL, accuracy_m REAL, altitude_m REAL,
             speed_mps REAL, bearing_deg REAL, provider TEXT NOT NULL, mock INTEGER NOT NULL,
             PRIMARY KEY (track_id, seq)) WITHOUT ROWID;",
    )
    .unwrap();

    let (mut api, mut baseline) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let f = fix(i);
        let t = Instant::now();
        raw.prepare_cached(
            "INSERT INTO fixes VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .unwrap()
        .execute(params![
            track.id,
            i as i64,
            f.time_ms,
            (f.lat * 1e7).round() as i64,
            (f.lon * 1e7).round() as i64,
            f.accuracy_m,
            f.altitude_m,
            f.speed_mps,
            f.bearing_deg,
            f.provider,
            f.mock
        ])
        .unwrap();
        baseline.push(t.elapsed());
        let t = Instant::now();
        store.append_fix(&track.id, f).unwrap();
        api.push(t.elapsed());
    }
    let stats = store.stop_track(&track.id).unwrap().stats;
    let total = |s: &[Duration]| s.iter().sum::<Duration>();
    let ratio = total(&api).as_secs_f64() / total(&baseline).as_secs_f64();
    println!("append {n} fixes, one committed call each (synchronous=FULL)");
    println!(
        "  api  append_fix  p50 {:>7.1} us  p99 {:>7.1} us  total {:.2?}",
        percentile_us(&mut api.clone(), 0.5),
        percentile_us(&mut api.clone(), 0.99),
        total(&api)
    );
    println!(
        "  raw  insert      p50 {:>7.1} us  p99 {:>7.1} us  total {:.2?}",
        percentile_us(&mut baseline.clone(), 0.5),
        percentile_us(&mut baseline.clone(), 0.99),
        total(&baseline)
    );
    println!("  ratio api/raw (total): {ratio:.2} (goal <= 1.5; p99 goal <= 2000 us)");
    println!(
        "  track: accepted {} segments {} length {:.0} m",
        stats.accepted, stats.segments, stats.length_m
    );

    let t = Instant::now();
    let gpx = store.export_track_gpx(&track.id, None).unwrap();
    let export = t.elapsed();
    let t = Instant::now();
    let simplified = store.export_track_geojson(&track.id, Some(5.0)).unwrap();
    let simplify = t.elapsed();
    println!(
        "  GPX export {:.1} ms ({} bytes); simplified (5 m) GeoJSON {:.1} ms ({} bytes) (goal <= 50 ms each)",
        export.as_secs_f64() * 1e3,
        gpx.len(),
        simplify.as_secs_f64() * 1e3,
        simplified.len()
    );
}

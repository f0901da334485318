//! Geofence and track export benchmark.
//!
//!     cargo bench -p fieldproof-core --bench geofence [-- LOOKUPS]
//!
//! Jurisdiction lookup per point, the R-tree index against brute force (every
//! polygon tested) in the same run, over
//! * the 122 Hunan counties of the shared corpus (GCJ-02, converted at load),
//! * 2,000 synthetic townships: irregular 32–60-vertex polygons tiling an
//!   area the size of Hunan (Hunan has ~1,940 townships; no public township
//!   polygons exist, see boundaries/SOURCES.md),
//!
//! with LOOKUPS random points (default 20,000) in the bounding box; the goal
//! is ≤ 20 µs per lookup. Then `simplify` and GPX writing of a 36,000-point
//! (10 h at 1 Hz) synthetic patrol; the goal is ≤ 50 ms each. Prints figures
//! and ratios; asserts nothing about time (only that the R-tree and brute
//! force agree). Needs the corpus (`FIELDPROOF_CORPUS` or
//! `../shared/corpus`).

use fieldproof_core::geo::bounding_box::BoundingBox;
use fieldproof_core::geo::datum::{Datum, LatLon};
use fieldproof_core::geo::gpx::{write_gpx, GpxPoint};
use fieldproof_core::geo::jurisdiction::{JurisdictionIndex, Placement};
use fieldproof_core::geo::simplify::simplify;
use serde_json::json;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const LOOKUP_GOAL_US: f64 = 20.0;
const TRACK_GOAL_MS: f64 = 50.0;
const PATROL_POINTS: usize = 36_000;
const SIMPLIFY_TOLERANCE_M: f64 = 5.0;
/// Runs of the track benchmarks; the median is reported.
const TRACK_RUNS: usize = 7;
const TOWNSHIP_COLUMNS: usize = 50;
const TOWNSHIP_ROWS: usize = 40;
const CITY_FILES: [&str; 14] = [
    "430100", "430200", "430300", "430400", "430500", "430600", "430700", "430800", "430900",
    "431000", "431100", "431200", "431300", "433100",
];

/// Marsaglia's xorshift64: deterministic, no dependency.
struct XorShift(u64);

impl XorShift {
    /// Seeds that differ in a few bits (edge keys) still give unrelated
    /// streams once scrambled by the golden-ratio multiply.
    fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f64 {
        2.0 * self.unit() - 1.0
    }
}

fn corpus_boundaries() -> Result<PathBuf, String> {
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let from_env = std::env::var_os("FIELDPROOF_CORPUS").map(PathBuf::from);
    let dir = from_env
        .clone()
        .unwrap_or_else(|| default.clone())
        .join("boundaries/counties_by_city");
    if dir.is_dir() {
        return Ok(dir);
    }
    Err(match from_env {
        Some(_) => format!(
            "county boundaries not found at {} (from FIELDPROOF_CORPUS); with \
             FIELDPROOF_CORPUS unset the benchmark would use {}",
            dir.display(),
            default.join("boundaries/counties_by_city").display()
        ),
        None => format!(
            "county boundaries not found at {} (default), and FIELDPROOF_CORPUS is not \
             set; set it to the corpus root (the folder containing boundaries/)",
            dir.display()
        ),
    })
}

fn load_counties(dir: &std::path::Path) -> Result<JurisdictionIndex, String> {
    let mut index = JurisdictionIndex::new();
    for city in CITY_FILES {
        let path = dir.join(format!("{city}.json"));
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        index
            .load_geojson(&bytes, Datum::Gcj02)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(index)
}

/// Points inside the edge from `a` to `b` of the township grid, in that
/// direction: 7–14 of them, pushed off the straight line by up to `jitter`
/// cells with a jitter keyed on the edge, so both townships sharing it get
/// the same vertices.
fn edge_points(key: u64, a: LatLon, b: LatLon, cell: (f64, f64), jitter: f64) -> Vec<LatLon> {
    let mut rng = XorShift::new(key);
    let count = 7 + (rng.unit() * 8.0) as usize;
    let (dlat, dlon) = (b.lat - a.lat, b.lon - a.lon);
    // Unit normal in cell units, so the jitter is a fraction of a cell.
    let (nlat, nlon) = (dlon / cell.1, -dlat / cell.0);
    let norm = nlat.hypot(nlon);
    (1..=count)
        .map(|k| {
            let t = k as f64 / (count + 1) as f64;
            let off = jitter * rng.signed() / norm;
            LatLon {
                lat: a.lat + t * dlat + off * nlat * cell.0,
                lon: a.lon + t * dlon + off * nlon * cell.1,
            }
        })
        .collect()
}

/// `jitter` for grid line `i` of `0..=n`, 0 on the outline so that the
/// townships tile the whole box.
fn interior(i: usize, n: usize, jitter: f64) -> f64 {
    if i == 0 || i == n {
        0.0
    } else {
        jitter
    }
}

/// A FeatureCollection of COLUMNS × ROWS irregular townships tiling the box.
fn synthetic_townships(south: f64, west: f64, north: f64, east: f64) -> Vec<u8> {
    let cell = (
        (north - south) / TOWNSHIP_ROWS as f64,
        (east - west) / TOWNSHIP_COLUMNS as f64,
    );
    let corner = |col: usize, row: usize| {
        let mut rng = XorShift::new((col * 1_000 + row) as u64);
        LatLon {
            lat: south + (row as f64 + interior(row, TOWNSHIP_ROWS, 0.15) * rng.signed()) * cell.0,
            lon: west
                + (col as f64 + interior(col, TOWNSHIP_COLUMNS, 0.15) * rng.signed()) * cell.1,
        }
    };
    // Edge keys: horizontal edges from (col, row) east, vertical ones north.
    let horizontal = |col: usize, row: usize| {
        let key = 1_000_000 + (col * 1_000 + row) as u64;
        let jitter = interior(row, TOWNSHIP_ROWS, 0.05);
        edge_points(key, corner(col, row), corner(col + 1, row), cell, jitter)
    };
    let vertical = |col: usize, row: usize| {
        let key = 2_000_000 + (col * 1_000 + row) as u64;
        let jitter = interior(col, TOWNSHIP_COLUMNS, 0.05);
        edge_points(key, corner(col, row), corner(col, row + 1), cell, jitter)
    };
    let mut features = Vec::with_capacity(TOWNSHIP_COLUMNS * TOWNSHIP_ROWS);
    for row in 0..TOWNSHIP_ROWS {
        for col in 0..TOWNSHIP_COLUMNS {
            // Counter-clockwise: south edge east, east edge north, north
            // edge west, west edge south.
            let mut ring = vec![corner(col, row)];
            ring.extend(horizontal(col, row));
            ring.push(corner(col + 1, row));
            ring.extend(vertical(col + 1, row));
            ring.push(corner(col + 1, row + 1));
            ring.extend(horizontal(col, row + 1).into_iter().rev());
            ring.push(corner(col, row + 1));
            ring.extend(vertical(col, row).into_iter().rev());
            ring.push(corner(col, row));
            let coordinates: Vec<[f64; 2]> = ring.iter().map(|p| [p.lon, p.lat]).collect();
            features.push(json!({
                "type": "Feature",
                "properties": { "code": format!("T{row:02}{col:02}"), "name": "" },
                "geometry": { "type": "Polygon", "coordinates": [coordinates] }
            }));
        }
    }
    serde_json::to_vec(&json!({ "type": "FeatureCollection", "features": features }))
        .expect("JSON of numbers and strings")
}

/// Runs every lookup once, returning the answers and µs per lookup.
fn time_lookups(
    points: &[LatLon],
    locate: impl Fn(LatLon) -> Option<Placement>,
) -> (Vec<Option<Placement>>, f64) {
    let start = Instant::now();
    let answers: Vec<_> = points
        .iter()
        .map(|&p| black_box(locate(black_box(p))))
        .collect();
    let us = start.elapsed().as_secs_f64() * 1e6 / points.len() as f64;
    (answers, us)
}

/// Prints R-tree and brute-force figures for one polygon set.
fn bench_lookups(title: &str, index: &JurisdictionIndex, lookups: usize, seed: u64) {
    let BoundingBox {
        min_lat: south,
        min_lon: west,
        max_lat: north,
        max_lon: east,
    } = index.bbox().expect("jurisdictions are loaded");
    let mut rng = XorShift::new(seed);
    let points: Vec<LatLon> = (0..lookups)
        .map(|_| LatLon {
            lat: south + (north - south) * rng.unit(),
            lon: west + (east - west) * rng.unit(),
        })
        .collect();
    let vertices: usize = index
        .iter()
        .flat_map(|j| j.polygons.iter().flatten())
        .map(Vec::len)
        .sum();
    // Warm caches and the allocator before measuring.
    time_lookups(&points[..points.len().min(1_000)], |p| index.locate(p));
    let (indexed, indexed_us) = time_lookups(&points, |p| index.locate(p));
    let (brute, brute_us) = time_lookups(&points, |p| index.brute_force_locate(p));
    assert!(indexed == brute, "{title}: R-tree and brute force disagree");
    let inside = indexed.iter().filter(|a| a.is_some()).count();
    println!(
        "{title}: {} jurisdictions, {vertices} vertices; {lookups} random points in the \
         bounding box, {:.1} % inside one",
        index.len(),
        100.0 * inside as f64 / lookups as f64
    );
    println!(
        "  R-tree       {indexed_us:8.2} µs/lookup   (goal ≤ {LOOKUP_GOAL_US} µs: {})",
        verdict(indexed_us <= LOOKUP_GOAL_US)
    );
    println!(
        "  brute force  {brute_us:8.2} µs/lookup   (brute force / R-tree = {:.1})",
        brute_us / indexed_us
    );
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// A 10 h foot patrol at 1 Hz around (28.2° N, 112.9° E): walking at about
/// 1.4 m/s with wandering heading, pauses, and ±3 m GNSS noise.
fn synthetic_patrol() -> Vec<GpxPoint> {
    const M_PER_DEG_LAT: f64 = 110_800.0;
    let m_per_deg_lon = 111_320.0 * 28.2_f64.to_radians().cos();
    let mut rng = XorShift::new(7);
    let (mut x, mut y, mut heading) = (0.0_f64, 0.0_f64, 0.0_f64);
    let start_ms = 1_790_000_000_000_i64;
    (0..PATROL_POINTS)
        .map(|i| {
            heading += 0.15 * rng.signed();
            let speed = if (i / 600) % 5 == 4 {
                0.0
            } else {
                1.4 + 0.3 * rng.signed()
            };
            x += speed * heading.sin();
            y += speed * heading.cos();
            let (nx, ny) = (3.0 * rng.signed(), 3.0 * rng.signed());
            GpxPoint {
                lat: 28.2 + (y + ny) / M_PER_DEG_LAT,
                lon: 112.9 + (x + nx) / m_per_deg_lon,
                ele_m: Some(50.0 + 5.0 * rng.unit()),
                time_ms: Some(start_ms + i as i64 * 1_000),
                hdop: Some(0.8 + rng.unit()),
                fix: Some("3d".into()),
                speed_mps: Some(speed),
                course_deg: Some(heading.to_degrees().rem_euclid(360.0)),
                accuracy_m: Some(3.0 + 5.0 * rng.unit()),
                mock: None,
            }
        })
        .collect()
}

/// Median wall time of `TRACK_RUNS` runs, and the last run's result.
fn median_ms<T>(mut run: impl FnMut() -> T) -> (f64, T) {
    let mut times: Vec<Duration> = Vec::with_capacity(TRACK_RUNS);
    let mut result = None;
    for _ in 0..TRACK_RUNS {
        let start = Instant::now();
        result = Some(black_box(run()));
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[TRACK_RUNS / 2].as_secs_f64() * 1e3;
    (median, result.expect("TRACK_RUNS > 0"))
}

fn main() -> ExitCode {
    let lookups = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let dir = match corpus_boundaries() {
        Ok(dir) => dir,
        Err(message) => {
            eprintln!("geofence benchmark needs the shared corpus: {message}");
            return ExitCode::FAILURE;
        }
    };

    let start = Instant::now();
    let counties = match load_counties(&dir) {
        Ok(index) => index,
        Err(message) => {
            eprintln!("cannot load the county boundaries: {message}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "loaded {} counties (GCJ-02 → WGS-84) in {:.1} ms",
        counties.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    bench_lookups("Hunan counties", &counties, lookups, 1);

    let BoundingBox {
        min_lat: south,
        min_lon: west,
        max_lat: north,
        max_lon: east,
    } = counties.bbox().expect("counties are loaded");
    let townships_json = synthetic_townships(south, west, north, east);
    let mut townships = JurisdictionIndex::new();
    let start = Instant::now();
    let added = townships
        .load_geojson(&townships_json, Datum::Wgs84)
        .expect("synthetic townships are valid GeoJSON");
    println!(
        "\nloaded {added} synthetic townships ({} kB of GeoJSON) in {:.1} ms",
        townships_json.len() / 1024,
        start.elapsed().as_secs_f64() * 1e3
    );
    bench_lookups("synthetic townships", &townships, lookups, 2);

    let patrol = synthetic_patrol();
    let positions: Vec<LatLon> = patrol
        .iter()
        .map(|p| LatLon {
            lat: p.lat,
            lon: p.lon,
        })
        .collect();
    println!("\n{PATROL_POINTS}-point 1 Hz patrol (median of {TRACK_RUNS} runs, goal ≤ {TRACK_GOAL_MS} ms each):");
    let (simplify_ms, kept) = median_ms(|| simplify(&positions, SIMPLIFY_TOLERANCE_M));
    println!(
        "  simplify at {SIMPLIFY_TOLERANCE_M} m  {simplify_ms:7.2} ms   kept {} points ({})",
        kept.len(),
        verdict(simplify_ms <= TRACK_GOAL_MS)
    );
    let segments = vec![patrol];
    let (write_ms, gpx) = median_ms(|| write_gpx("巡查 2026-09-21", &segments));
    println!(
        "  write GPX        {write_ms:7.2} ms   {} kB ({})",
        gpx.len() / 1024,
        verdict(write_ms <= TRACK_GOAL_MS)
    );
    ExitCode::SUCCESS
}

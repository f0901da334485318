//! Fire import benchmark: a FIRMS file of 200,000 detections imported (read,
//! checked, placed in the territory, filtered, stored, clustered into events
//! with their tasks) against a plain parse of the same file by the `csv` crate
//! reading every field, side by side in one run.
//!
//!     cargo bench -p fieldproof-bureau --bench fire_import [-- ROWS]
//!
//! Two files, both VIIRS rows in FIRMS's own format:
//! - `hunan`: every detection inside a real Hunan county (the corpus's DataV
//!   boundaries, all 14 cities loaded), as fires of 8 detections each over
//!   passes and satellites: the worst case, everything placed, stored and
//!   clustered;
//! - `global`: detections across the world's land bounding box with 2% of
//!   them in Hunan, as a global daily file is.
//!
//! Each file is imported into a fresh embedded bureau (SQLite), then again (all
//! duplicates). With `FIELDPROOF_BENCH_POSTGRES_URL` set (an admin URL of a
//! server the bench may create databases on, one per file; `scripts/postgres`
//! starts one), the imports are repeated on PostgreSQL.
//!
//! Two more baselines, to show where the time goes: the same parse with each
//! row inserted into a table like the bureau's by raw rusqlite (the storage
//! floor), and the import's own reading, checking and placing with nothing
//! stored. Each runs in a process of its own (this program, re-run with
//! `--phase`), so its peak resident memory is its own. Printed: time, rows/s,
//! the ratio to the plain parse (goal >= 0.5) and peak RSS (goal <= 128 MiB).

use fieldproof_bureau::cases::reference_data;
use fieldproof_bureau::fires::firms::FirmsReader;
use fieldproof_bureau::fires::import;
use fieldproof_bureau::fires::territory::Territory;
use fieldproof_bureau::{Bureau, Config};
use fieldproof_core::fixtures::{viirs_csv, FirmsRow};
use fieldproof_core::geo::datum::{Datum, LatLon};
use fieldproof_core::geo::jurisdiction::JurisdictionIndex;
use fieldproof_core::time::now_ms;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HOUR: i64 = 3_600_000;
const DETECTIONS_PER_FIRE: usize = 8;
const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(PHASE) {
        return run_phase(&args[1..]);
    }
    let rows = args.iter().find_map(|a| a.parse().ok()).unwrap_or(200_000);
    let boundaries = hunan_boundaries();
    let work = tempfile::tempdir().unwrap();
    let hunan = work.path().join("hunan.csv");
    let global = work.path().join("global.csv");
    let index = index_of(&boundaries);
    std::fs::write(&hunan, viirs_csv(&hunan_fires(&index, rows))).unwrap();
    std::fs::write(&global, viirs_csv(&global_day(&index, rows))).unwrap();
    drop(index);
    println!(
        "fire import: {rows} VIIRS rows a file; {} Hunan counties loaded; each line a \
         process of its own (peak RSS is that process's)\n\
         goals: import throughput >= 0.5 x plain parse, peak RSS <= 128 MiB",
        boundaries.iter().map(|(_, b)| b.len()).sum::<usize>()
    );

    let postgres = std::env::var("FIELDPROOF_BENCH_POSTGRES_URL").ok();
    for (name, file) in [("hunan", &hunan), ("global", &global)] {
        let size = std::fs::metadata(file).unwrap().len();
        println!("== {name} ({:.1} MiB)", size as f64 / 1048576.0);
        let mut run = Run {
            file: file.to_str().unwrap(),
            rows,
            parse: None,
        };
        run.parse = Some(run.phase("csv crate, every field", "parse", &[]));
        let floor = tempfile::tempdir().unwrap();
        let floor = floor.path().join("floor.db");
        run.phase(
            "parse + rusqlite inserts",
            "floor",
            &[floor.to_str().unwrap()],
        );
        let mut backends = vec![("sqlite", None)];
        backends.extend(
            postgres
                .as_deref()
                .map(|url| ("postgres", Some(fresh_database(url)))),
        );
        for (backend, url) in backends {
            let data = tempfile::tempdir().unwrap();
            drop(open(data.path(), url.clone(), &boundaries));
            // The bureau: its data folder, and its database URL if not SQLite.
            let mut bureau = vec![data.path().to_str().unwrap()];
            bureau.extend(url.as_deref());
            if backend == "sqlite" {
                run.phase("read, check, place (memory)", "place", &bureau);
            }
            run.phase(&format!("import, {backend}"), "import", &bureau);
            run.phase(&format!("re-import, {backend}"), "reimport", &bureau);
        }
    }
}

/// The argument that makes this program one measured phase, in a process of
/// its own so its peak memory is its own: `--phase NAME FILE ROWS [ARGS…]`.
const PHASE: &str = "--phase";

/// The phases of one file.
struct Run<'a> {
    file: &'a str,
    rows: usize,
    /// The plain parse's time, once measured: the baseline of the others.
    parse: Option<Duration>,
}

impl Run<'_> {
    /// Runs phase `name` in a child process; prints its line; returns its time.
    fn phase(&self, label: &str, name: &str, args: &[&str]) -> Duration {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([PHASE, name, self.file, &self.rows.to_string()])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "phase {name}: {stderr}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut figures = text.split_whitespace().map(|f| f.parse::<u64>().unwrap());
        let (nanos, peak_kib) = (figures.next().unwrap(), figures.next().unwrap());
        let took = Duration::from_nanos(nanos);
        report(label, self.rows, took, peak_kib, self.parse);
        took
    }
}

/// In the child: measures one phase; prints `nanoseconds peak_kib`.
fn run_phase(args: &[String]) {
    let (name, file, rows) = (
        args[0].as_str(),
        Path::new(&args[1]),
        args[2].parse().unwrap(),
    );
    let rest = &args[3..];
    // place, import, reimport: the bureau's data folder, then its database URL.
    let bureau = || {
        let config = Config {
            data_dir: PathBuf::from(&rest[0]),
            admin_token: Some(ADMIN_TOKEN.into()),
            database_url: rest.get(1).cloned(),
            ..Config::default()
        };
        Bureau::open(&config).unwrap().0
    };
    let start;
    match name {
        "parse" => {
            start = Instant::now();
            plain_parse(file);
        }
        "floor" => {
            start = Instant::now();
            storage_floor(file, Path::new(&rest[0]));
        }
        "place" => {
            let bureau = bureau();
            start = Instant::now();
            read_and_place(&bureau, file, rows);
        }
        "import" | "reimport" => {
            let bureau = bureau();
            start = Instant::now();
            run_import(&bureau, file, if name == "import" { rows } else { 0 });
        }
        _ => panic!("no phase {name}"),
    }
    let nanos = start.elapsed().as_nanos();
    println!("{nanos} {}", peak_rss_kib());
}

/// The Hunan county boundaries of the corpus, per city file (GCJ-02).
fn hunan_boundaries() -> Vec<(Vec<u8>, Vec<reference_data::Boundary>)> {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let corpus = std::env::var_os("FIELDPROOF_CORPUS").map_or(default, PathBuf::from);
    let dir = corpus.join("boundaries/counties_by_city");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus boundaries not found at {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).unwrap();
            let parsed = reference_data::parse_boundaries(&bytes, Datum::Gcj02).unwrap();
            (bytes, parsed)
        })
        .collect()
}

fn index_of(boundaries: &[(Vec<u8>, Vec<reference_data::Boundary>)]) -> JurisdictionIndex {
    let mut index = JurisdictionIndex::new();
    for (bytes, _) in boundaries {
        index.load_geojson(bytes, Datum::Gcj02).unwrap();
    }
    index
}

/// Fires anywhere in Hunan (as many to a county as its area makes) over the
/// last ten days, each seen `DETECTIONS_PER_FIRE` times by the three VIIRS
/// satellites over two days, within a pixel of its first point.
fn hunan_fires(index: &JurisdictionIndex, rows: usize) -> Vec<FirmsRow> {
    let bbox = index.bbox().unwrap();
    let now = now_ms();
    let mut random = Random(0x5eed);
    let mut out = Vec::with_capacity(rows);
    while out.len() < rows {
        let at = LatLon {
            lat: bbox.min_lat + random.unit() * (bbox.max_lat - bbox.min_lat),
            lon: bbox.min_lon + random.unit() * (bbox.max_lon - bbox.min_lon),
        };
        if index.containing(at).is_none() {
            continue;
        }
        let start = now - 10 * 24 * HOUR + (random.unit() * 8.0 * 24.0 * HOUR as f64) as i64;
        for pass in 0..DETECTIONS_PER_FIRE.min(rows - out.len()) {
            let (dn, de) = (random_offset(&mut random), random_offset(&mut random));
            out.push(viirs_row(
                LatLon {
                    lat: at.lat + dn,
                    lon: at.lon + de,
                },
                start + pass as i64 * 6 * HOUR,
                pass,
                &mut random,
            ));
        }
    }
    out
}

/// A day of detections over the world's land bounding box, 2% of them fires
/// in Hunan.
fn global_day(index: &JurisdictionIndex, rows: usize) -> Vec<FirmsRow> {
    let hunan = hunan_fires(index, rows / 50);
    let now = now_ms();
    let mut random = Random(0x910b);
    let mut out: Vec<FirmsRow> = (0..rows - hunan.len())
        .map(|i| {
            let p = LatLon {
                lat: -55.0 + random.unit() * 125.0,
                lon: -180.0 + random.unit() * 360.0,
            };
            viirs_row(
                p,
                now - 24 * HOUR + (random.unit() * 23.0 * HOUR as f64) as i64,
                i,
                &mut random,
            )
        })
        .collect();
    out.extend(hunan);
    out
}

fn viirs_row(p: LatLon, time_ms: i64, n: usize, random: &mut Random) -> FirmsRow {
    FirmsRow {
        lat: p.lat,
        lon: p.lon,
        time_ms,
        satellite: ["N", "N20", "N21"][n % 3].into(),
        confidence: ["n", "h", "n", "l"][random.below(4)].into(),
        day: n.is_multiple_of(2),
    }
}

/// Up to ~200 m either way, in degrees.
fn random_offset(random: &mut Random) -> f64 {
    (random.unit() - 0.5) * 0.004
}

/// xorshift64: the same file every run.
struct Random(u64);

impl Random {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n
    }
}

fn open(
    data: &Path,
    database_url: Option<String>,
    boundaries: &[(Vec<u8>, Vec<reference_data::Boundary>)],
) -> Bureau {
    let config = Config {
        data_dir: data.to_owned(),
        admin_token: Some(ADMIN_TOKEN.into()),
        database_url,
        ..Config::default()
    };
    let (bureau, _) = Bureau::open(&config).unwrap();
    for (_, parsed) in boundaries {
        bureau
            .db
            .write(|tx| reference_data::store_boundaries(tx, Datum::Gcj02, parsed))
            .unwrap();
    }
    bureau
}

/// A new, empty database on the server at `admin_url`; its URL.
fn fresh_database(admin_url: &str) -> String {
    let name = format!("fire_bench_{}", uuid::Uuid::now_v7().simple());
    postgres::Client::connect(admin_url, postgres::NoTls)
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (server, _) = admin_url
        .rsplit_once('/')
        .expect("a URL ending in /DATABASE");
    format!("{server}/{name}")
}

/// The baseline: every field of every record, as the csv crate reads them.
fn plain_parse(file: &Path) {
    let mut reader = csv::Reader::from_reader(BufReader::with_capacity(
        64 * 1024,
        std::fs::File::open(file).unwrap(),
    ));
    let mut record = csv::StringRecord::new();
    let mut bytes = 0usize;
    while reader.read_record(&mut record).unwrap() {
        bytes += record.iter().map(str::len).sum::<usize>();
    }
    std::hint::black_box(bytes);
}

/// A floor for storing: the same parse, each row's fields converted and
/// inserted by one prepared statement into a table like the bureau's (same
/// columns and indexes), in one transaction, WAL and synchronous=FULL as the
/// bureau runs SQLite; no placing, filtering, clustering or tasks.
fn storage_floor(file: &Path, db: &Path) {
    let mut conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE fire_detections (
             id INTEGER PRIMARY KEY AUTOINCREMENT, product TEXT NOT NULL,
             satellite TEXT NOT NULL, time_ms INTEGER NOT NULL, lat_e6 INTEGER NOT NULL,
             lon_e6 INTEGER NOT NULL, confidence TEXT NOT NULL, frp_cmw INTEGER,
             daynight TEXT NOT NULL, fire_type INTEGER, jurisdiction TEXT, filter TEXT,
             key_zone TEXT, event_id TEXT, imported_ms INTEGER NOT NULL,
             UNIQUE (product, satellite, time_ms, lat_e6, lon_e6));
         CREATE INDEX fire_detections_by_event ON fire_detections (event_id);",
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO fire_detections (product, satellite, time_ms, lat_e6, lon_e6,
                     confidence, frp_cmw, daynight, imported_ms)
                 VALUES ('viirs', ?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)
                 ON CONFLICT DO NOTHING",
            )
            .unwrap();
        let mut reader = csv::Reader::from_reader(BufReader::with_capacity(
            64 * 1024,
            std::fs::File::open(file).unwrap(),
        ));
        let mut record = csv::StringRecord::new();
        let e6 = |field: &str| (field.parse::<f64>().unwrap() * 1e6).round() as i64;
        while reader.read_record(&mut record).unwrap() {
            // yyyymmddHHMM: an identity as good as the bureau's milliseconds.
            let date: String = record[5].chars().filter(char::is_ascii_digit).collect();
            let time = date.parse::<i64>().unwrap() * 10_000 + record[6].parse::<i64>().unwrap();
            let frp = (record[12].parse::<f64>().unwrap() * 100.0) as i64;
            insert
                .execute(rusqlite::params![
                    &record[7],
                    time,
                    e6(&record[0]),
                    e6(&record[1]),
                    &record[9],
                    frp,
                    &record[13]
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

/// The import's work before storing: every row read and checked by the
/// import's FIRMS reader and placed in the territory; nothing stored.
fn read_and_place(bureau: &Bureau, file: &Path, rows: usize) {
    let territory = bureau.db.read(Territory::load).unwrap();
    let input = BufReader::with_capacity(64 * 1024, std::fs::File::open(file).unwrap());
    let mut reader = FirmsReader::new(input, now_ms()).unwrap();
    let (mut read, mut inside) = (0, 0);
    while let Some(row) = reader.next_row().unwrap() {
        let d = row.unwrap();
        let p = LatLon {
            lat: f64::from(d.lat_e6) / 1e6,
            lon: f64::from(d.lon_e6) / 1e6,
        };
        read += 1;
        if territory.place(p).is_some() && territory.static_source(p).is_none() {
            inside += 1;
        }
    }
    assert_eq!(read, rows);
    std::hint::black_box(inside);
}

/// Imports `file` as the spooled upload is imported; checks that every row
/// went in (`expect_new` of them new).
fn run_import(bureau: &Bureau, file: &Path, expect_new: usize) {
    let input = BufReader::with_capacity(64 * 1024, std::fs::File::open(file).unwrap());
    let answer = bureau
        .db
        .write(|tx| import::import(tx, input, &bureau.fires))
        .unwrap();
    assert_eq!(answer.rejected_total, 0);
    assert_eq!(answer.imported as usize, expect_new, "{answer:?}");
    std::hint::black_box(answer);
}

/// This process's peak resident memory (Linux's VmHWM), KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn report(label: &str, rows: usize, took: Duration, peak_kib: u64, parse: Option<Duration>) {
    let per_s = rows as f64 / took.as_secs_f64();
    let peak = format!("{:.0} MiB", peak_kib as f64 / 1024.0);
    let ratio = parse.map_or(String::new(), |p| {
        format!(
            "  throughput / plain parse = {:.2}",
            p.as_secs_f64() / took.as_secs_f64()
        )
    });
    println!(
        "  {label:<28} {:>8.1} ms {:>10.0} rows/s  peak RSS {peak:>7}{ratio}",
        took.as_secs_f64() * 1e3,
        per_s
    );
}

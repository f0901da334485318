//! Inspection store benchmark: the public API against raw rusqlite doing the same
//! work in the same run, on real files with the same durability (WAL,
//! synchronous=FULL, one transaction per inspection).
//!
//!     cargo bench -p fieldproof-core --bench inspection_store [-- N]
//!
//! N inspections for the insert run (default 10,000); the list run always uses
//! 100,000. Prints figures and ratios; asserts nothing about time.

use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::checklist::{Answer, AnswerValue};
use fieldproof_core::model::id::new_id;
use fieldproof_core::model::inspection::{DraftFields, InspectionFilter, Status};
use fieldproof_core::store::Store;
use rusqlite::{params, Connection};
use std::path::Path;
use std::time::{Duration, Instant};

const START: i64 = 1_790_000_000_000;
const LIST_ROWS: usize = 100_000;

fn fields(i: usize) -> DraftFields {
    DraftFields {
        township_code: "430121101".into(),
        county_code: None,
        site: GeoPoint {
            lat: 28.2 + (i % 1000) as f64 * 1e-4,
            lon: 112.9 + (i % 997) as f64 * 1e-4,
            datum: Datum::Wgs84,
        },
        address: format!("黄花镇第{}组稻田", i % 50),
        task_id: None,
        officer_id: "officer-17".into(),
        started_at_ms: START + i as i64 * 1_000,
        ended_at_ms: None,
        findings: "现场有秸秆焚烧痕迹".into(),
        responsible_party: None,
    }
}

/// Ten answers to the straw-burning checklist.
fn answers() -> Vec<Answer> {
    let a = |item: &str, value| Answer {
        item_id: item.into(),
        value,
    };
    let choice = |c: &str| AnswerValue::Choice(c.into());
    vec![
        a("fire_on_arrival", AnswerValue::YesNo(true)),
        a("smoke_visible", AnswerValue::YesNo(true)),
        a("burned_area_mu", AnswerValue::Number(2.5)),
        a("material", choice("rice_straw")),
        a("land_type", choice("paddy")),
        a(
            "nearby_sensitive",
            AnswerValue::Choices(vec!["village".into(), "road".into()]),
        ),
        a("extinguished", AnswerValue::YesNo(true)),
        a(
            "extinguish_method",
            AnswerValue::Choices(vec!["water".into()]),
        ),
        a("responsible_party_identified", AnswerValue::YesNo(false)),
        a("warning_issued", AnswerValue::YesNo(true)),
    ]
}

fn raw_connection(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .unwrap();
    conn
}

/// The rows `create_draft` writes, written directly: one transaction per inspection.
fn raw_insert(conn: &mut Connection, i: usize, answers: &[(String, String)], now: i64) {
    let f = fields(i);
    let id = new_id();
    let tx = conn.transaction().unwrap();
    tx.prepare_cached(
        "INSERT INTO inspections (id, matter, checklist_id, checklist_version, township_code,
             county_code, lat, lon, reported_lat, reported_lon, reported_datum, address, task_id,
             officer_id, started_at_ms, ended_at_ms, status, findings, responsible_party,
             amends_id, revision, created_at_ms, updated_at_ms)
         VALUES (?1, 'straw_burning', 'straw_burning', 1, ?2, '430121', ?3, ?4, ?3, ?4, 'wgs84', ?5,
             NULL, ?6, ?7, NULL, 'draft', ?8, NULL, NULL, 0, ?9, ?9)",
    )
    .unwrap()
    .execute(params![
        id,
        f.township_code,
        f.site.lat,
        f.site.lon,
        f.address,
        f.officer_id,
        f.started_at_ms,
        f.findings,
        now
    ])
    .unwrap();
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO inspection_answers (inspection_id, item_id, value) VALUES (?1, ?2, ?3)",
        )
        .unwrap();
    for (item, value) in answers {
        stmt.execute(params![id, item, value]).unwrap();
    }
    drop(stmt);
    tx.commit().unwrap();
}

fn encoded(answers: &[Answer]) -> Vec<(String, String)> {
    answers
        .iter()
        .map(|a| (a.item_id.clone(), serde_json::to_string(&a.value).unwrap()))
        .collect()
}

fn per_op(total: Duration, n: usize) -> f64 {
    total.as_secs_f64() * 1e6 / n as f64
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index].as_secs_f64() * 1e3
}

fn bench_inserts(dir: &Path, n: usize) {
    let answers = answers();
    let api_path = dir.join("api.db");
    let store = Store::open(&api_path).unwrap();
    let raw_path = dir.join("raw.db");
    drop(Store::open(&raw_path).unwrap()); // same schema and reference data
    let mut raw = raw_connection(&raw_path);
    let raw_answers = encoded(&answers);

    // Interleaved rounds so both see the same disk and cache conditions.
    let (mut api_time, mut raw_time) = (Duration::ZERO, Duration::ZERO);
    let round = 500.min(n);
    for start in (0..n).step_by(round) {
        let t = Instant::now();
        for i in start..(start + round).min(n) {
            store
                .create_draft("straw_burning", fields(i), &answers)
                .unwrap();
        }
        api_time += t.elapsed();
        let t = Instant::now();
        for i in start..(start + round).min(n) {
            raw_insert(&mut raw, i, &raw_answers, START);
        }
        raw_time += t.elapsed();
    }
    println!("insert {n} inspections x 10 answers, one transaction each (synchronous=FULL)");
    println!(
        "  api  create_draft: {:>9.1} us/inspection  total {:.2?}",
        per_op(api_time, n),
        api_time
    );
    println!(
        "  raw  rusqlite:     {:>9.1} us/inspection  total {:.2?}",
        per_op(raw_time, n),
        raw_time
    );
    println!(
        "  ratio api/raw: {:.2} (goal <= 2.0)",
        api_time.as_secs_f64() / raw_time.as_secs_f64()
    );
}

fn bench_list(dir: &Path) {
    let path = dir.join("list.db");
    drop(Store::open(&path).unwrap());
    {
        // Bulk load through raw SQL in one transaction: the list query, not the
        // loading, is what is measured here.
        let mut conn = raw_connection(&path);
        conn.execute_batch("PRAGMA synchronous = OFF").unwrap();
        let tx = conn.transaction().unwrap();
        for i in 0..LIST_ROWS {
            let f = fields(i);
            tx.prepare_cached(
                "INSERT INTO inspections (id, matter, checklist_id, checklist_version, township_code,
                     county_code, lat, lon, reported_lat, reported_lon, reported_datum, address,
                     officer_id, started_at_ms, status, findings, revision, created_at_ms, updated_at_ms)
                 VALUES (?1, ?2, 'straw_burning', 1, '430121101', '430121', ?3, ?4, ?3, ?4, 'wgs84', ?5,
                     'officer-17', ?6, ?7, ?8, 0, ?6, ?6)",
            )
            .unwrap()
            .execute(params![
                new_id(),
                if i % 4 == 0 { "waste_burning" } else { "straw_burning" },
                f.site.lat,
                f.site.lon,
                f.address,
                f.started_at_ms,
                if i % 3 == 0 { "draft" } else { "submitted" },
                f.findings
            ])
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    let raw = raw_connection(&path);
    let filters = [
        ("newest page", InspectionFilter::default()),
        (
            "status+matter",
            InspectionFilter {
                status: Some(Status::Submitted),
                matter: Some("waste_burning".into()),
                ..Default::default()
            },
        ),
        (
            "date range",
            InspectionFilter {
                started_from_ms: Some(START + 40_000_000),
                started_before_ms: Some(START + 60_000_000),
                ..Default::default()
            },
        ),
        (
            "text search",
            InspectionFilter {
                text: Some("第7组".into()),
                ..Default::default()
            },
        ),
    ];
    println!("list one page of 50 over {LIST_ROWS} inspections (200 runs each)");
    for (name, filter) in filters {
        let mut samples = Vec::new();
        let mut cursor = None;
        for _ in 0..200 {
            let t = Instant::now();
            let page = store
                .list_inspections(&filter, 50, cursor.as_deref())
                .unwrap();
            samples.push(t.elapsed());
            assert_eq!(page.items.len(), 50);
            // Walk forward so later runs page deep into the table, then restart.
            cursor = page.next_cursor.filter(|_| samples.len() % 50 != 0);
        }
        println!(
            "  api  {name:<14} p50 {:>6.3} ms  p99 {:>6.3} ms (goal <= 5 ms)",
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.99)
        );
    }
    // Baseline: the newest page as a hand-written query on a raw connection.
    let mut samples = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let mut stmt = raw
            .prepare_cached(
                "SELECT id, matter, status, township_code, county_code, lat, lon, address, task_id,
                     started_at_ms, ended_at_ms, amends_id, revision
                 FROM inspections ORDER BY started_at_ms DESC, id DESC LIMIT 51",
            )
            .unwrap();
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(7)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        samples.push(t.elapsed());
        assert_eq!(rows.len(), 51);
    }
    println!(
        "  raw  newest page    p50 {:>6.3} ms  p99 {:>6.3} ms",
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99)
    );
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    bench_inserts(dir.path(), n);
    bench_list(dir.path());
}

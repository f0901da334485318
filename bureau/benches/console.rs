//! Console benchmark: the server time of the case list page (50 rows) and of
//! the dashboard with 100,000 inspections in the store, against the raw SQL
//! behind each, run side by side on the same SQLite file.
//!
//!     cargo bench -p fieldproof-bureau --bench console [-- INSPECTIONS REQUESTS]
//!
//! Defaults: 100,000 inspections in the 9 Changsha counties, all received this
//! month (the dashboard's worst case: every row is counted), one evidence record
//! each (5 % flagged, 10 % waiting for their photo), 200 requests per measure. The viewer is a city-level admin (grants over 4301):
//! every row is within scope, the worst case for both pages. The store is
//! filled with plain SQL (setup, not measured); the pages are fetched over
//! HTTP on loopback with a signed-in session, so their time includes the
//! session check, the queries, rendering and the connection.
//!
//! Printed per measure: p50/p99/max, and the ratio of the page's p50 and p99
//! to the raw query's. Goals: list ≤ 50 ms p99, dashboard ≤ 200 ms p99.

use fieldproof_bureau::cases::dashboard;
use fieldproof_bureau::people::Scope;
use fieldproof_bureau::server::BackgroundServer;
use fieldproof_bureau::storage::Value as StoredValue;
use fieldproof_bureau::{Bureau, Config};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";
const PASSWORD: &str = "correct horse battery staple";
const COUNTIES: [&str; 9] = [
    "430102", "430103", "430104", "430105", "430111", "430112", "430121", "430181", "430182",
];

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let inspections = args.first().copied().unwrap_or(100_000);
    let requests = args.get(1).copied().unwrap_or(200);
    let data = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: data.path().to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_token: Some(ADMIN_TOKEN.into()),
        ..Config::default()
    };
    config.limits.auth_failures_per_minute = 1_000_000;
    let listener = std::net::TcpListener::bind(config.listen).unwrap();
    let server = BackgroundServer::start(&config, listener).unwrap();
    let url = server.url();

    let started = Instant::now();
    let now = fieldproof_core::time::now_ms();
    fill(&server.bureau, inspections, dashboard::periods(now).1, now);
    println!(
        "console: {inspections} inspections stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let cookie = sign_in(&url);

    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent();
    let get = |path: &str| {
        let response = agent
            .get(&format!("{url}{path}"))
            .header("Cookie", &cookie)
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let body = response.into_body().read_to_string().unwrap();
        assert!(body.len() > 1000, "{path} answered a page");
    };

    let raw = rusqlite::Connection::open_with_flags(
        data.path().join("bureau.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let (week, month) = dashboard::periods(now);

    let list_page = measure(requests, || get("/console/cases"));
    let list_raw = measure(requests, || raw_list(&raw));
    report("case list page (50 rows)", &list_page, &list_raw, 50.0);
    let dashboard_page = measure(requests, || get("/console/"));
    let dashboard_raw = measure(requests, || raw_dashboard(&raw, week, month, now));
    report("dashboard", &dashboard_page, &dashboard_raw, 200.0);
    server.stop();
}

/// `n` inspections (and one evidence record each) received between `from` and
/// `now`, with one device and officer per county. Plain SQL in one transaction.
fn fill(bureau: &Arc<Bureau>, n: usize, from: i64, now: i64) {
    use fieldproof_bureau::params;
    let template = template_inspection();
    bureau
        .db
        .write(|tx| {
            for (c, county) in COUNTIES.iter().enumerate() {
                let officer = format!("officer-{c}");
                tx.execute(
                    "INSERT INTO officers (id, name, created_ms) VALUES ($1, $2, $3)",
                    params![&officer, format!("执法人员{c}"), now],
                )?;
                tx.execute(
                    "INSERT INTO devices (id, officer_id, jurisdiction, role, public_key, key_id, certificate, enrolled_ms)
                     VALUES ($1, $2, $3, 'township_staff', $4, $5, $6, $7)",
                    params![format!("device-{c}"), &officer, *county, vec![4u8; 65], vec![c as u8; 32], vec![0u8; 8], now],
                )?;
            }
            for i in 0..n {
                let c = i % COUNTIES.len();
                let township = format!("{}{:03}", COUNTIES[c], 100 + (i / COUNTIES.len()) % 20);
                let id = format!("{:08x}-0000-7000-8000-{:012x}", i, i);
                let matter = if i % 5 == 0 { "waste_burning" } else { "straw_burning" };
                let status = ["accepted", "accepted", "accepted", "submitted", "returned"][i % 5];
                let received = from + (i as i64 * 7_919_000) % (now - from).max(1);
                let mut body = template.clone();
                body["id"] = json!(id);
                body["matter"] = json!(matter);
                body["township_code"] = json!(township);
                body["county_code"] = json!(COUNTIES[c]);
                tx.execute(
                    "INSERT INTO inspections (id, device_id, officer_id, jurisdiction, status, body, received_ms, matter, search_text)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    params![&id, format!("device-{c}"), format!("officer-{c}"), &township, status, body.to_string(), received, matter, "田间 发现焚烧痕迹"],
                )?;
                let (record, media) = match i % 20 {
                    0 => ("flagged", "verified"),
                    1 | 2 => ("accepted", "pending"),
                    _ => ("accepted", "verified"),
                };
                tx.execute(
                    "INSERT INTO evidence_records (device_id, seq, kind, signed, inspection_id, status, failure, media_status, received_ms)
                     VALUES ($1, $2, 'capture', $3, $4, $5, $6, $7, $8)",
                    params![format!("device-{c}"), i as i64, vec![0u8; 8], &id, record, (record == "flagged").then_some("gap"), media, received],
                )?;
            }
            Ok(())
        })
        .unwrap();
}

fn sign_in(url: &str) -> String {
    let agent = ureq::Agent::new_with_defaults();
    let grants = json!([{ "role": "admin", "jurisdiction": "4301" }, { "role": "reviewer", "jurisdiction": "4301" }]);
    agent
        .post(&format!("{url}/v1/admin/users"))
        .header("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
        .send_json(json!({ "username": "bench.admin", "display_name": "基准", "password": PASSWORD, "grants": grants }))
        .unwrap();
    let response = agent
        .post(&format!("{url}/v1/session"))
        .send_json(json!({ "username": "bench.admin", "password": PASSWORD }))
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// The list's queries as the domain runs them for a city-wide viewer: the
/// newest 51 rows within scope, then the evidence counts of the 50 shown.
fn raw_list(db: &rusqlite::Connection) {
    let mut rows = db
        .prepare_cached(
            "SELECT id, device_id, officer_id, jurisdiction, status, amends_id, body, received_ms,
                    review_comment, reviewed_ms, penalty, legal_status, legal_comment
             FROM inspections WHERE (substr(jurisdiction, 1, length(?1)) = ?1)
             ORDER BY received_ms DESC, id DESC LIMIT 51",
        )
        .unwrap();
    let ids: Vec<String> = rows
        .query_map(["4301"], |row| {
            let _body: String = row.get(6)?;
            row.get(0)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let placeholders = vec!["?"; 50.min(ids.len())].join(",");
    let mut counts = db
        .prepare_cached(&format!(
            "SELECT e.inspection_id, e.status, e.media_status, COUNT(*) FROM evidence_records e
             JOIN inspections i ON i.id = e.inspection_id JOIN devices d ON d.id = e.device_id
             WHERE e.inspection_id IN ({placeholders}) AND d.officer_id = i.officer_id
             GROUP BY e.inspection_id, e.status, e.media_status"
        ))
        .unwrap();
    let n = counts
        .query_map(
            rusqlite::params_from_iter(&ids[..50.min(ids.len())]),
            |_| Ok(()),
        )
        .unwrap()
        .count();
    assert!(n > 0);
}

/// The dashboard's two queries for a city-wide viewer, exactly as the domain
/// writes them, run on a bare rusqlite connection.
fn raw_dashboard(db: &rusqlite::Connection, week: i64, month: i64, now: i64) {
    let scope = Scope::Within(vec!["4301".into()]);
    for (sql, values) in dashboard::matters_queries(&scope, week, month).unwrap() {
        assert!(raw_query(db, &sql, &values) > 0);
    }
    let (tasks, values) = dashboard::tasks_query(&scope, now).unwrap();
    raw_query(db, &tasks, &values);
}

/// Runs one of the bureau's queries (`$n` placeholders, its values) on rusqlite;
/// the number of rows.
fn raw_query(db: &rusqlite::Connection, sql: &str, values: &[StoredValue]) -> usize {
    let params = values.iter().map(|v| match v {
        StoredValue::Null => rusqlite::types::Value::Null,
        StoredValue::Int(i) => rusqlite::types::Value::Integer(*i),
        StoredValue::Text(t) => rusqlite::types::Value::Text(t.clone()),
        StoredValue::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
    });
    db.prepare_cached(&sql.replace('$', "?"))
        .unwrap()
        .query_map(rusqlite::params_from_iter(params), |_| Ok(()))
        .unwrap()
        .count()
}

fn measure(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f(); // warm the caches once
    (0..n)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect()
}

fn quantiles(samples: &[Duration]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at =
        |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99), at(1.0))
}

fn report(what: &str, page: &[Duration], raw: &[Duration], goal_ms: f64) {
    let (p50, p99, max) = quantiles(page);
    let (r50, r99, rmax) = quantiles(raw);
    println!("{what}: page p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms (goal p99 ≤ {goal_ms} ms: {})",
        if p99 <= goal_ms { "met" } else { "NOT met" });
    println!("{what}: raw SQL p50 {r50:.1} ms, p99 {r99:.1} ms, max {rmax:.1} ms");
    println!(
        "{what}: page/raw p50 ×{:.2}, p99 ×{:.2}",
        p50 / r50,
        p99 / r99
    );
}

/// A submitted inspection as a real device store serialises it.
fn template_inspection() -> Value {
    use fieldproof_core::fixtures::{draft_fields, straw_burning_answers};
    let dir = tempfile::tempdir().unwrap();
    let store = fieldproof_core::store::Store::open(dir.path().join("device.db")).unwrap();
    let draft = store
        .create_draft(
            "straw_burning",
            draft_fields("430121101"),
            &straw_burning_answers(),
        )
        .unwrap();
    serde_json::to_value(store.submit(&draft.id).unwrap()).unwrap()
}

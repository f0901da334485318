//! Load benchmark: many enrolled devices pushing inspection ops and uploading
//! photos at once, against a bureau on loopback, with client and server on this
//! machine.
//!
//!     cargo bench -p fieldproof-bureau --bench load [-- DEVICES CONCURRENCY]
//!
//! Defaults: 1,000 devices, 64 in flight. Each device pushes one batch of 10
//! `inspection.submit` ops, then uploads 2 small photos (tus creation-with-upload,
//! one request each). With `FIELDPROOF_BENCH_POSTGRES_URL` set (a database the
//! bench may fill), the same run is repeated on PostgreSQL.
//!
//! Printed: throughput (inspection ops/s, requests/s), p50/p99 latency per request
//! kind, errors, and lost ops (counted in the bureau's database afterwards). Two
//! baselines run side by side, and ratios against them:
//! - `GET /v1/bureau` with the same concurrency: HTTP and client cost, no storage;
//! - raw rusqlite doing the same inserts (10 rows per transaction, synchronous=FULL,
//!   WAL), single-threaded: the storage floor for the push path.

use base64::Engine;
use fieldproof_bureau::server::BackgroundServer;
use fieldproof_bureau::{Bureau, Config};
use fieldproof_core::hex;
use fieldproof_core::wire::enrollment::possession_message;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OPS_PER_DEVICE: usize = 10;
const PHOTOS_PER_DEVICE: usize = 2;
const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let devices = args.first().copied().unwrap_or(1000);
    let concurrency = args.get(1).copied().unwrap_or(64);
    println!("load: {devices} devices × ({OPS_PER_DEVICE} ops + {PHOTOS_PER_DEVICE} photos), {concurrency} in flight");
    let inspection = template_inspection();
    let photo = small_photo();
    println!("photo: {} bytes each", photo.len() + 16);

    let floor = raw_sqlite_floor(devices, &inspection);
    run(
        "sqlite",
        None,
        devices,
        concurrency,
        &inspection,
        &photo,
        floor,
    );
    if let Ok(url) = std::env::var("FIELDPROOF_BENCH_POSTGRES_URL") {
        run(
            "postgres",
            Some(url),
            devices,
            concurrency,
            &inspection,
            &photo,
            floor,
        );
    }
}

struct Server {
    url: String,
    bureau: Arc<Bureau>,
    _server: BackgroundServer,
    _data: tempfile::TempDir,
}

fn start(database_url: Option<String>) -> Server {
    let data = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: data.path().to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_token: Some(ADMIN_TOKEN.into()),
        database_url,
        ..Config::default()
    };
    // Every simulated device enrolls and syncs from one loopback address, at
    // loopback speed: the per-address and per-device limits are not what is measured.
    let mut config = config;
    config.limits.enroll_per_minute = 1_000_000;
    config.limits.device_requests_per_minute = 1_000_000;
    let listener = std::net::TcpListener::bind(config.listen).unwrap();
    let server = BackgroundServer::start(&config, listener).unwrap();
    Server {
        url: server.url(),
        bureau: server.bureau.clone(),
        _server: server,
        _data: data,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json");
    let response = match body {
        Some(body) => agent.run(request.body(serde_json::to_vec(body).unwrap()).unwrap()),
        None => agent.run(request.body(()).unwrap()),
    };
    match response {
        Ok(r) => {
            let status = r.status().as_u16();
            (
                status,
                serde_json::from_str(&r.into_body().read_to_string().unwrap_or_default())
                    .unwrap_or(Value::Null),
            )
        }
        Err(_) => (0, Value::Null),
    }
}

struct Device {
    token: String,
    /// What its inspections name: the bureau refuses another officer's.
    officer_id: String,
    township: String,
}

/// Enrolls `n` devices over HTTP (setup, not measured), spread over 20 townships.
fn enroll(server: &Server, n: usize) -> Vec<Device> {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let agent = agent();
    let rng = ring::rand::SystemRandom::new();
    (0..n)
        .map(|i| {
            let township = format!("430121{:03}", 100 + i % 20);
            let (status, code) = call(
                &agent,
                "POST",
                &format!("{}/v1/admin/enrollment-codes", server.url),
                ADMIN_TOKEN,
                Some(&json!({ "officer_name": format!("bench officer {i}"), "jurisdiction": township, "role": "township_staff" })),
            );
            assert_eq!(status, 201, "{code}");
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
            let (_, challenge) = call(&agent, "POST", &format!("{}/v1/enroll/challenge", server.url), "", None);
            let nonce = hex::decode32(challenge["nonce"].as_str().unwrap()).unwrap();
            let code = code["code"].as_str().unwrap();
            let signature = pair.sign(&rng, &possession_message(&nonce, code)).unwrap();
            let (status, enrolled) = call(
                &agent,
                "POST",
                &format!("{}/v1/enroll", server.url),
                "",
                Some(&json!({ "code": code, "public_key": hex::encode(pair.public_key().as_ref()),
                              "nonce": challenge["nonce"], "signature": hex::encode(signature.as_ref()) })),
            );
            assert_eq!(status, 201, "{enrolled}");
            Device {
                token: enrolled["token"].as_str().unwrap().to_owned(),
                officer_id: enrolled["officer_id"].as_str().unwrap().to_owned(),
                township,
            }
        })
        .collect()
}

#[derive(Default)]
struct Latencies {
    push: Vec<Duration>,
    upload: Vec<Duration>,
    baseline: Vec<Duration>,
}

fn run(
    name: &str,
    database_url: Option<String>,
    devices: usize,
    concurrency: usize,
    inspection: &Value,
    photo: &[u8],
    floor: Duration,
) {
    let server = start(database_url);
    let setup = Instant::now();
    let enrolled = enroll(&server, devices);
    println!(
        "\n[{name}] enrolled {devices} devices in {:.1} s (setup, not measured)",
        setup.elapsed().as_secs_f64()
    );

    // Baseline: a route with no storage behind it, same client, same concurrency.
    let baseline_requests = devices * (1 + PHOTOS_PER_DEVICE);
    let baseline = drive(concurrency, baseline_requests, |agent, _, lat, errors| {
        let started = Instant::now();
        let (status, _) = call(agent, "GET", &format!("{}/v1/bureau", server.url), "", None);
        lat.baseline.push(started.elapsed());
        if status != 200 {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    });

    let run = drive(concurrency, devices, |agent, i, lat, errors| {
        let device = &enrolled[i];
        let ops: Vec<Value> = (0..OPS_PER_DEVICE)
            .map(|_| {
                let id = uuid::Uuid::now_v7().to_string();
                let mut body = inspection.clone();
                body["id"] = json!(id);
                body["township_code"] = json!(device.township);
                body["officer_id"] = json!(device.officer_id);
                json!({ "op_id": uuid::Uuid::now_v7().to_string(), "kind": "inspection.submit", "entity_id": id, "payload": body })
            })
            .collect();
        let started = Instant::now();
        let (status, body) = call(
            agent,
            "POST",
            &format!("{}/v1/sync/push", server.url),
            &device.token,
            Some(&json!({ "ops": ops })),
        );
        lat.push.push(started.elapsed());
        let applied = body["results"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|r| r["status"] == "applied").count());
        if status != 200 || applied != OPS_PER_DEVICE {
            errors.fetch_add(1, Ordering::Relaxed);
        }
        for p in 0..PHOTOS_PER_DEVICE {
            let mut bytes = photo.to_vec();
            bytes.extend_from_slice(&(i as u64).to_be_bytes());
            bytes.extend_from_slice(&(p as u64).to_be_bytes());
            let started = Instant::now();
            let ok = upload(agent, &server.url, &device.token, &bytes);
            lat.upload.push(started.elapsed());
            if !ok {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    let (inspections, photos) = server
        .bureau
        .db
        .read(|tx| {
            let i = tx
                .query_one("SELECT COUNT(*) FROM inspections", &[])?
                .int(0)?;
            let p = tx.query_one("SELECT COUNT(*) FROM photos", &[])?.int(0)?;
            Ok((i as usize, p as usize))
        })
        .unwrap();
    let ops = devices * OPS_PER_DEVICE;
    let requests = devices * (1 + PHOTOS_PER_DEVICE);
    let wall = run.wall.as_secs_f64();
    let baseline_rate = baseline_requests as f64 / baseline.wall.as_secs_f64();
    let floor_rate = ops as f64 / floor.as_secs_f64();
    println!(
        "[{name}] run: {wall:.2} s wall, {:.0} inspection ops/s, {:.0} requests/s, {:.1} MB/s of photos",
        ops as f64 / wall,
        requests as f64 / wall,
        (devices * PHOTOS_PER_DEVICE * (photo.len() + 16)) as f64 / wall / 1e6
    );
    print_latency(&format!("[{name}] push (10 ops)"), &run.latencies.push);
    print_latency(&format!("[{name}] photo upload"), &run.latencies.upload);
    let all: Vec<_> = run
        .latencies
        .push
        .iter()
        .chain(&run.latencies.upload)
        .copied()
        .collect();
    print_latency(&format!("[{name}] all requests"), &all);
    print_latency(
        &format!("[{name}] baseline GET /v1/bureau"),
        &baseline.latencies.baseline,
    );
    println!(
        "[{name}] errors: {} (baseline {}); lost: {} ops, {} photos",
        run.errors,
        baseline.errors,
        ops.saturating_sub(inspections),
        (devices * PHOTOS_PER_DEVICE).saturating_sub(photos)
    );
    println!(
        "[{name}] ratio request rate / baseline request rate: {:.2} ({:.0} vs {baseline_rate:.0} req/s)",
        (requests as f64 / wall) / baseline_rate,
        requests as f64 / wall
    );
    println!(
        "[{name}] ratio ops/s / raw rusqlite floor: {:.2} ({:.0} vs {floor_rate:.0} ops/s)",
        (ops as f64 / wall) / floor_rate,
        ops as f64 / wall
    );
    println!("[{name}] goal: ≥ 1000 ops/s, p99 ≤ 250 ms, zero errors, zero lost");
}

/// tus creation-with-upload: the whole photo in the creating request.
fn upload(agent: &ureq::Agent, url: &str, token: &str, bytes: &[u8]) -> bool {
    let b64 = |v: &[u8]| base64::engine::general_purpose::STANDARD.encode(v);
    let sha = fieldproof_core::evidence::sha256(bytes);
    let metadata = format!(
        "photo_id {},sha256 {},filename {}",
        b64(uuid::Uuid::now_v7().to_string().as_bytes()),
        b64(fieldproof_core::hex::encode(&sha).as_bytes()),
        b64(b"photo.jpg")
    );
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{url}/v1/uploads"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", bytes.len().to_string())
        .header("Upload-Metadata", metadata)
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes.to_vec())
        .unwrap();
    match agent.run(request) {
        Ok(response) => {
            let offset = response
                .headers()
                .get("Upload-Offset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            response.status().as_u16() == 201 && offset == Some(bytes.len())
        }
        Err(_) => false,
    }
}

struct Outcome {
    wall: Duration,
    latencies: Latencies,
    errors: usize,
}

/// Runs `work(i)` for i in 0..n on `concurrency` threads, each with its own
/// keep-alive client.
fn drive(
    concurrency: usize,
    n: usize,
    work: impl Fn(&ureq::Agent, usize, &mut Latencies, &AtomicUsize) + Sync,
) -> Outcome {
    let next = AtomicUsize::new(0);
    let errors = AtomicUsize::new(0);
    let merged = Mutex::new(Latencies::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                let agent = agent();
                let mut lat = Latencies::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    work(&agent, i, &mut lat, &errors);
                }
                let mut merged = merged.lock().unwrap();
                merged.push.extend(lat.push);
                merged.upload.extend(lat.upload);
                merged.baseline.extend(lat.baseline);
            });
        }
    });
    Outcome {
        wall: started.elapsed(),
        latencies: merged.into_inner().unwrap(),
        errors: errors.into_inner(),
    }
}

fn print_latency(label: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |q: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "{label}: n={} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        sorted.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// A submitted inspection as a real device store serialises it: the template each
/// op's payload is cloned from (with a fresh id and the device's township).
fn template_inspection() -> Value {
    use fieldproof_core::fixtures::{draft_fields, straw_burning_answers};
    let dir = tempfile::tempdir().unwrap();
    let store = fieldproof_core::store::Store::open(dir.path().join("device.db")).unwrap();
    let (fields, answers) = (draft_fields("430121101"), straw_burning_answers());
    let draft = store
        .create_draft("straw_burning", fields, &answers)
        .unwrap();
    serde_json::to_value(store.submit(&draft.id).unwrap()).unwrap()
}

/// A small real photo: a corpus camera photo scaled to 640 px by the core.
fn small_photo() -> Vec<u8> {
    let root = std::env::var_os("FIELDPROOF_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
        });
    let path = root.join("photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg");
    let mut file = std::fs::File::open(&path).unwrap_or_else(|_| {
        panic!(
            "corpus photo missing: {} (set FIELDPROOF_CORPUS)",
            path.display()
        )
    });
    let limits = fieldproof_core::evidence::thumbnail::DecodeLimits::default();
    fieldproof_core::evidence::thumbnail::make_thumbnail(&mut file, 640, None, &limits)
        .unwrap()
        .jpeg
}

/// The same inserts as the push path's (an inspection row and an op row per op,
/// 10 ops per transaction) with bare rusqlite: the storage floor.
fn raw_sqlite_floor(devices: usize, inspection: &Value) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("floor.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE inspections (id TEXT PRIMARY KEY, body TEXT NOT NULL, received_ms INTEGER NOT NULL);
         CREATE TABLE applied_ops (op_id TEXT PRIMARY KEY, result TEXT NOT NULL);",
    )
    .unwrap();
    let body = inspection.to_string();
    let started = Instant::now();
    for _ in 0..devices {
        let tx = conn.unchecked_transaction().unwrap();
        for _ in 0..OPS_PER_DEVICE {
            let id = uuid::Uuid::now_v7().to_string();
            tx.execute(
                "INSERT INTO inspections VALUES (?1, ?2, 0)",
                rusqlite::params![id, body],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO applied_ops VALUES (?1, '{}')",
                rusqlite::params![uuid::Uuid::now_v7().to_string()],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let floor = started.elapsed();
    println!(
        "baseline raw rusqlite: {devices} transactions of {OPS_PER_DEVICE} ops in {:.2} s",
        floor.as_secs_f64()
    );
    floor
}

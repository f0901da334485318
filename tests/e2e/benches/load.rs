//! Load benchmark: many enrolled devices pushing inspection ops and uploading
//! photos at once, with clients and servers on this machine.
//!
//!     cargo bench -p fieldproof-e2e --bench load [-- DEVICES CONCURRENCY]
//!
//! **Embedded**: one bureau in this process on SQLite (and again on PostgreSQL with
//! `FIELDPROOF_BENCH_POSTGRES_URL`, a database the bench may fill). Defaults:
//! 1,000 devices, 64 in flight; each device pushes one batch of 10
//! `inspection.submit` ops, then uploads 2 small photos (tus creation-with-upload,
//! one request each).
//!
//! **Provincial** (when the test servers are set, as `scripts/test` sets them:
//! `FIELDPROOF_TEST_POSTGRES_URL`, `FIELDPROOF_TEST_S3_*`): bureau processes on
//! PostgreSQL and S3 (SeaweedFS) behind nginx (`fieldproof_e2e::cluster`), on 1
//! and on 3 processes. Each device pushes 10 ops and uploads 3 photos of 2.2 MB
//! (a corpus camera photo, made distinct per device): a burning-season hour's
//! work per device. `FIELDPROOF_BENCH_PROVINCE_DEVICES` devices (default 1,000:
//! 6.6 GB of photos; 10,000 would need 66 GB of disk), the same concurrency.
//!
//! Printed: throughput (inspection ops/s, photos/s, requests/s), p50/p99 latency
//! per request kind, errors, and lost ops and photos (counted in the bureau's
//! database afterwards). Baselines run side by side, and ratios against them:
//! - `GET /v1/bureau` with the same client and concurrency (through nginx for the
//!   provincial runs): HTTP and client cost, no storage;
//! - the same inserts done raw (10 rows per transaction, durable commits):
//!   rusqlite for the embedded runs, the `postgres` crate for the provincial ones.

use base64::Engine;
use fieldproof_core::hex;
use fieldproof_core::wire::enrollment::possession_message;
use fieldproof_e2e::cluster::BureauCluster;
use fieldproof_e2e::servers::ScratchDatabase;
use fieldproof_e2e::{corpus, BureauUnderTest, TestBureau, ADMIN_TOKEN};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const OPS_PER_DEVICE: usize = 10;

/// Every simulated device enrolls and syncs from one loopback address, at
/// loopback speed: the per-address and per-device limits are not what is measured.
const UNLIMITED: &str = "[limits]\nenroll_per_minute = 1000000\n\
                         device_requests_per_minute = 1000000\n";

/// What each device uploads: `count` photos made from `base`.
struct Photos {
    base: Vec<u8>,
    count: usize,
}

/// A bureau to load: where it answers, and how to look into its storage.
struct Target<'a> {
    name: String,
    url: String,
    bureau: &'a dyn BureauUnderTest,
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let devices = args.first().copied().unwrap_or(1000);
    let concurrency = args.get(1).copied().unwrap_or(64);
    let inspection = template_inspection();

    let small = Photos {
        base: small_photo(),
        count: 2,
    };
    println!(
        "embedded: {devices} devices × ({OPS_PER_DEVICE} ops + {} photos of {} bytes), \
         {concurrency} in flight",
        small.count,
        small.base.len() + 16
    );
    let floor = raw_sqlite_floor(devices, &inspection);
    let mut databases = vec![None];
    databases.extend(
        std::env::var("FIELDPROOF_BENCH_POSTGRES_URL")
            .ok()
            .map(Some),
    );
    for database_url in databases {
        let bureau = TestBureau::start_with(|c| {
            c.database_url = database_url.clone();
            c.limits.enroll_per_minute = 1_000_000;
            c.limits.device_requests_per_minute = 1_000_000;
        });
        let name = if database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        };
        let target = Target {
            name: name.into(),
            url: bureau.url.clone(),
            bureau: &bureau,
        };
        run(&target, devices, concurrency, &inspection, &small, floor);
    }

    // The provincial bureau, when the test servers are there.
    let set = |var: &str| std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "skip");
    if !(set("FIELDPROOF_TEST_POSTGRES_URL") && set("FIELDPROOF_TEST_S3_ENDPOINT")) {
        println!(
            "\nprovincial: not run (FIELDPROOF_TEST_POSTGRES_URL and FIELDPROOF_TEST_S3_* unset)"
        );
        return;
    }
    let devices: usize = std::env::var("FIELDPROOF_BENCH_PROVINCE_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let large = Photos {
        base: std::fs::read(corpus("photos/camera/phone_nokia83_gps.jpg")).unwrap(),
        count: 3,
    };
    println!(
        "\nprovincial: {devices} devices × ({OPS_PER_DEVICE} ops + {} photos of {:.1} MB), \
         {concurrency} in flight, PostgreSQL + S3 (SeaweedFS) behind nginx",
        large.count,
        large.base.len() as f64 / 1e6
    );
    let floor = raw_postgres_floor(devices, &inspection);
    for processes in [1, 3] {
        let program = std::path::Path::new(env!("CARGO_BIN_EXE_bureau-process"));
        let cluster = BureauCluster::start_with(program, processes, UNLIMITED)
            .expect("the test servers answer");
        let target = Target {
            name: format!(
                "{processes} process{}",
                if processes == 1 { "" } else { "es" }
            ),
            url: cluster.url.clone(),
            bureau: &cluster,
        };
        run(&target, devices, concurrency, &inspection, &large, floor);
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
fn enroll(url: &str, n: usize) -> Vec<Device> {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let agent = agent();
    let rng = ring::rand::SystemRandom::new();
    (0..n)
        .map(|i| {
            let township = format!("430121{:03}", 100 + i % 20);
            let (status, code) = call(
                &agent,
                "POST",
                &format!("{url}/v1/admin/enrollment-codes"),
                ADMIN_TOKEN,
                Some(&json!({ "officer_name": format!("bench officer {i}"), "jurisdiction": township, "role": "township_staff" })),
            );
            assert_eq!(status, 201, "{code}");
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
            let (_, challenge) = call(&agent, "POST", &format!("{url}/v1/enroll/challenge"), "", None);
            let nonce = hex::decode32(challenge["nonce"].as_str().unwrap()).unwrap();
            let code = code["code"].as_str().unwrap();
            let signature = pair.sign(&rng, &possession_message(&nonce, code)).unwrap();
            let (status, enrolled) = call(
                &agent,
                "POST",
                &format!("{url}/v1/enroll"),
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
    /// Why uploads failed: status and code.
    failures: Vec<String>,
}

fn run(
    target: &Target,
    devices: usize,
    concurrency: usize,
    inspection: &Value,
    photos: &Photos,
    floor: Duration,
) {
    let (name, url) = (&target.name, &target.url);
    let setup = Instant::now();
    let enrolled = enroll(url, devices);
    println!(
        "\n[{name}] enrolled {devices} devices in {:.1} s (setup, not measured)",
        setup.elapsed().as_secs_f64()
    );

    // Baseline: a route with no storage behind it, same client, same concurrency.
    let baseline_requests = devices * (1 + photos.count);
    let baseline = drive(concurrency, baseline_requests, |agent, _, lat, errors| {
        let started = Instant::now();
        let (status, _) = call(agent, "GET", &format!("{url}/v1/bureau"), "", None);
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
            &format!("{url}/v1/sync/push"),
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
        for p in 0..photos.count {
            let mut bytes = photos.base.clone();
            bytes.extend_from_slice(&(i as u64).to_be_bytes());
            bytes.extend_from_slice(&(p as u64).to_be_bytes());
            let started = Instant::now();
            let uploaded = upload(agent, url, &device.token, &bytes);
            lat.upload.push(started.elapsed());
            if let Err(failure) = uploaded {
                errors.fetch_add(1, Ordering::Relaxed);
                lat.failures.push(failure);
            }
        }
    });

    let (inspections, held) = target
        .bureau
        .view()
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
    let sent = devices * photos.count;
    let requests = devices * (1 + photos.count);
    let wall = run.wall.as_secs_f64();
    let baseline_rate = baseline_requests as f64 / baseline.wall.as_secs_f64();
    let floor_rate = ops as f64 / floor.as_secs_f64();
    println!(
        "[{name}] run: {wall:.2} s wall, {:.0} inspection ops/s, {:.1} photos/s, \
         {:.0} requests/s, {:.1} MB/s of photos",
        ops as f64 / wall,
        sent as f64 / wall,
        requests as f64 / wall,
        (sent * (photos.base.len() + 16)) as f64 / wall / 1e6
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
        sent.saturating_sub(held)
    );
    let mut failures = std::collections::BTreeMap::new();
    for failure in &run.latencies.failures {
        *failures.entry(failure.as_str()).or_insert(0) += 1;
    }
    if !failures.is_empty() {
        println!("[{name}] failed uploads: {failures:?}");
    }
    println!(
        "[{name}] ratio request rate / baseline request rate: {:.2} ({:.0} vs {baseline_rate:.0} req/s)",
        (requests as f64 / wall) / baseline_rate,
        requests as f64 / wall
    );
    println!(
        "[{name}] ratio ops/s / raw insert floor: {:.2} ({:.0} vs {floor_rate:.0} ops/s)",
        (ops as f64 / wall) / floor_rate,
        ops as f64 / wall
    );
    println!("[{name}] goal: ≥ 1000 ops/s, ≥ 100 photos/s (provincial), p99 ≤ 250 ms, zero errors, zero lost");
}

/// tus creation-with-upload: the whole photo in the creating request. Returns
/// the failure (status and code, 0 when no answer came) if it did not complete.
fn upload(agent: &ureq::Agent, url: &str, token: &str, bytes: &[u8]) -> Result<(), String> {
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
    let response = agent.run(request).map_err(|e| format!("0 {e}"))?;
    let status = response.status().as_u16();
    let offset = response
        .headers()
        .get("Upload-Offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if status == 201 && offset == Some(bytes.len()) {
        return Ok(());
    }
    let body = response.into_body().read_to_string().unwrap_or_default();
    let code: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    Err(format!(
        "{status} {}",
        code["error"]["code"].as_str().unwrap_or("")
    ))
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
                merged.failures.extend(lat.failures);
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
    let path = corpus("photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg");
    let mut file = std::fs::File::open(&path).unwrap();
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
    time_floor("raw rusqlite", devices, || {
        let tx = conn.unchecked_transaction().unwrap();
        for (inspection_id, op_id) in new_ids() {
            tx.execute(
                "INSERT INTO inspections VALUES (?1, ?2, 0)",
                rusqlite::params![inspection_id, body],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO applied_ops VALUES (?1, '{}')",
                rusqlite::params![op_id],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    })
}

/// An inspection id and an op id for each op of a push.
fn new_ids() -> Vec<(String, String)> {
    let id = || uuid::Uuid::now_v7().to_string();
    (0..OPS_PER_DEVICE).map(|_| (id(), id())).collect()
}

/// Times one transaction of a push's inserts per device, done by `transaction`.
fn time_floor(what: &str, devices: usize, mut transaction: impl FnMut()) -> Duration {
    let started = Instant::now();
    (0..devices).for_each(|_| transaction());
    let floor = started.elapsed();
    println!(
        "baseline {what}: {devices} transactions of {OPS_PER_DEVICE} ops in {:.2} s",
        floor.as_secs_f64()
    );
    floor
}

/// The same inserts as the push path's, raw on PostgreSQL (a scratch database
/// on the test server, durable commits): the storage floor of the provincial runs.
fn raw_postgres_floor(devices: usize, inspection: &Value) -> Duration {
    let scratch = ScratchDatabase::create().expect("the test PostgreSQL answers");
    let mut client = postgres::Client::connect(&scratch.url, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE TABLE inspections (id TEXT PRIMARY KEY, body TEXT NOT NULL, received_ms BIGINT NOT NULL);
             CREATE TABLE applied_ops (op_id TEXT PRIMARY KEY, result TEXT NOT NULL);",
        )
        .unwrap();
    let body = inspection.to_string();
    time_floor("raw PostgreSQL", devices, || {
        let mut tx = client.transaction().unwrap();
        for (inspection_id, op_id) in new_ids() {
            tx.execute(
                "INSERT INTO inspections VALUES ($1, $2, 0)",
                &[&inspection_id, &body],
            )
            .unwrap();
            tx.execute("INSERT INTO applied_ops VALUES ($1, '{}')", &[&op_id])
                .unwrap();
        }
        tx.commit().unwrap();
    })
}

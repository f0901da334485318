//! Device sync benchmark against a bureau on loopback in this process. Figures are
//! printed, never asserted; each is set against a baseline measured in the same
//! run, on the same bureau.
//!
//!     cargo bench -p fieldproof-e2e --bench sync [-- ROUNDS]
//!
//! - **push**: 1,000 submitted inspections pushed by the sync engine (`sync_once`
//!   until done: batches, answers recorded on the outbox), against the same number
//!   of ops POSTed to `/v1/sync/push` in batches of 100 by a bare HTTP loop (no
//!   device bookkeeping: the wire-and-bureau floor).
//! - **upload**: the corpus photos (`photos/camera`, `photos/orientation`) sent by
//!   the sync engine (a device that captured them syncing: pushes of their
//!   records included) and by the core's uploader alone (`upload_file`), against
//!   tuspy uploading the same files to the same bureau (tests/interop/tus_bench.py,
//!   the upload of tus_upload.py: 2 MiB chunks, SHA-256 chunk checksums, as the
//!   device sends). Goal: at least 1× tuspy's throughput.
//! - **2G**: a device syncing an inspection with three photos through the noxious
//!   proxy's 2G-like link (about 20 KB/s each way, 500 ms round trips): bytes on
//!   the wire both ways (headers and all, counted by a TCP relay in front of the
//!   proxy) divided by payload bytes (photo files the bureau confirmed: originals
//!   and the previews sent first on a slow link). Goal: at most 1.10.
//! - **2G pull**: a freshly enrolled county device's first sync on the same link,
//!   which pulls its reference data (its county's boundary, the checklists) with
//!   the gzip the core asks for, against the same engine with `Accept-Encoding`
//!   taken off its requests: bytes down and seconds, side by side.
//!
//! ROUNDS (default 3) repeats the push and upload measures, each on fresh devices
//! (the bureau takes a photo once per device), alternating engine and baseline;
//! medians are printed. Needs python3 with tuspy (scripts/install-test-deps) for
//! the tuspy line; without it that line says so and the rest still runs.

use fieldproof_core::model::id::new_id;
use fieldproof_core::sync::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use fieldproof_core::sync::{upload_file, HttpTransport, SyncEngine, TusFile, UploadOutcome};
use fieldproof_e2e::faults::{self, FaultProxy};
use fieldproof_e2e::invariants::uploaded_payload;
use fieldproof_e2e::{
    assert_settled, corpus, engine_via, sync_until_done, CuttingProxy, Device, TestBureau, Wire,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const INSPECTIONS: usize = 1_000;
const TOWNSHIP: &str = "430121101";
const TUSPY_CHUNK: u64 = 2 * 1024 * 1024;
const TWO_G_PHOTOS: [&str; 3] = [
    "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
    "photos/odd/progressive_multi_app13.jpg",
    "photos/odd/pixel6_ultrahdr_gps_zhejiang_truncated.jpg",
];

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3)
        .max(1);
    let bureau = TestBureau::start();
    println!(
        "sync bench: bureau on {} (SQLite), {rounds} rounds",
        bureau.url
    );
    push(&bureau, rounds);
    upload(&bureau, rounds);
    two_g();
    two_g_pull();
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn enrolled(bureau: &TestBureau) -> Device {
    let device = Device::new();
    device.enroll(bureau);
    device
}

fn token(device: &Device) -> String {
    rusqlite::Connection::open(device.db_path())
        .unwrap()
        .query_row("SELECT token FROM enrollment", [], |row| row.get(0))
        .unwrap()
}

fn submitted_inspections(device: &Device, count: usize) {
    for i in 0..count {
        let id = device.record_inspection(TOWNSHIP, &format!("{i} 号田"));
        device.store.submit(&id).unwrap();
    }
}

// --- push ----------------------------------------------------------------------

fn push(bureau: &TestBureau, rounds: usize) {
    let (mut engine_s, mut bare_s, mut body_bytes) = (Vec::new(), Vec::new(), 0);
    for _ in 0..rounds {
        let device = enrolled(bureau);
        submitted_inspections(&device, INSPECTIONS);
        let engine = device.engine(std::sync::Arc::new(HttpTransport::new()));
        let started = Instant::now();
        let reports = sync_until_done(&engine, 5);
        engine_s.push(started.elapsed().as_secs_f64());
        let pushed: u32 = reports.iter().map(|r| r.ops_pushed).sum();
        assert_eq!(pushed as usize, INSPECTIONS, "every op answered");

        let device = enrolled(bureau);
        submitted_inspections(&device, INSPECTIONS);
        let (seconds, bytes) = bare_push(bureau, &device);
        bare_s.push(seconds);
        body_bytes = bytes;
    }
    let (engine, bare) = (median(engine_s), median(bare_s));
    println!(
        "push    {INSPECTIONS} inspections ({:.1} MB of JSON): engine {:.3} s = {:.0} ops/s; \
         bare POST loop {:.3} s = {:.0} ops/s",
        body_bytes as f64 / 1e6,
        engine,
        INSPECTIONS as f64 / engine,
        bare,
        INSPECTIONS as f64 / bare
    );
    println!(
        "RATIO push: engine / bare POST loop throughput = {:.2}x",
        bare / engine
    );
}

/// The device's outbox POSTed as the engine would batch it (100 ops), with no
/// device bookkeeping. Returns (seconds, body bytes).
fn bare_push(bureau: &TestBureau, device: &Device) -> (f64, usize) {
    let ops = device.store.pending_outbox(10_000).unwrap();
    let bodies: Vec<String> = ops
        .chunks(100)
        .map(|batch| {
            let ops: Vec<String> = batch
                .iter()
                .map(|op| {
                    format!(
                        r#"{{"op_id":{},"kind":{},"entity_id":{},"payload":{}}}"#,
                        Value::from(op.op_id.as_str()),
                        Value::from(op.kind.as_str()),
                        Value::from(op.entity_id.as_str()),
                        op.payload
                    )
                })
                .collect();
            format!(r#"{{"ops":[{}]}}"#, ops.join(","))
        })
        .collect();
    let token = token(device);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let started = Instant::now();
    for body in &bodies {
        let mut answer = agent
            .post(format!("{}/v1/sync/push", bureau.url))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .expect("the bureau answers");
        assert_eq!(answer.status().as_u16(), 200);
        let answer: Value = answer.body_mut().read_json().unwrap();
        assert!(answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "applied"));
    }
    (
        started.elapsed().as_secs_f64(),
        bodies.iter().map(String::len).sum(),
    )
}

// --- upload --------------------------------------------------------------------

fn corpus_photos() -> Vec<PathBuf> {
    let mut photos = Vec::new();
    for folder in ["photos/camera", "photos/orientation"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(corpus(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .collect();
        found.sort();
        photos.extend(found);
    }
    photos
}

fn upload(bureau: &TestBureau, rounds: usize) {
    let photos = corpus_photos();
    let bytes: u64 = photos
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let tuspy_ready = Command::new("python3")
        .args(["-c", "import tusclient"])
        .output()
        .is_ok_and(|o| o.status.success());
    let (mut engine_s, mut uploader_s, mut tuspy_s) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        engine_s.push(engine_upload(bureau, &photos));
        uploader_s.push(uploader_upload(bureau, &photos));
        if tuspy_ready {
            tuspy_s.push(tuspy_upload(bureau, &photos));
        }
    }
    let mb_s = |seconds: f64| bytes as f64 / 1e6 / seconds;
    let (engine, uploader) = (median(engine_s), median(uploader_s));
    println!(
        "upload  {} corpus photos, {:.1} MB: sync engine {:.3} s = {:.1} MB/s; \
         core uploader alone {:.3} s = {:.1} MB/s",
        photos.len(),
        bytes as f64 / 1e6,
        engine,
        mb_s(engine),
        uploader,
        mb_s(uploader)
    );
    if tuspy_s.is_empty() {
        println!("upload  tuspy: python3 with tuspy not found (run scripts/install-test-deps)");
        return;
    }
    let tuspy = median(tuspy_s);
    println!(
        "upload  tuspy (2 MiB chunks, sha256 checksums) {:.3} s = {:.1} MB/s",
        tuspy,
        mb_s(tuspy)
    );
    println!(
        "RATIO upload: sync engine / tuspy throughput = {:.2}x (goal >= 1x)",
        tuspy / engine
    );
    println!(
        "RATIO upload: core uploader / tuspy throughput = {:.2}x (goal >= 1x)",
        tuspy / uploader
    );
}

/// A device that captured the photos syncs them; seconds of the sync.
fn engine_upload(bureau: &TestBureau, photos: &[PathBuf]) -> f64 {
    let device = enrolled(bureau);
    let id = device.record_inspection(TOWNSHIP, "基准测试");
    for photo in photos {
        fieldproof_e2e::capture(&device.store, &id, photo);
    }
    device.store.submit(&id).unwrap();
    let engine: SyncEngine = device.engine(std::sync::Arc::new(HttpTransport::new()));
    let started = Instant::now();
    sync_until_done(&engine, 5);
    let seconds = started.elapsed().as_secs_f64();
    let tally = assert_settled(&device.db_path(), bureau);
    assert_eq!(tally.photos, photos.len());
    seconds
}

/// The core's uploader alone, file after file on one connection pool.
fn uploader_upload(bureau: &TestBureau, photos: &[PathBuf]) -> f64 {
    let device = enrolled(bureau);
    let token = token(&device);
    let endpoint = format!("{}/v1/uploads", bureau.url);
    let mut files: Vec<TusFile> = photos
        .iter()
        .map(|p| TusFile::new(p, &new_id(), "image/jpeg").unwrap())
        .collect();
    let transport = HttpTransport::new();
    let started = Instant::now();
    for file in &mut files {
        let outcome = upload_file(
            &transport,
            &endpoint,
            Some(&token),
            file,
            Instant::now() + Duration::from_secs(120),
        )
        .unwrap();
        assert_eq!(outcome, UploadOutcome::Complete);
    }
    started.elapsed().as_secs_f64()
}

/// tuspy, in one Python process; the seconds it measured around the uploads.
fn tuspy_upload(bureau: &TestBureau, photos: &[PathBuf]) -> f64 {
    let device = enrolled(bureau);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/tus_bench.py");
    let output = Command::new("python3")
        .arg(script)
        .args(["--endpoint", &format!("{}/v1/uploads", bureau.url)])
        .args(["--token", &token(&device)])
        .args(["--chunk-size", &TUSPY_CHUNK.to_string()])
        .args(["--checksum", "sha256"])
        .args(photos)
        .output()
        .expect("python3 runs");
    let line = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(line.trim()).unwrap_or(Value::Null);
    assert!(
        output.status.success() && result["seconds"].is_number(),
        "tuspy failed: {line} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    result["seconds"].as_f64().unwrap()
}

// --- 2G --------------------------------------------------------------------------

fn two_g() {
    let bureau = TestBureau::start();
    let device = enrolled(&bureau);
    let id = device.record_inspection(TOWNSHIP, "村口稻田");
    for photo in TWO_G_PHOTOS {
        device.capture(&id, photo);
    }
    device.store.submit(&id).unwrap();
    let link = FaultProxy::start(bureau.addr, faults::two_g());
    let counter = CuttingProxy::counting(link.addr);
    let wire = Wire::new();
    let engine = engine_via(&device, wire.clone(), &counter.url);
    let started = Instant::now();
    let reports = sync_until_done(&engine, 20);
    let took = started.elapsed();
    assert_settled(&device.db_path(), &bureau);
    let payload = uploaded_payload(&device.db_path());
    let originals: u64 = TWO_G_PHOTOS
        .iter()
        .map(|p| std::fs::metadata(corpus(p)).unwrap().len())
        .sum();
    let (up, down) = (counter.bytes_up(), counter.bytes_down());
    println!(
        "2G      {} photos ({originals} bytes; {payload} payload bytes with previews) in \
         {:.1} s, {} sync calls, {} requests: {up} bytes up, {down} down",
        TWO_G_PHOTOS.len(),
        took.as_secs_f64(),
        reports.len(),
        wire.exchanges().len()
    );
    println!(
        "RATIO 2G: wire bytes / payload bytes = {:.3} (goal <= 1.10); up only {:.3}",
        (up + down) as f64 / payload as f64,
        up as f64 / payload as f64
    );
}

/// The baseline transport of the 2G pull: the engine's requests without
/// `Accept-Encoding`, so the bureau answers uncompressed.
struct Identity(Arc<Wire>);

impl Transport for Identity {
    fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        request
            .headers
            .retain(|h| !h.name.eq_ignore_ascii_case("Accept-Encoding"));
        self.0.send(request)
    }
}

fn two_g_pull() {
    let counties: Value = serde_json::from_slice(
        &std::fs::read(corpus("boundaries/counties_by_city/430100.json")).unwrap(),
    )
    .unwrap();
    let mut runs = Vec::new();
    for gzip in [false, true] {
        let bureau = TestBureau::start();
        let (status, _) = bureau.admin("POST", "/v1/admin/boundaries?datum=gcj02", Some(&counties));
        assert_eq!(status, 200);
        let device = enrolled(&bureau);
        let link = FaultProxy::start(bureau.addr, faults::two_g());
        let counter = CuttingProxy::counting(link.addr);
        let transport: Arc<dyn Transport> = if gzip {
            Wire::new()
        } else {
            Arc::new(Identity(Wire::new()))
        };
        let engine = engine_via(&device, transport, &counter.url);
        let started = Instant::now();
        let reports = sync_until_done(&engine, 20);
        let pulled: u32 = reports.iter().map(|r| r.records_pulled).sum();
        runs.push((
            counter.bytes_down(),
            started.elapsed().as_secs_f64(),
            pulled,
        ));
    }
    let [(plain, plain_s, plain_n), (gzipped, gzip_s, gzip_n)] = runs[..] else {
        unreachable!("two runs")
    };
    assert_eq!(plain_n, gzip_n, "both pulled the same changes");
    println!(
        "2G pull {plain_n} changes: identity {plain} bytes down in {plain_s:.1} s; \
         gzip {gzipped} bytes down in {gzip_s:.1} s"
    );
    println!(
        "RATIO 2G pull: gzip / identity bytes down = {:.3}, seconds = {:.3}",
        gzipped as f64 / plain as f64,
        gzip_s / plain_s
    );
}

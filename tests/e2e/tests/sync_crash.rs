//! Crash safety: the app (the `field-worker` binary of this crate, a real process
//! with its own connection to the device database) records inspections, takes
//! corpus photos and syncs in a loop, and is killed with SIGKILL at random moments
//! — in the middle of a capture, a push, an upload, a database write — then started
//! again. After the last kill the app runs to the end and sync settles; then the
//! invariants hold (`fieldproof_e2e::invariants`: every op applied or refused with
//! a reason, none lost, none applied twice, every photo byte-identical), the
//! device's evidence chain verifies, and `PRAGMA integrity_check` is `ok` after
//! every kill.
//!
//! The kill moments come from a seed printed as `FIELDPROOF_CRASH_SEED=…` (set it
//! to replay a run); `FIELDPROOF_CRASH_ITERATIONS` sets the number of kills
//! (default 100). The app talks to the bureau through the noxious proxy at about
//! 1 MB/s, so that uploads last long enough to be killed in.

use fieldproof_core::store::Store;
use fieldproof_core::sync::{SyncEngine, SyncOptions};
use fieldproof_e2e::faults::{self, Downstream, FaultProxy, Upstream};
use fieldproof_e2e::{
    assert_settled, corpus, sync_until_done, Device, SeededRng, TestBureau, Wire,
};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PHOTOS: [&str; 4] = [
    "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
    "photos/odd/progressive_multi_app13.jpg",
    "photos/camera/nikon_coolpix_p6000_gps_DSCN0021.jpg",
    "photos/odd/pixel6_ultrahdr_gps_zhejiang_truncated.jpg",
];
/// A kill comes this long after the start, at most.
const MAX_LIFE_MS: u64 = 900;

fn integrity_check(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(verdict, "ok", "integrity_check of the device database");
}

/// A killed app leaves its sync lease behind, holding other calls off until its
/// deadline plus 30 s have passed. The test knows the app is dead, and ends the
/// lease rather than wait that time out.
fn end_dead_lease(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute(
        "UPDATE sync_lease SET holder = NULL, expires_at_ms = NULL",
        [],
    )
    .unwrap();
}

#[test]
fn an_app_killed_at_random_moments_loses_nothing() {
    let iterations: usize = std::env::var("FIELDPROOF_CRASH_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let mut rng = SeededRng::from_env("FIELDPROOF_CRASH_SEED");
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let db = device.db_path();
    let mut toxics = faults::bandwidth("up", Upstream, 1_000);
    toxics.extend(faults::bandwidth("down", Downstream, 1_000));
    let link = FaultProxy::start(bureau.addr, toxics);
    let photos: Vec<PathBuf> = PHOTOS.iter().map(|p| corpus(p)).collect();

    let started = Instant::now();
    let mut killed_in: BTreeMap<String, usize> = BTreeMap::new();
    for round in 0..iterations {
        let mut app = Command::new(env!("CARGO_BIN_EXE_field-worker"));
        app.arg("--db")
            .arg(&db)
            .args(["--server", &link.url])
            .args(["--first", &(round % photos.len()).to_string()]);
        for photo in &photos {
            app.arg("--photo").arg(photo);
        }
        let mut app = app
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the app starts");
        std::thread::sleep(Duration::from_millis(rng.below(0..MAX_LIFE_MS)));
        let ended_itself = app.try_wait().unwrap();
        if ended_itself.is_none() {
            app.kill().expect("SIGKILL");
        }
        let status = app.wait().unwrap();
        let (mut out, mut err) = (String::new(), String::new());
        app.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        app.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        if ended_itself.is_some() {
            assert!(status.success(), "the app failed on its own: {err}");
        }
        let phase = out
            .lines()
            .filter_map(|l| l.strip_prefix("phase "))
            .next_back()
            .unwrap_or("start");
        *killed_in.entry(phase.to_owned()).or_default() += 1;
        end_dead_lease(&db);
        integrity_check(&db);
    }
    println!(
        "{iterations} kills in {:.1?}, by phase: {killed_in:?}",
        started.elapsed()
    );
    // Kills landed on the wire (a push, an upload in flight) and in local writes.
    for phase in ["push", "upload", "capture"] {
        assert!(
            killed_in.get(phase).copied().unwrap_or(0) > 0,
            "no kill landed in {phase}: {killed_in:?}"
        );
    }

    // The kills stop: the app runs once more, to the end, and sync settles.
    let store = Arc::new(Store::open(&db).unwrap());
    let engine = SyncEngine::new(store.clone(), Wire::new()).with_options(SyncOptions {
        server_url: Some(link.url.clone()),
        ..SyncOptions::default()
    });
    sync_until_done(&engine, 50);
    integrity_check(&db);
    assert!(store.verify_evidence().unwrap().is_intact());
    let tally = assert_settled(&db, &bureau);
    let captured: usize = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM photos", [], |row| row.get(0))
        .unwrap();
    println!("settled: {tally:?}, {captured} photos captured");
    assert_eq!(tally.refused, 0, "nothing refused: {tally:?}");
    assert_eq!(tally.photos, captured, "every photo at the bureau");
    assert!(captured > 0);
}

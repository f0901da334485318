//! Sync when things go wrong: connections cut at arbitrary bytes, answers lost on
//! the way back, two sync calls at once on one database, a revoked device, a
//! cancelled call, a slow link. Each ends with the sync invariants
//! (`fieldproof_e2e::invariants`); the noxious fault proxy scenarios are in
//! `sync_link_faults.rs`.

use fieldproof_core::evidence::sha256;
use fieldproof_core::hex;
use fieldproof_core::model::photo::Photo;
use fieldproof_core::model::sync::{OpState, UploadState};
use fieldproof_core::sync::{ErrorClass, SyncOptions, SyncReport};
use fieldproof_e2e::{
    assert_consistent, assert_settled, engine_via, sync_until_done, CuttingProxy, Device, Exchange,
    TestBureau, Wire,
};
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const TOWNSHIP: &str = "430121101";

/// An inspection with photos, submitted; returns the photos.
fn field_work(device: &Device, photos: &[&str]) -> Vec<Photo> {
    let id = device.record_inspection(TOWNSHIP, "稻田");
    let photos = photos.iter().map(|p| device.capture(&id, p)).collect();
    device.store.submit(&id).unwrap();
    photos
}

fn assert_photos_at_bureau(device: &Device, bureau: &TestBureau, photos: &[Photo]) {
    for photo in photos {
        let original = std::fs::read(device.store.original_path(&photo.id).unwrap()).unwrap();
        let held = std::fs::read(bureau.photo_path(&photo.sha256)).unwrap();
        assert!(original == held, "photo {} differs at the bureau", photo.id);
        let sync = device.store.photo_sync(&photo.id).unwrap();
        assert_eq!(sync.photo_op.unwrap().state, OpState::Applied);
        assert_eq!(sync.record_op.unwrap().state, OpState::Applied);
    }
}

fn chunk_requests(exchanges: &[Exchange]) -> impl Iterator<Item = &Exchange> {
    exchanges
        .iter()
        .filter(|e| e.path.starts_with("/v1/uploads") && e.body_len > 0)
}

/// What was sent more than once is no more than what was in flight when the
/// link failed: every byte the bureau confirmed went exactly once.
fn assert_resent_at_most_in_flight(exchanges: &[Exchange], photos: &[Photo]) -> usize {
    let sent: usize = chunk_requests(exchanges).map(|e| e.body_len).sum();
    let lost: Vec<usize> = chunk_requests(exchanges)
        .filter(|e| e.status.is_none())
        .map(|e| e.body_len)
        .collect();
    let sizes: u64 = photos.iter().map(|p| p.size).sum();
    let resent = sent - sizes as usize;
    assert!(
        resent <= lost.iter().sum(),
        "re-sent {resent} bytes, but only {lost:?} were in flight at failures"
    );
    assert!(
        lost.iter().all(|&n| n <= 2 * 1024 * 1024),
        "a chunk is at most 2 MiB"
    );
    lost.len()
}

#[test]
fn uploads_cut_at_any_byte_resume_without_resending_what_arrived() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        &[
            "photos/camera/canon_sx60_orient6.jpg",
            "photos/camera/phone_iphone6_gps_hdr.jpg",
            "photos/orientation/Landscape_1.jpg",
        ],
    );
    // Every connection is cut once it has carried 300 kB towards the bureau.
    let proxy = CuttingProxy::start(bureau.addr, 300_000);
    let wire = Wire::new();
    let engine = engine_via(&device, wire.clone(), &proxy.url);
    let reports = sync_until_done(&engine, 200);
    assert!(
        proxy.cuts() > 3,
        "the proxy cut {} connections",
        proxy.cuts()
    );
    assert!(
        reports.iter().any(|r| r
            .last_error
            .as_ref()
            .is_some_and(|e| e.class == ErrorClass::Offline)),
        "cuts show as offline"
    );
    assert_photos_at_bureau(&device, &bureau, &photos);
    let failures = assert_resent_at_most_in_flight(&wire.exchanges(), &photos);
    assert!(failures > 0, "some chunk was cut in flight");
    let confirmed: u64 = reports.iter().map(|r| r.bytes_uploaded).sum();
    assert_eq!(confirmed, photos.iter().map(|p| p.size).sum::<u64>());
    assert_settled(&device.db_path(), &bureau);
}

#[test]
fn lost_answers_are_resumed_from_the_bureaus_offset() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        &[
            "photos/camera/phone_nokia83_gps.jpg",
            "photos/camera/olympus_ep3_12mp_42_IndexError.jpg",
        ],
    );
    // A restarted app: every call below is a fresh engine on a fresh connection.
    let wire = Wire::losing_answers(3);
    for _ in 0..100 {
        let engine = fieldproof_core::sync::SyncEngine::new(device.open_again(), wire.clone());
        let report = engine
            .sync_once(Instant::now() + Duration::from_secs(30))
            .unwrap();
        if report.work_left.ops + report.work_left.uploads == 0 {
            break;
        }
    }
    assert_photos_at_bureau(&device, &bureau, &photos);
    let exchanges = wire.exchanges();
    assert!(assert_resent_at_most_in_flight(&exchanges, &photos) > 0);
    // Whatever the bureau got before an answer was lost is never sent again, but
    // a first chunk whose upload address was lost with the answer is.
    let resent: usize = chunk_requests(&exchanges)
        .map(|e| e.body_len)
        .sum::<usize>()
        - photos.iter().map(|p| p.size as usize).sum::<usize>();
    let lost_creations: usize = chunk_requests(&exchanges)
        .filter(|e| e.status.is_none() && e.method == "POST")
        .map(|e| e.body_len)
        .sum();
    assert_eq!(resent, lost_creations);
    assert_settled(&device.db_path(), &bureau);
}

#[test]
fn two_sync_calls_on_one_database_never_send_twice() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        &[
            "photos/camera/canon_sx60_orient6.jpg",
            "photos/camera/phone_jolla_nogps.jpg",
        ],
    );
    device.patrol("gpx/gpxpy_around-visnjan-with-car.gpx");
    // The app and a background worker: two connections to one file, one wire.
    let wire = Wire::slowed(Duration::from_millis(30));
    let app = device.engine(wire.clone());
    let worker = fieldproof_core::sync::SyncEngine::new(device.open_again(), wire.clone());
    let start = Arc::new(Barrier::new(2));
    let reports: Vec<SyncReport> = std::thread::scope(|scope| {
        let calls: Vec<_> = [&app, &worker]
            .into_iter()
            .map(|engine| {
                let start = start.clone();
                scope.spawn(move || {
                    start.wait();
                    engine
                        .sync_once(Instant::now() + Duration::from_secs(60))
                        .unwrap()
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let refused: Vec<&SyncReport> = reports
        .iter()
        .filter(|r| {
            r.last_error
                .as_ref()
                .is_some_and(|e| e.code == "sync_in_progress")
        })
        .collect();
    assert_eq!(refused.len(), 1, "{reports:#?}");
    assert_eq!(
        refused[0].last_error.as_ref().unwrap().class,
        ErrorClass::Local
    );
    assert!(
        refused[0].next_attempt_ms.is_some(),
        "told when the lease ends"
    );
    assert_eq!(refused[0].ops_pushed, 0);

    // The one that ran did everything, and nothing went twice.
    sync_until_done(&worker, 3);
    let exchanges = wire.exchanges();
    let pushed: Vec<&String> = exchanges.iter().flat_map(|e| &e.op_ids).collect();
    let distinct: BTreeSet<&String> = pushed.iter().copied().collect();
    assert_eq!(pushed.len(), distinct.len(), "an op was pushed twice");
    let uploaded: usize = chunk_requests(&exchanges).map(|e| e.body_len).sum();
    assert_eq!(uploaded as u64, photos.iter().map(|p| p.size).sum::<u64>());
    assert_photos_at_bureau(&device, &bureau, &photos);
    assert_settled(&device.db_path(), &bureau);
}

#[test]
fn a_revoked_device_gets_an_auth_error_and_stops_asking() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    field_work(
        &device,
        &["photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg"],
    );
    let device_id = device.store.enrollment().unwrap().unwrap().device_id;
    let (status, revoked) = bureau.admin(
        "POST",
        &format!("/v1/admin/devices/{device_id}/revoke"),
        None,
    );
    assert_eq!(status, 200, "{revoked}");

    let wire = Wire::new();
    let engine = device.engine(wire.clone());
    let report = engine
        .sync_once(Instant::now() + Duration::from_secs(30))
        .unwrap();
    let error = report.last_error.clone().expect("an auth error");
    assert_eq!(
        (error.code.as_str(), error.class),
        ("device_revoked", ErrorClass::Auth)
    );
    assert_eq!(
        report.next_attempt_ms, None,
        "no retry: the device must enroll again"
    );
    assert!(report.work_left.ops > 0, "the work waits, kept");
    assert_eq!(wire.exchanges().len(), 1, "stopped at the first refusal");

    wire.clear();
    let again = engine
        .sync_once(Instant::now() + Duration::from_secs(30))
        .unwrap();
    assert_eq!(again.last_error, report.last_error);
    assert!(
        wire.exchanges().is_empty(),
        "no request until the device enrolls again"
    );
    // Nothing was sent: nothing lost, nothing applied.
    let tally = assert_consistent(&device.db_path(), &bureau);
    assert_eq!((tally.applied, tally.pending), (0, tally.ops));
}

#[test]
fn an_interrupted_call_stops_and_the_next_one_finishes() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        &["photos/camera/olympus_ep3_12mp_42_IndexError.jpg"],
    );
    let wire = Wire::slowed(Duration::from_millis(100));
    let engine = device.engine(wire.clone());
    let interrupt = engine.interrupt_handle();
    let report = std::thread::scope(|scope| {
        let call = scope.spawn(|| {
            engine
                .sync_once(Instant::now() + Duration::from_secs(60))
                .unwrap()
        });
        std::thread::sleep(Duration::from_millis(350));
        interrupt.interrupt();
        call.join().unwrap()
    });
    assert!(report.cancelled, "{report:?}");
    assert_eq!(report.last_error, None);
    assert!(report.work_left.uploads > 0 && report.next_attempt_ms.is_some());
    sync_until_done(&engine, 3);
    assert_photos_at_bureau(&device, &bureau, &photos);
    assert_settled(&device.db_path(), &bureau);
}

#[test]
fn on_a_slow_link_previews_go_before_originals() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    // Every measured link counts as slow here.
    let options = SyncOptions {
        slow_link_bytes_per_s: u64::MAX,
        ..SyncOptions::default()
    };
    let wire = Wire::new();
    let engine = device.engine(wire.clone()).with_options(options);
    // The first photo measures the link.
    field_work(&device, &["photos/camera/canon_sx60_orient6.jpg"]);
    sync_until_done(&engine, 3);

    let photos = field_work(
        &device,
        &[
            "photos/camera/phone_iphone6_gps_hdr.jpg",
            "photos/camera/reconyx_trailcam_hc500.jpg",
        ],
    );
    wire.clear();
    sync_until_done(&engine, 3);
    let roles: Vec<String> = wire
        .exchanges()
        .iter()
        .filter_map(|e| e.upload_role.clone())
        .collect();
    assert_eq!(roles, ["preview", "preview", "original", "original"]);
    for photo in &photos {
        let preview = device.store.preview(&photo.id).unwrap().unwrap();
        let held = std::fs::read(bureau.photo_path(&hex::encode(&sha256(&preview)))).unwrap();
        assert!(
            held == preview,
            "the bureau holds the preview of {}",
            photo.id
        );
    }
    assert_photos_at_bureau(&device, &bureau, &photos);
    assert_settled(&device.db_path(), &bureau);
}

#[test]
fn a_photo_the_bureau_refuses_is_reported_and_holds_nothing_back() {
    let bureau = TestBureau::start_with(|config| config.limits.max_photo_bytes = 1_000_000);
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        &[
            "photos/camera/phone_iphone6_gps_hdr.jpg",
            "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
        ],
    );
    let wire = Wire::new();
    let engine = device.engine(wire.clone());
    let report = sync_until_done(&engine, 3).pop().unwrap();
    assert_eq!(
        report.last_error, None,
        "a refused photo is not a sync failure"
    );

    let refused = device.store.photo_sync(&photos[0].id).unwrap();
    assert_eq!(refused.upload, UploadState::Failed);
    assert_eq!(refused.upload_reason.as_deref(), Some("upload_too_large"));
    let op = refused.photo_op.unwrap();
    assert_eq!(
        (op.state, op.reason.as_deref()),
        (OpState::Rejected, Some("upload_too_large"))
    );
    // Its record still reached the custody log, and the chain went on after it.
    assert_eq!(refused.record_op.unwrap().state, OpState::Applied);
    assert_photos_at_bureau(&device, &bureau, &photos[1..]);

    // Never retried.
    wire.clear();
    sync_until_done(&engine, 1);
    assert!(wire
        .exchanges()
        .iter()
        .all(|e| !e.path.starts_with("/v1/uploads")));
    assert_settled(&device.db_path(), &bureau);
}

#[test]
fn a_call_ends_by_its_deadline_and_says_what_is_left() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        &[
            "photos/camera/olympus_ep3_12mp_42_IndexError.jpg",
            "photos/camera/phone_nokia83_gps.jpg",
        ],
    );
    let engine = device.engine(Wire::slowed(Duration::from_millis(250)));
    let started = Instant::now();
    let report = engine
        .sync_once(started + Duration::from_millis(1_500))
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1_500 + 250 + 500),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.last_error, None, "running out of time is no failure");
    assert!(report.work_left.uploads > 0, "{report:?}");
    let next = report.next_attempt_ms.expect("work left: call again");
    assert!(next <= fieldproof_core::time::now_ms());
    sync_until_done(&engine, 20);
    assert_photos_at_bureau(&device, &bureau, &photos);
    assert_settled(&device.db_path(), &bureau);
}

#[test]
fn a_rate_limited_device_waits_as_long_as_the_bureau_says() {
    let bureau = TestBureau::start_with(|c| c.limits.device_requests_per_minute = 2);
    let device = Device::new();
    device.enroll(&bureau);
    field_work(
        &device,
        &["photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg"],
    );
    let engine = device.engine(Wire::new());
    let before = fieldproof_core::time::now_ms();
    let report = engine
        .sync_once(Instant::now() + Duration::from_secs(30))
        .unwrap();
    let error = report.last_error.clone().expect("the bureau's 429");
    assert_eq!(
        (error.code.as_str(), error.class),
        ("server_error", ErrorClass::Server)
    );
    assert!(error.message.contains("429"), "{}", error.message);
    // Two requests a minute: the next is 30 s away, and the engine waits that long
    // (its own first backoff is shorter).
    let next = report.next_attempt_ms.expect("a time to try again");
    assert!(
        next - before >= 29_000,
        "next attempt in {} ms",
        next - before
    );
    assert!(report.work_left.any(), "the work waits, kept");
    let tally = assert_consistent(&device.db_path(), &bureau);
    assert!(tally.pending > 0);
}

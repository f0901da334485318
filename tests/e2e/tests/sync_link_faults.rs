//! Sync through the noxious fault proxy (in this process, on loopback): requests
//! cut at random bytes of pushes and uploads, answers lost after the bureau
//! committed, latency with jitter and sliced packets, a 2G-like link, the bureau
//! crashing and starting again mid-sync, and the device revoked mid-sync. After
//! each, once the faults stop and sync settles, the invariants hold
//! (`fieldproof_e2e::invariants`): every op applied or refused with a reason, none
//! lost, none applied twice, every photo byte-identical, and no more bytes sent
//! again than were in flight when the link failed.
//!
//! Randomised cut points come from a seed printed as `FIELDPROOF_FAULT_SEED=…`;
//! set it to replay a run.

use fieldproof_core::model::photo::Photo;
use fieldproof_core::sync::{ErrorClass, Progress, ProgressListener, SyncEngine, SyncReport};
use fieldproof_e2e::faults::{self, Downstream, FaultProxy, Upstream};
use fieldproof_e2e::invariants::{
    assert_resent_at_most_in_flight, chunk_requests, uploaded_payload,
};
use fieldproof_e2e::{
    assert_consistent, assert_settled, engine_via, sync_until_done, CuttingProxy, Device,
    SeededRng, TestBureau, Wire,
};
use std::collections::BTreeSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOWNSHIP: &str = "430121101";

/// `inspections` submitted inspections, the first with `photos`.
fn field_work(device: &Device, inspections: usize, photos: &[&str]) -> Vec<Photo> {
    let first = device.record_inspection(TOWNSHIP, "村口稻田");
    let taken = photos.iter().map(|p| device.capture(&first, p)).collect();
    device.store.submit(&first).unwrap();
    for i in 1..inspections {
        let id = device.record_inspection(TOWNSHIP, &format!("{i} 号田"));
        device.store.submit(&id).unwrap();
    }
    taken
}

fn call(engine: &SyncEngine, seconds: u64) -> SyncReport {
    engine
        .sync_once(Instant::now() + Duration::from_secs(seconds))
        .expect("sync")
}

/// Ops of the device's outbox still waiting for an answer.
fn pending_ops(device: &Device) -> BTreeSet<String> {
    device
        .store
        .pending_outbox(10_000)
        .unwrap()
        .into_iter()
        .map(|op| op.op_id)
        .collect()
}

fn applied_at_bureau(bureau: &TestBureau, op_ids: &[String]) -> usize {
    let db = bureau.database();
    op_ids
        .iter()
        .filter(|op_id| {
            db.query_row(
                "SELECT EXISTS (SELECT 1 FROM applied_ops WHERE op_id = ?1)",
                [op_id],
                |row| row.get::<_, bool>(0),
            )
            .unwrap()
        })
        .count()
}

#[test]
fn requests_cut_at_random_bytes_of_pushes_and_uploads_lose_nothing() {
    let mut rng = SeededRng::from_env("FIELDPROOF_FAULT_SEED");
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    // Three push batches of about 120 kB, then two photos of several chunks.
    let photos = field_work(
        &device,
        250,
        &[
            "photos/camera/canon_sx60_orient6.jpg",
            "photos/camera/phone_jolla_nogps.jpg",
        ],
    );
    let proxy = FaultProxy::start(bureau.addr, vec![]);
    let wire = Wire::unpooled();
    let engine = engine_via(&device, wire.clone(), &proxy.url);

    // Each faulty call: every connection is cut once it carried a random number
    // of bytes towards the bureau. The first limits are below a push's size.
    let mut offline = 0;
    for round in 0..14 {
        let limit = match round {
            0..=2 => rng.below(1_000..100_000),
            _ => rng.below(1_000..400_000),
        };
        proxy.add(faults::limit_data("cut", Upstream, limit, 1.0));
        let report = call(&engine, 30);
        proxy.remove("cut");
        if report
            .last_error
            .as_ref()
            .is_some_and(|e| e.class == ErrorClass::Offline)
        {
            offline += 1;
        }
        if !report.work_left.any() {
            break;
        }
    }
    assert!(offline > 0, "cuts show as offline");
    let reports = sync_until_done(&engine, 10);
    assert_eq!(reports.last().unwrap().last_error, None);

    let exchanges = wire.exchanges();
    assert!(
        exchanges
            .iter()
            .any(|e| e.path == "/v1/sync/push" && e.status.is_none()),
        "a push was cut mid-body"
    );
    assert!(
        chunk_requests(&exchanges).any(|e| e.status.is_none()),
        "an upload was cut mid-chunk"
    );
    assert_resent_at_most_in_flight(&exchanges, uploaded_payload(&device.db_path()));
    let tally = assert_settled(&device.db_path(), &bureau);
    assert_eq!((tally.photos, tally.pending), (photos.len(), 0));
    assert_eq!(tally.ops, 250 + 2 * photos.len());
}

#[test]
fn answers_lost_after_the_bureau_committed_are_not_applied_twice() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        150,
        &[
            "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
            "photos/camera/canon_sx60_orient6.jpg",
        ],
    );
    let proxy = FaultProxy::start(bureau.addr, vec![]);
    let wire = Wire::unpooled();
    let engine = engine_via(&device, wire.clone(), &proxy.url);

    // The first push reaches the bureau whole; its answer is cut after one byte.
    proxy.add(faults::limit_data("lose", Downstream, 1, 1.0));
    let report = call(&engine, 30);
    proxy.remove("lose");
    assert_eq!(
        report.last_error.as_ref().map(|e| e.class),
        Some(ErrorClass::Offline)
    );
    let lost = wire.exchanges();
    assert_eq!(lost.len(), 1, "the call ended at the lost answer");
    assert_eq!(
        (lost[0].path.as_str(), lost[0].status),
        ("/v1/sync/push", None)
    );
    let lost_ops = &lost[0].op_ids;
    assert_eq!(
        applied_at_bureau(&bureau, lost_ops),
        lost_ops.len(),
        "the bureau committed the push whose answer was lost"
    );
    assert!(
        lost_ops.iter().all(|op| pending_ops(&device).contains(op)),
        "the device never heard: its ops still wait"
    );

    // Then about one answer in three is lost, whatever the request, until the
    // work is done and at least two more answers were lost (a short run of luck
    // must not leave the resends untested).
    proxy.add(faults::limit_data("lose", Downstream, 1, 0.35));
    let lost_so_far = || {
        wire.exchanges()
            .iter()
            .filter(|e| e.status.is_none())
            .count()
    };
    for _ in 0..60 {
        if !call(&engine, 30).work_left.any() && lost_so_far() >= 3 {
            break;
        }
    }
    proxy.remove("lose");
    sync_until_done(&engine, 10);

    let exchanges = wire.exchanges();
    let unanswered = exchanges.iter().filter(|e| e.status.is_none()).count();
    assert!(unanswered > 1, "answers were lost: {unanswered}");
    // Every op was sent until answered, but applied once (the bureau said
    // `duplicate` to the resends and the device kept the first answer).
    let resent_ops = exchanges
        .iter()
        .flat_map(|e| &e.op_ids)
        .collect::<Vec<_>>()
        .len()
        - exchanges
            .iter()
            .flat_map(|e| &e.op_ids)
            .collect::<BTreeSet<_>>()
            .len();
    assert!(resent_ops >= lost_ops.len(), "the lost push was sent again");
    assert_resent_at_most_in_flight(&exchanges, uploaded_payload(&device.db_path()));
    let tally = assert_settled(&device.db_path(), &bureau);
    assert_eq!(tally.photos, photos.len());
}

#[test]
fn latency_jitter_and_sliced_packets_change_nothing() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        120,
        &[
            "photos/camera/canon_sx60_orient6.jpg",
            "photos/camera/nikon_coolpix_p6000_gps_DSCN0021.jpg",
        ],
    );
    let proxy = FaultProxy::start(
        bureau.addr,
        vec![
            faults::latency("up-latency", Upstream, 150, 100),
            faults::slicer("up-slices", Upstream, 1_400, 1_300, 0),
            faults::latency("down-latency", Downstream, 150, 100),
            // Answers arrive in pieces of a few bytes: headers split anywhere.
            faults::slicer("down-slices", Downstream, 24, 20, 0),
        ],
    );
    let wire = Wire::new();
    let engine = engine_via(&device, wire.clone(), &proxy.url);
    let started = Instant::now();
    let reports = sync_until_done(&engine, 5);
    let took = started.elapsed();
    assert!(
        reports.iter().all(|r| r.last_error.is_none()),
        "latency is no failure: {reports:#?}"
    );
    let exchanges = wire.exchanges();
    assert!(
        took >= Duration::from_millis(100) * exchanges.len() as u32,
        "every exchange waited: {} in {took:?}",
        exchanges.len()
    );
    // Nothing failed, so nothing went twice.
    assert_eq!(
        chunk_requests(&exchanges)
            .map(|e| e.body_len as u64)
            .sum::<u64>(),
        uploaded_payload(&device.db_path())
    );
    let tally = assert_settled(&device.db_path(), &bureau);
    assert_eq!(tally.photos, photos.len());
}

#[test]
fn a_2g_link_carries_everything_with_little_overhead() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    // Small photos: at 20 KB/s the test takes about as many seconds as these
    // make 20 kB.
    let photos = field_work(
        &device,
        3,
        &[
            "photos/odd/progressive_multi_app13.jpg",
            "photos/odd/pixel6_ultrahdr_gps_zhejiang_truncated.jpg",
        ],
    );
    // Device -> counting proxy -> 2G -> bureau: the counter sees every byte the
    // device sends and receives.
    let link = FaultProxy::start(bureau.addr, faults::two_g());
    let counter = CuttingProxy::counting(link.addr);
    let wire = Wire::new();
    let engine = engine_via(&device, wire.clone(), &counter.url);
    let started = Instant::now();
    let reports = sync_until_done(&engine, 10);
    let took = started.elapsed();
    assert!(
        reports.iter().all(|r| r.last_error.is_none()),
        "a slow link is no failure: {reports:#?}"
    );
    let tally = assert_settled(&device.db_path(), &bureau);
    assert_eq!(tally.photos, photos.len());

    let payload = uploaded_payload(&device.db_path());
    let wire_bytes = counter.bytes_up() + counter.bytes_down();
    println!(
        "2G link: {} requests, {payload} payload bytes, {} bytes up, {} down, in {took:.1?}; \
         wire/payload = {:.3}",
        wire.exchanges().len(),
        counter.bytes_up(),
        counter.bytes_down(),
        wire_bytes as f64 / payload as f64
    );
    // 20 KB/s and 500 ms round trips were really in the way.
    assert!(
        took.as_secs_f64() >= payload as f64 / 20_000.0,
        "{payload} bytes in {took:?}"
    );
}

/// Forwards progress events to a channel.
struct Forward(Mutex<mpsc::Sender<Progress>>);

impl ProgressListener for Forward {
    fn on_progress(&self, progress: Progress) {
        let _ = self.0.lock().unwrap().send(progress);
    }
}

#[test]
fn a_bureau_crashing_mid_push_and_mid_upload_loses_nothing() {
    let mut bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        250,
        &[
            "photos/camera/phone_jolla_nogps.jpg",
            "photos/camera/canon_sx60_orient6.jpg",
        ],
    );
    // 400 KB/s: a push batch (120 kB) or a chunk (256 kB and more) is in flight
    // for a few hundred ms at least.
    let mut toxics = faults::bandwidth("up", Upstream, 400);
    toxics.extend(faults::bandwidth("down", Downstream, 400));
    let proxy = FaultProxy::start(bureau.addr, toxics);
    let wire = Wire::new();
    let (sending, sent) = mpsc::channel::<(String, String)>();
    let sending = Mutex::new(sending);
    wire.before_send(move |method, path, _| {
        let _ = sending
            .lock()
            .unwrap()
            .send((method.to_owned(), path.to_owned()));
    });
    let engine = engine_via(&device, wire.clone(), &proxy.url);

    std::thread::scope(|scope| {
        let bureau = &mut bureau;
        // The bureau crashes while the second push batch is on its way, and again
        // while the first PATCH chunk is, and starts again on the same data and port.
        scope.spawn(move || {
            let (mut pushes, mut crashed_in_patch) = (0, false);
            while let Ok((method, path)) = sent.recv() {
                let due = match (method.as_str(), path.as_str()) {
                    ("POST", "/v1/sync/push") => {
                        pushes += 1;
                        pushes == 2
                    }
                    ("PATCH", _) if !crashed_in_patch => {
                        crashed_in_patch = true;
                        true
                    }
                    _ => false,
                };
                if due {
                    std::thread::sleep(Duration::from_millis(100));
                    bureau.restart();
                }
            }
        });
        let mut failures = 0;
        for _ in 0..20 {
            let report = call(&engine, 60);
            failures += usize::from(report.last_error.is_some());
            if !report.work_left.any() {
                break;
            }
        }
        assert!(failures >= 2, "the crashes were noticed");
        // Ends the restarter: no more requests.
        drop(engine);
        wire.before_send(|_, _, _| {});
    });

    let exchanges = wire.exchanges();
    let in_flight: Vec<&str> = exchanges
        .iter()
        .filter(|e| e.status.is_none())
        .map(|e| e.method.as_str())
        .collect();
    assert_eq!(in_flight, ["POST", "PATCH"], "a push and a chunk were cut");
    assert_eq!(
        exchanges.iter().find(|e| e.status.is_none()).unwrap().path,
        "/v1/sync/push"
    );
    assert_resent_at_most_in_flight(&exchanges, uploaded_payload(&device.db_path()));
    let tally = assert_settled(&device.db_path(), &bureau);
    assert_eq!(
        (tally.photos, tally.ops),
        (photos.len(), 250 + 2 * photos.len())
    );
}

#[test]
fn a_device_revoked_mid_sync_stops_at_once_and_keeps_its_work() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        2,
        &[
            "photos/camera/phone_jolla_nogps.jpg",
            "photos/camera/canon_sx60_orient6.jpg",
        ],
    );
    let device_id = device.store.enrollment().unwrap().unwrap().device_id;
    let mut toxics = faults::bandwidth("up", Upstream, 400);
    toxics.extend(faults::bandwidth("down", Downstream, 400));
    let proxy = FaultProxy::start(bureau.addr, toxics);
    let (events, heard) = mpsc::channel();
    let wire = Wire::new();
    let engine = engine_via(&device, wire.clone(), &proxy.url)
        .with_listener(Arc::new(Forward(Mutex::new(events))));

    let first = std::thread::scope(|scope| {
        // Revoked by an admin once the first chunk of the first photo is in.
        let (bureau, device_id) = (&bureau, &device_id);
        let revoker = scope.spawn(move || {
            while let Ok(progress) = heard.recv() {
                if matches!(progress, Progress::Uploading { sent, size, .. } if sent < size) {
                    let path = format!("/v1/admin/devices/{device_id}/revoke");
                    let (status, body) = bureau.admin("POST", &path, None);
                    assert_eq!(status, 200, "{body}");
                    return;
                }
            }
            panic!("no upload progress");
        });
        let report = call(&engine, 60);
        revoker.join().unwrap();
        report
    });
    let mut exchanges = wire.exchanges();
    let report = match first.last_error.as_ref().map(|e| e.class) {
        // The bureau refuses the next chunk from its headers, without reading the
        // body, and drops the connection; on this slow link the device is still
        // sending, and the refusal can be lost with the reset (as on a real one).
        // The call ends as offline; the next one learns of the refusal at once.
        Some(ErrorClass::Offline) => {
            assert_eq!(exchanges.last().unwrap().status, None);
            let next = call(&engine, 60);
            let more = &wire.exchanges()[exchanges.len()..];
            assert_eq!(more.len(), 1, "one request, refused: {more:#?}");
            exchanges = wire.exchanges();
            next
        }
        _ => first,
    };
    drop(engine);
    let error = report.last_error.clone().expect("an auth error");
    assert_eq!(
        (error.code.as_str(), error.class),
        ("device_revoked", ErrorClass::Auth)
    );
    assert_eq!(
        report.next_attempt_ms, None,
        "no retry until enrolled again"
    );
    assert!(report.work_left.uploads > 0, "{report:?}");
    // The call stopped at the first refused request.
    let refused: Vec<_> = exchanges.iter().filter(|e| e.status == Some(403)).collect();
    assert_eq!(refused.len(), 1, "{exchanges:#?}");
    assert!(std::ptr::eq(refused[0], exchanges.last().unwrap()));

    // Later calls send nothing.
    wire.clear();
    let again = engine_via(&device, wire.clone(), &proxy.url);
    assert_eq!(call(&again, 10).last_error.unwrap().code, "device_revoked");
    assert!(wire.exchanges().is_empty());

    // What went before the revocation went once; what waits is kept, none lost.
    let tally = assert_consistent(&device.db_path(), &bureau);
    assert!(tally.applied > 0 && tally.pending > 0, "{tally:?}");
    assert!(tally.photos < photos.len(), "{tally:?}");
    assert_resent_at_most_in_flight(&exchanges, uploaded_payload(&device.db_path()));
}

/// A bureau answering a creation from its headers alone closes the connection
/// under the data still coming; on a slow link the answer is lost with it.
fn slow_link(bureau: &TestBureau) -> FaultProxy {
    let mut toxics = faults::bandwidth("up", Upstream, 200);
    toxics.extend(faults::bandwidth("down", Downstream, 200));
    FaultProxy::start(bureau.addr, toxics)
}

#[test]
fn a_photo_the_bureau_already_holds_completes_over_a_slow_link() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    // The same bytes taken twice: the bureau holds them after the first upload
    // and answers the second creation at once, without reading its data.
    let photos = field_work(
        &device,
        1,
        &[
            "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
            "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
        ],
    );
    assert_eq!(photos[0].sha256, photos[1].sha256);
    let proxy = slow_link(&bureau);
    let wire = Wire::new();
    let engine = engine_via(&device, wire.clone(), &proxy.url);
    let reports = sync_until_done(&engine, 3);
    assert!(reports.len() <= 2, "{reports:#?}");
    let creations: Vec<(usize, Option<u16>)> = wire
        .exchanges()
        .iter()
        .filter(|e| e.method == "POST" && e.tus)
        .map(|e| (e.body_len, e.status))
        .collect();
    println!("creations: {creations:?}");
    let tally = assert_settled(&device.db_path(), &bureau);
    assert_eq!(tally.photos, 2);
}

#[test]
fn a_photo_too_large_is_refused_for_good_over_a_slow_link() {
    let bureau = TestBureau::start_with(|config| config.limits.max_photo_bytes = 100_000);
    let device = Device::new();
    device.enroll(&bureau);
    let photos = field_work(
        &device,
        1,
        &[
            "photos/camera/canon_sx60_orient6.jpg",
            "photos/odd/progressive_multi_app13.jpg",
        ],
    );
    let proxy = slow_link(&bureau);
    let engine = engine_via(&device, Wire::new(), &proxy.url);
    sync_until_done(&engine, 3);
    let refused = device.store.photo_sync(&photos[0].id).unwrap();
    assert_eq!(refused.upload_reason.as_deref(), Some("upload_too_large"));
    let tally = assert_settled(&device.db_path(), &bureau);
    assert_eq!((tally.photos, tally.refused), (1, 1));
}

//! A day of field work recorded offline reaches a real bureau exactly once and
//! intact, and the bureau's answers — receipts, reviews, tasks, reference data,
//! checkpoints — reach the device.

use fieldproof_core::evidence::cose::parse_sign1;
use fieldproof_core::evidence::record::EvidencePayload;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::hex;
use fieldproof_core::model::checklist::defaults::template_for;
use fieldproof_core::model::inspection::Status;
use fieldproof_core::model::sync::{OpState, UploadState};
use fieldproof_core::store::Store;
use fieldproof_core::sync::{Progress, ProgressListener, SyncEngine};
use fieldproof_e2e::{assert_settled, sync_until_done, Device, TestBureau, Wire};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOWNSHIP: &str = "430121101";

/// Every progress event, in order.
#[derive(Default)]
struct Progressed(Mutex<Vec<Progress>>);

impl ProgressListener for Progressed {
    fn on_progress(&self, progress: Progress) {
        self.0.lock().unwrap().push(progress);
    }
}

/// Every evidence record on the device, by seq: the exact signed bytes.
fn device_records(store: &Store) -> Vec<(u64, Vec<u8>)> {
    (1..)
        .map_while(|seq| store.evidence_record(seq).ok().map(|r| (seq, r)))
        .collect()
}

fn decode(record: &[u8]) -> EvidencePayload {
    EvidencePayload::decode(&parse_sign1(record).unwrap().payload).unwrap()
}

#[test]
fn offline_work_reaches_the_bureau_once_intact_with_receipts() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);

    // Offline: two inspections with photos, a patrol track, a submit, an amendment.
    let first = device.record_inspection(TOWNSHIP, "村口东侧稻田");
    let mut photos = vec![
        device.capture(&first, "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg"),
        device.capture(&first, "photos/camera/canon_sx60_orient6.jpg"),
        device.capture(&first, "photos/camera/phone_iphone6_gps_hdr.jpg"),
    ];
    device.patrol("gpx/georust_garmin-activity.gpx");
    let second = device.record_inspection(TOWNSHIP, "河堤北段");
    photos.push(device.capture(&second, "photos/camera/olympus_ep3_12mp_42_IndexError.jpg"));
    photos.push(device.capture(&second, "photos/orientation/Landscape_5.jpg"));
    device.store.submit(&first).unwrap();
    device.store.submit(&second).unwrap();
    let amendment = device.store.amend(&first).unwrap().id;
    device.store.submit(&amendment).unwrap();
    let inspections = [first.clone(), second.clone(), amendment.clone()];

    // Back online.
    let wire = Wire::new();
    let progress = Arc::new(Progressed::default());
    let engine = device.engine(wire.clone()).with_listener(progress.clone());
    let reports = sync_until_done(&engine, 5);
    let last = reports.last().unwrap();
    assert_eq!(last.last_error, None, "{reports:#?}");
    assert_eq!(last.next_attempt_ms, None, "nothing left to schedule");
    let total_ops: u32 = reports.iter().map(|r| r.ops_pushed).sum();
    let outbox_ops = 3 + 2 * photos.len() + device_records(&device.store).len() - photos.len();
    assert_eq!(total_ops as usize, outbox_ops, "every op answered once");

    // Nothing went twice.
    let exchanges = wire.exchanges();
    let pushed: Vec<&String> = exchanges.iter().flat_map(|e| &e.op_ids).collect();
    let distinct: BTreeSet<&String> = pushed.iter().copied().collect();
    assert_eq!(pushed.len(), distinct.len(), "an op was pushed twice");
    let uploaded: usize = exchanges
        .iter()
        .filter(|e| e.path.starts_with("/v1/uploads"))
        .map(|e| e.body_len)
        .sum();
    let sizes: u64 = photos.iter().map(|p| p.size).sum();
    assert_eq!(uploaded as u64, sizes, "every photo byte went exactly once");
    let bytes_reported: u64 = reports.iter().map(|r| r.bytes_uploaded).sum();
    assert_eq!(bytes_reported, sizes);
    // The listener heard every photo to its last byte.
    let heard = progress.0.lock().unwrap().clone();
    for photo in &photos {
        let last = heard.iter().rev().find_map(|p| match p {
            Progress::Uploading {
                photo_id,
                sent,
                size,
                ..
            } if *photo_id == photo.id => Some((*sent, *size)),
            _ => None,
        });
        assert_eq!(last, Some((photo.size, photo.size)));
    }
    assert!(heard.iter().any(|p| matches!(p, Progress::Pushed { .. })));

    // The bureau holds every inspection once…
    let (status, list) = bureau.admin("GET", "/v1/admin/inspections?limit=100", None);
    assert_eq!(status, 200, "{list}");
    let held: BTreeSet<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(held, inspections.iter().cloned().collect::<BTreeSet<_>>());
    // …with every evidence record accepted and every photo verified…
    for id in [&first, &second] {
        let (_, case) = bureau.admin("GET", &format!("/v1/admin/inspections/{id}"), None);
        assert_eq!(case["evidence"]["status"], "verified", "{case}");
        for record in case["evidence_records"].as_array().unwrap() {
            assert_eq!(record["status"], "accepted", "{record}");
            assert_eq!(record["media_status"], "verified", "{record}");
        }
    }
    // …every photo byte-identical to the device's original…
    for photo in &photos {
        let original = std::fs::read(device.store.original_path(&photo.id).unwrap()).unwrap();
        let at_bureau = std::fs::read(bureau.photo_path(&photo.sha256)).unwrap();
        assert!(
            original == at_bureau,
            "photo {} differs at the bureau",
            photo.id
        );
    }
    // …and every record of the chain in the custody log, exactly as signed.
    let records = device_records(&device.store);
    let (_, entries) = bureau.admin("GET", "/v1/admin/custody/entries?limit=1000", None);
    let logged: Vec<(u64, Vec<u8>)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                hex::decode(e["record"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(logged, records);

    // The device: every op applied and visible on its record, every receipt kept
    // and verifiable with the bureau's key alone.
    for id in &inspections {
        let sync = device.store.inspection_sync(id).unwrap().unwrap();
        assert_eq!(sync.state, OpState::Applied, "{sync:?}");
    }
    for photo in &photos {
        let sync = device.store.photo_sync(&photo.id).unwrap();
        assert_eq!(
            (sync.upload, sync.uploaded_bytes),
            (UploadState::Complete, photo.size)
        );
        assert_eq!(sync.photo_op.unwrap().state, OpState::Applied);
        assert_eq!(sync.record_op.unwrap().state, OpState::Applied);
    }
    for (seq, _) in &records {
        assert!(
            device.store.receipt(*seq).unwrap().is_some(),
            "receipt for {seq}"
        );
    }
    let receipts = device.store.verify_receipts().unwrap();
    assert_eq!(receipts.receipts as usize, records.len());
    assert!(receipts.failures.is_empty(), "{:?}", receipts.failures);
    assert!(device.store.verify_evidence().unwrap().is_intact());
    let tally = assert_settled(&device.db_path(), &bureau);
    assert_eq!((tally.applied, tally.photos), (outbox_ops, photos.len()));

    // A second sync sends nothing.
    wire.clear();
    let again = engine
        .sync_once(Instant::now() + Duration::from_secs(30))
        .unwrap();
    assert_eq!((again.ops_pushed, again.bytes_uploaded), (0, 0));
    let sent: Vec<String> = wire
        .exchanges()
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert!(
        sent.iter().all(|s| s.starts_with("GET /v1/sync/pull")),
        "only a pull for news: {sent:?}"
    );

    // The newest checkpoint goes into the next evidence record.
    let checkpoint = device.store.latest_checkpoint().unwrap().unwrap();
    assert_eq!(checkpoint.tree_size as usize, records.len());
    let next = device.capture(&first, "photos/camera/nikon_coolpix_p6000_gps_DSCN0021.jpg");
    let payload = decode(&device.store.evidence_record(next.record_seq).unwrap());
    let carried = payload
        .checkpoint
        .expect("the record carries the checkpoint");
    assert_eq!(
        (carried.tree_size, carried.root),
        (checkpoint.tree_size, checkpoint.root)
    );

    // Enrolled, the device works for its officer: what it submitted and signed
    // names them, not the "officer-e2e" the app passed.
    let officer = device.store.enrollment().unwrap().unwrap().officer_id;
    assert_ne!(officer, "officer-e2e");
    assert_eq!(
        payload.context.officer_id.as_deref(),
        Some(officer.as_str())
    );
    let (_, case) = bureau.admin("GET", &format!("/v1/admin/inspections/{first}"), None);
    assert_eq!(case["inspection"]["officer_id"], officer.as_str());
    assert_eq!(case["refused_records"], serde_json::json!([]));
}

#[test]
fn reviews_tasks_and_reference_data_reach_the_device() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let accepted = device.record_inspection(TOWNSHIP, "一号田");
    let returned = device.record_inspection(TOWNSHIP, "二号田");
    device.store.submit(&accepted).unwrap();
    device.store.submit(&returned).unwrap();
    let engine: SyncEngine = device.engine(Wire::new());
    sync_until_done(&engine, 3);

    // The bureau decides and dispatches.
    let review = |id: &str, body: Value| {
        let (status, answer) = bureau.admin(
            "POST",
            &format!("/v1/admin/inspections/{id}/review"),
            Some(&body),
        );
        assert_eq!(status, 200, "{answer}");
    };
    review(&accepted, json!({ "decision": "accept" }));
    review(
        &returned,
        json!({ "decision": "return", "comment": "补拍现场全景" }),
    );
    let task = json!({ "jurisdiction": "430121", "title": "核查卫星火点",
        "location": { "lat": 28.2547, "lon": 113.08, "datum": "gcj02" } });
    let (status, created) = bureau.admin("POST", "/v1/admin/tasks", Some(&task));
    assert_eq!(status, 201, "{created}");
    let mut template = template_for("straw_burning").unwrap();
    template.version += 1;
    template.title = format!("{}（2026版）", template.title);
    let checklist = json!({ "template": template, "matter": { "code": "straw_burning", "name": "露天焚烧秸秆" } });
    let (status, published) = bureau.admin("POST", "/v1/admin/checklists", Some(&checklist));
    assert_eq!(status, 201, "{published}");
    let counties = std::fs::read_to_string(fieldproof_e2e::corpus(
        "boundaries/counties_by_city/430100.json",
    ))
    .unwrap();
    let counties: Value = serde_json::from_str(&counties).unwrap();
    let (status, loaded) =
        bureau.admin("POST", "/v1/admin/boundaries?datum=gcj02", Some(&counties));
    assert_eq!(status, 200, "{loaded}");

    let report = sync_until_done(&engine, 3).pop().unwrap();
    assert!(report.records_pulled >= 4, "{report:?}");

    let store = &device.store;
    assert_eq!(
        store.get_inspection(&accepted).unwrap().status,
        Status::Accepted
    );
    let back = store.get_inspection(&returned).unwrap();
    assert_eq!(back.status, Status::Returned);
    let decision = store.review(&returned).unwrap().unwrap();
    assert_eq!(decision.comment.as_deref(), Some("补拍现场全景"));
    // A returned inspection is corrected by an amendment, as ever.
    store.amend(&returned).unwrap();

    let tasks = store.tasks().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].id, created["id"].as_str().unwrap());
    assert_eq!(
        tasks[0].location.as_ref().unwrap().reported_datum,
        Datum::Gcj02
    );

    assert_eq!(
        store.checklist_for_matter("straw_burning").unwrap().version,
        template.version
    );
    // Only the device's own county arrives, and the geofence uses it.
    let seat = GeoPoint {
        lat: 28.2547,
        lon: 113.08,
        datum: Datum::Gcj02,
    };
    assert!(store.placement("430121", seat).unwrap().inside);
    assert_eq!(
        store.placement("430102", seat).unwrap_err().code(),
        "unknown_jurisdiction"
    );

    // Pulling again brings nothing new.
    let again = engine
        .sync_once(Instant::now() + Duration::from_secs(30))
        .unwrap();
    assert_eq!(again.records_pulled, 0, "{again:?}");
}

#[test]
fn custody_starts_at_the_shutter_before_the_inspection_is_submitted() {
    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let draft = device.record_inspection(TOWNSHIP, "田埂西侧");
    let photo = device.capture(&draft, "photos/camera/nikon_coolpix_p6000_gps_DSCN0021.jpg");

    // Still a draft: the photo and its record go anyway, and are logged.
    let reports = sync_until_done(&device.engine(Wire::new()), 5);
    assert_eq!(reports.last().unwrap().last_error, None, "{reports:#?}");
    let (_, entries) = bureau.admin("GET", "/v1/admin/custody/entries", None);
    let logged: Vec<u64> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(logged, [photo.record_seq], "{entries}");
    let (_, list) = bureau.admin("GET", "/v1/admin/inspections", None);
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");

    // Submitted later: the inspection arrives and finds its evidence verified.
    device.store.submit(&draft).unwrap();
    sync_until_done(&device.engine(Wire::new()), 5);
    let (status, case) = bureau.admin("GET", &format!("/v1/admin/inspections/{draft}"), None);
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["evidence"]["status"], "verified", "{case}");
}

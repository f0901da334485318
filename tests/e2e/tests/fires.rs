//! The fire-point loop end to end, with real device stores and a real bureau
//! on loopback: satellite detections imported inside a real Changsha county
//! → the task pulled by the township's device (which reports it received) →
//! a patrol (a GPX replay) and a photo near the point → the inspection
//! answering the task submitted with its verdict → the review accepts it →
//! the task closes `confirmed_burning` with a proven visit → the figures show
//! it. And a team whose phone mocked its position is not counted as having
//! been there, unless its enrollment declared an external GNSS receiver.

use fieldproof_core::fixtures::{point_inside, straw_burning_answers, viirs_csv, FirmsRow};
use fieldproof_core::geo::datum::{Datum, LatLon};
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::geo::gpx::{write_gpx, GpxPoint};
use fieldproof_core::geo::jurisdiction::JurisdictionIndex;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::checklist::{Answer, AnswerValue};
use fieldproof_core::model::inspection::DraftFields;
use fieldproof_core::model::photo::CaptureContext;
use fieldproof_core::model::task::{FireVerdict, Task, TaskState};
use fieldproof_core::store::{NewTrack, PhotoSource};
use fieldproof_core::sync::{EnrollOptions, HttpTransport, SyncEngine};
use fieldproof_core::time::now_ms;
use fieldproof_e2e::{camera_context, corpus, sync_until_done, Device, TestBureau};
use serde_json::{json, Value};
use std::sync::Arc;

const HOUR: i64 = 3_600_000;
const COUNTY: &str = "430121";
const PHOTO: &str = "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg";

/// `north_m` and `east_m` metres from `p`.
fn offset(p: LatLon, north_m: f64, east_m: f64) -> LatLon {
    LatLon {
        lat: p.lat + north_m / 110_574.0,
        lon: p.lon + east_m / (111_320.0 * p.lat.to_radians().cos()),
    }
}

/// The bureau with the Changsha counties loaded, and an index of them.
fn bureau() -> (TestBureau, JurisdictionIndex) {
    let bureau = TestBureau::start();
    let bytes = std::fs::read(corpus("boundaries/counties_by_city/430100.json")).unwrap();
    let geojson: Value = serde_json::from_slice(&bytes).unwrap();
    let (status, body) = bureau.admin("POST", "/v1/admin/boundaries?datum=gcj02", Some(&geojson));
    assert_eq!(status, 200, "{body}");
    let mut index = JurisdictionIndex::new();
    index.load_geojson(&bytes, Datum::Gcj02).unwrap();
    (bureau, index)
}

/// Imports two VIIRS passes over `fire`, the first at `first_ms`.
fn detect(bureau: &TestBureau, fire: LatLon, first_ms: i64) {
    let row = |p: LatLon, t: i64, satellite: &str| FirmsRow {
        lat: p.lat,
        lon: p.lon,
        time_ms: t,
        satellite: satellite.into(),
        confidence: "n".into(),
        day: true,
    };
    let csv = viirs_csv(&[
        row(fire, first_ms, "N"),
        row(offset(fire, 150.0, -80.0), first_ms + HOUR, "N20"),
    ]);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut response = agent
        .post(&format!("{}/v1/admin/fires", bureau.url))
        .header(
            "Authorization",
            format!("Bearer {}", fieldproof_e2e::ADMIN_TOKEN),
        )
        .header("Content-Type", "text/csv")
        .send(csv.as_bytes())
        .unwrap();
    let answer: Value = response.body_mut().read_json().unwrap();
    assert_eq!(answer["tasks_created"], 1, "{answer}");
}

/// A device of the county enrolled (declaring an external GNSS receiver or
/// not), and its sync engine.
fn field_device(bureau: &TestBureau, external_gnss: bool) -> (Device, SyncEngine) {
    let device = Device::new();
    let engine = device.engine(Arc::new(HttpTransport::new()));
    let options = EnrollOptions {
        external_gnss,
        ..EnrollOptions::default()
    };
    engine
        .enroll_with(&bureau.url, &bureau.enrollment_code(COUNTY), &options)
        .expect("enrollment");
    (device, engine)
}

/// The one fire task on the device, after a sync.
fn fire_task(device: &Device, engine: &SyncEngine) -> Task {
    sync_until_done(engine, 5);
    let tasks = device.store.tasks().unwrap();
    let fire: Vec<Task> = tasks.into_iter().filter(|t| t.event.is_some()).collect();
    assert_eq!(fire.len(), 1, "{fire:#?}");
    fire.into_iter().next().unwrap()
}

/// The inspection answering `task` at the fire, with the verdict; returns its id.
fn answer(device: &Device, task: &Task, site: LatLon, verdict: FireVerdict) -> String {
    let mut answers = straw_burning_answers();
    answers.push(Answer {
        item_id: FireVerdict::ITEM_ID.into(),
        value: AnswerValue::Choice(verdict.code().into()),
    });
    let fields = DraftFields {
        site: GeoPoint {
            lat: site.lat,
            lon: site.lon,
            datum: Datum::Wgs84,
        },
        task_id: Some(task.id.clone()),
        address: "长沙县 田间".into(),
        started_at_ms: now_ms() - HOUR,
        ..fieldproof_core::fixtures::draft_fields("430121101")
    };
    let draft = device
        .store
        .create_draft("straw_burning", fields, &answers)
        .unwrap();
    draft.id
}

/// A fix at `p`, `seconds_ago`, mocked or not.
fn fix(p: LatLon, seconds_ago: i64, mock: bool) -> Fix {
    Fix {
        lat: p.lat,
        lon: p.lon,
        datum: Datum::Wgs84,
        accuracy_m: Some(4.0),
        altitude_m: Some(60.0),
        speed_mps: Some(1.5),
        bearing_deg: Some(0.0),
        time_ms: now_ms() - seconds_ago * 1_000,
        provider: if mock { "mock" } else { "gps" }.into(),
        mock,
    }
}

/// A photo at the fire, with its fix, for `inspection_id`.
fn photo_at(device: &Device, inspection_id: &str, at: LatLon, mock: bool) {
    let context = CaptureContext {
        inspection_id: Some(inspection_id.into()),
        officer_id: Some("officer-e2e".into()),
        ..camera_context()
    };
    device
        .store
        .capture_photo(
            PhotoSource::Path(corpus(PHOTO)),
            Some(fix(at, 60, mock)),
            context,
        )
        .unwrap();
}

fn review(bureau: &TestBureau, inspection_id: &str) {
    let (status, body) = bureau.admin(
        "POST",
        &format!("/v1/admin/inspections/{inspection_id}/review"),
        Some(&json!({ "decision": "accept" })),
    );
    assert_eq!(status, 200, "{body}");
}

/// The dispatcher's view of the task `id`.
fn dispatched(bureau: &TestBureau, id: &str) -> Value {
    let (status, page) = bureau.admin("GET", "/v1/admin/tasks", None);
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
        .expect("the task is listed")
}

#[test]
fn a_fire_point_becomes_a_task_a_proven_visit_and_a_closed_case() {
    let (bureau, index) = bureau();
    let fire = point_inside(&index, COUNTY, 11);
    let first_ms = (now_ms() - 3 * HOUR) / 60_000 * 60_000;
    detect(&bureau, fire, first_ms);

    // The township's device pulls the task with its event, and says so.
    let (device, engine) = field_device(&bureau, false);
    let task = fire_task(&device, &engine);
    let event = task.event.as_ref().unwrap();
    assert_eq!(event.detections.len(), 2);
    assert_eq!(event.first_detected_ms, first_ms);
    assert_eq!(task.due_ms, Some(first_ms + 24 * HOUR));
    let progress = device.store.task_progress(&task.id).unwrap().unwrap();
    assert_eq!(progress.state, TaskState::Received);
    assert_eq!(dispatched(&bureau, &task.id)["state"], "received");

    // The team walks in from 800 m away (a GPX replay of the patrol),
    // photographs the burnt field and answers the task.
    let inspection = answer(&device, &task, fire, FireVerdict::ConfirmedBurning);
    assert_eq!(
        device.store.task_progress(&task.id).unwrap().unwrap().state,
        TaskState::InProgress
    );
    let walk: Vec<GpxPoint> = (0..80)
        .map(|i| {
            let p = offset(fire, 800.0 - 10.0 * i as f64, 0.0);
            GpxPoint {
                lat: p.lat,
                lon: p.lon,
                ele_m: Some(60.0),
                time_ms: Some(now_ms() - (1_800 - 5 * i) * 1_000),
                accuracy_m: Some(5.0),
                ..GpxPoint::default()
            }
        })
        .collect();
    let gpx = write_gpx("核查火点", &[walk]);
    let track = device
        .store
        .import_gpx(gpx.as_bytes(), "officer-e2e")
        .unwrap();
    assert!(track.stats.segments > 0);
    photo_at(&device, &inspection, offset(fire, 30.0, 20.0), false);
    device.store.submit(&inspection).unwrap();
    assert_eq!(
        device.store.task_progress(&task.id).unwrap().unwrap().state,
        TaskState::Completed
    );
    sync_until_done(&engine, 10);
    let before = dispatched(&bureau, &task.id);
    assert_eq!(before["state"], "completed");
    let reported: Vec<&str> = before["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(reported, ["received", "in_progress", "completed"]);

    // The review accepts the case: the task closes with the verdict and the
    // proof of visit.
    review(&bureau, &inspection);
    let closed = dispatched(&bureau, &task.id);
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["closed"]["verdict"], "confirmed_burning");
    assert_eq!(closed["closed"]["inspection_id"], inspection.as_str());
    let visit = &closed["visit"];
    assert_eq!(visit["visited"], true, "{visit}");
    let closest = &visit["closest"];
    assert!(closest["distance_m"].as_f64().unwrap() <= 40.0, "{visit}");
    assert!(
        visit["counted"].as_u64().unwrap() >= 2,
        "track points and the photo"
    );
    assert_eq!(visit["window_from_ms"], first_ms);

    // The device hears of the closing.
    sync_until_done(&engine, 5);
    let on_device = device
        .store
        .tasks()
        .unwrap()
        .into_iter()
        .find(|t| t.id == task.id)
        .unwrap();
    let closure = on_device.closed.expect("closed on the device too");
    assert_eq!(closure.verdict, Some(FireVerdict::ConfirmedBurning));

    // The figures, and that they are the rows'.
    let (status, stats) = bureau.admin("GET", "/v1/admin/fires/stats", None);
    assert_eq!(status, 200, "{stats}");
    let total = &stats["total"];
    assert_eq!(
        (
            &total["events"],
            &total["closed"],
            &total["confirmed_burning"],
            &total["visited_in_time"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1)),
        "{stats}"
    );
    assert_eq!(total["confirmed_ratio"], 1.0);
    assert_eq!(total["overdue"], 0);
    let db = bureau.database();
    let (visited_ms, due_ms): (i64, i64) = db
        .query_row(
            "SELECT visited_ms, due_ms FROM tasks WHERE id = ?1",
            [&task.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(visited_ms <= due_ms);
    assert_eq!(total["median_to_visit_ms"], visited_ms - first_ms);
    assert_eq!(closest["at_ms"], visited_ms);
    assert_eq!(stats["counties"][0]["code"], COUNTY);
    assert_eq!(stats["counties"][0]["visited_in_time"], 1);
}

#[test]
fn mock_fixes_prove_no_visit_unless_an_external_receiver_was_declared() {
    let (bureau, index) = bureau();
    let mut closed = Vec::new();
    for (seed, external_gnss) in [(21, false), (22, true)] {
        let fire = point_inside(&index, COUNTY, seed);
        detect(&bureau, fire, (now_ms() - 3 * HOUR) / 60_000 * 60_000);
        let (device, engine) = field_device(&bureau, external_gnss);
        let task = device_task_for(&device, &engine, fire);
        let inspection = answer(&device, &task, fire, FireVerdict::NoFireFound);
        // A live patrol whose every fix the phone flagged as mocked.
        let track = device
            .store
            .start_track(NewTrack {
                officer_id: "officer-e2e".into(),
                inspection_id: Some(inspection.clone()),
                task_id: Some(task.id.clone()),
                filter: None,
            })
            .unwrap();
        let fixes = (0..40)
            .map(|i| {
                fix(
                    offset(fire, 400.0 - 10.0 * i as f64, 0.0),
                    600 - 5 * i,
                    true,
                )
            })
            .collect();
        device.store.append_fixes(&track.id, fixes).unwrap();
        device.store.stop_track(&track.id).unwrap();
        photo_at(&device, &inspection, fire, true);
        device.store.submit(&inspection).unwrap();
        sync_until_done(&engine, 10);
        // The reviewer sees the proof before deciding, and the same after.
        let (_, waiting) =
            bureau.admin("GET", &format!("/v1/admin/inspections/{inspection}"), None);
        assert_eq!(
            waiting["visit"]["visited"],
            json!(external_gnss),
            "{waiting}"
        );
        review(&bureau, &inspection);
        let (_, reviewed) =
            bureau.admin("GET", &format!("/v1/admin/inspections/{inspection}"), None);
        assert_eq!(reviewed["visit"], waiting["visit"]);
        closed.push(dispatched(&bureau, &task.id));
    }
    // A phone's mock provider: nothing counts, and the proof says why.
    let mocked = &closed[0]["visit"];
    assert_eq!(mocked["visited"], false, "{mocked}");
    assert_eq!(mocked["counted"], 0);
    assert_eq!(mocked["closest"], Value::Null);
    let excluded = &mocked["excluded"][0];
    assert_eq!(excluded["reason"], "mock_location");
    assert!(excluded["count"].as_u64().unwrap() >= 2);
    assert_eq!(closed[0]["closed"]["verdict"], "no_fire_found");
    // A declared external receiver: its fixes count, and the reviewer is told.
    let external = &closed[1]["visit"];
    assert_eq!(external["visited"], true, "{external}");
    assert!(external["external_gnss_fixes"].as_u64().unwrap() >= 2);
    // Neither counts as visited in the figures unless proven.
    let (_, stats) = bureau.admin("GET", "/v1/admin/fires/stats", None);
    assert_eq!(stats["total"]["closed"], 2);
    assert_eq!(stats["total"]["visited_in_time"], 1);
}

/// The task for the fire at `fire` on the device, after a sync.
fn device_task_for(device: &Device, engine: &SyncEngine, fire: LatLon) -> Task {
    sync_until_done(engine, 5);
    device
        .store
        .tasks()
        .unwrap()
        .into_iter()
        .find(|t| {
            t.event.as_ref().is_some_and(|e| {
                (e.detections[0].lat - fire.lat).abs() < 1e-4
                    && (e.detections[0].lon - fire.lon).abs() < 1e-4
            })
        })
        .expect("the fire's task reached the device")
}

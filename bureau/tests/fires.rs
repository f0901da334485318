//! Satellite fire points over real HTTP on loopback, on both storage backends:
//! the corpus FIRMS files imported as published, detections generated inside
//! the corpus's real Changsha county boundaries (GCJ-02 DataV) in FIRMS's own
//! row formats — clusters across passes and satellites, one straddling a
//! county border, one near a static heat source, one in a key zone — bad rows
//! and refused files, task states reported by devices, the figures, and the
//! scheduled fetch from a local HTTP server.

#[macro_use]
mod support;

use fieldproof_core::fixtures::{modis_csv, point_inside, viirs_csv, FirmsRow};
use fieldproof_core::geo::datum::{convert, Datum, LatLon};
use fieldproof_core::geo::jurisdiction::JurisdictionIndex;
use fieldproof_core::time::now_ms;
use serde_json::{json, Value};
use support::cases::{ok, refused};
use support::{corpus, send, Backend, Reply, TestBureau, TestDevice, ADMIN_TOKEN};

on_both_backends!(
    corpus_firms_files_import_as_they_are,
    hunan_detections_become_one_task_per_event_and_later_ones_join_it,
    bad_rows_are_reported_by_line_and_the_good_go_in,
    refused_files_store_nothing,
    every_fire_route_needs_the_admin_token,
    devices_report_task_states_forward_only,
    the_fire_source_is_fetched_on_schedule,
);

const HOUR: i64 = 3_600_000;
const CHANGSHA_COUNTY: &str = "430121";
const LIUYANG: &str = "430181";
const NINGXIANG: &str = "430182";

// --- helpers ---

fn import(bureau: &TestBureau, csv: &str) -> Reply {
    send(
        "POST",
        &format!("{}/v1/admin/fires", bureau.url),
        Some(ADMIN_TOKEN),
        &[("Content-Type", "text/csv")],
        csv.as_bytes(),
    )
}

fn imported(bureau: &TestBureau, csv: &str) -> Value {
    let reply = import(bureau, csv);
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(reply.status, 200, "{body}");
    body
}

/// Counts in the bureau's own tables, whatever the backend.
fn count(bureau: &TestBureau, sql: &str) -> i64 {
    bureau
        .bureau()
        .db
        .read(|tx| tx.query_one(sql, &[])?.int(0))
        .unwrap()
}

/// The Changsha counties (GCJ-02, as DataV publishes them), loaded into the
/// bureau, and an index of them in WGS-84 to place test points.
fn changsha(bureau: &TestBureau) -> JurisdictionIndex {
    let bytes = std::fs::read(corpus("boundaries/counties_by_city/430100.json")).unwrap();
    let geojson: Value = serde_json::from_slice(&bytes).unwrap();
    ok(
        bureau.admin("POST", "/v1/admin/boundaries?datum=gcj02", Some(geojson)),
        200,
    );
    let mut index = JurisdictionIndex::new();
    index.load_geojson(&bytes, Datum::Gcj02).unwrap();
    index
}

/// `metres` north and east of `p`.
fn offset(p: LatLon, north_m: f64, east_m: f64) -> LatLon {
    LatLon {
        lat: p.lat + north_m / 110_574.0,
        lon: p.lon + east_m / (111_320.0 * p.lat.to_radians().cos()),
    }
}

fn row(p: LatLon, time_ms: i64, satellite: &str, confidence: &str) -> FirmsRow {
    FirmsRow {
        lat: p.lat,
        lon: p.lon,
        time_ms,
        satellite: satellite.into(),
        confidence: confidence.into(),
        day: true,
    }
}

/// Two points 400 m either side of the border between `a` and `b`, each
/// inside its own county.
fn across_border(index: &JurisdictionIndex, a: &str, b: &str) -> (LatLon, LatLon) {
    for polygon in &index.get(a).unwrap().polygons {
        for &v in polygon.iter().flatten() {
            if index.placement(b, v).unwrap().distance_m > 30.0 {
                continue;
            }
            let around: Vec<LatLon> = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)]
                .iter()
                .map(|&(n, e)| offset(v, 200.0 * n, 200.0 * e))
                .collect();
            let in_county = |code: &str| {
                around
                    .iter()
                    .copied()
                    .find(|&p| index.locate(p).is_some_and(|at| at.code == code))
            };
            if let (Some(pa), Some(pb)) = (in_county(a), in_county(b)) {
                return (pa, pb);
            }
        }
    }
    panic!("no border between {a} and {b}")
}

fn tasks(bureau: &TestBureau) -> Vec<Value> {
    let page = ok(bureau.admin("GET", "/v1/admin/tasks?limit=500", None), 200);
    page["items"].as_array().unwrap().clone()
}

fn task_of_event(tasks: &[Value], detection_count: usize) -> Vec<&Value> {
    tasks
        .iter()
        .filter(|t| t["event"]["detections"].as_array().map(Vec::len) == Some(detection_count))
        .collect()
}

// --- tests ---

fn corpus_firms_files_import_as_they_are(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let modis =
        std::fs::read_to_string(corpus("fires/modis_2018-09-22_china_bbox_subset.csv")).unwrap();
    let viirs = std::fs::read_to_string(corpus(
        "fires/viirs_snpp_nrt_sample_rows_from_hsVIIRS_README.csv",
    ))
    .unwrap();
    let first = imported(&bureau, &modis);
    assert_eq!(first["product"], "modis");
    assert_eq!(
        (&first["rows"], &first["imported"], &first["rejected_total"]),
        (&json!(320), &json!(320), &json!(0)),
        "{first}"
    );
    // No boundaries loaded: all outside the territory, kept, none dispatched.
    assert_eq!(
        (&first["outside"], &first["tasks_created"]),
        (&json!(320), &json!(0))
    );
    let viirs_import = imported(&bureau, &viirs);
    assert_eq!(viirs_import["product"], "viirs");
    assert_eq!(
        (&viirs_import["rows"], &viirs_import["imported"]),
        (&json!(9), &json!(9))
    );
    // `acq_time` 41 is 00:41 UTC.
    let earliest = count(
        &bureau,
        "SELECT min(time_ms) FROM fire_detections WHERE product = 'viirs'",
    );
    assert_eq!(earliest, 1_742_344_860_000, "2025-03-19T00:41:00Z");
    // The same files again add nothing.
    let again = imported(&bureau, &modis);
    assert_eq!(
        (&again["imported"], &again["duplicates"]),
        (&json!(0), &json!(320))
    );
    assert_eq!(count(&bureau, "SELECT count(*) FROM fire_detections"), 329);
}

fn hunan_detections_become_one_task_per_event_and_later_ones_join_it(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let index = changsha(&bureau);
    let device = bureau.device("430121101");
    let now = now_ms();
    // FIRMS gives times to the minute.
    let t0 = (now - 50 * HOUR) / 60_000 * 60_000;

    // A fire in Changsha County: two VIIRS passes and a MODIS pixel over it.
    let fire = point_inside(&index, CHANGSHA_COUNTY, 1);
    // A fire across the border with Liuyang: one event, sent to the county of
    // its first detection.
    let (near, far) = across_border(&index, CHANGSHA_COUNTY, LIUYANG);
    // A kiln in Ningxiang, a known static source.
    let kiln = point_inside(&index, NINGXIANG, 2);
    let (kiln_gcj, quiet) = (
        convert(kiln, Datum::Wgs84, Datum::Gcj02),
        point_inside(&index, NINGXIANG, 3),
    );
    ok(
        bureau.admin(
            "POST",
            "/v1/admin/fires/static-sources?datum=gcj02",
            Some(
                json!({ "sources": [{ "id": "ningxiang-kiln-1", "name": "砖窑",
                "lat": kiln_gcj.lat, "lon": kiln_gcj.lon, "radius_m": 800.0 }] }),
            ),
        ),
        200,
    );
    // A ban zone around a Liuyang town: its fires are due within 6 hours.
    let town = point_inside(&index, LIUYANG, 4);
    let square: Vec<[f64; 2]> = [
        (-1.0, -1.0),
        (-1.0, 1.0),
        (1.0, 1.0),
        (1.0, -1.0),
        (-1.0, -1.0),
    ]
    .iter()
    .map(|&(n, e)| {
        let c = offset(town, 1500.0 * n, 1500.0 * e);
        [c.lon, c.lat]
    })
    .collect();
    let zones = json!({ "type": "FeatureCollection", "features": [{ "type": "Feature",
        "properties": { "code": "liuyang-town-ban", "name": "集镇禁烧区", "due_hours": 6 },
        "geometry": { "type": "Polygon", "coordinates": [square] } }] });
    ok(
        bureau.admin(
            "POST",
            "/v1/admin/fires/key-zones?datum=wgs84",
            Some(zones.clone()),
        ),
        200,
    );
    // Loading the same again changes nothing.
    let again = ok(
        bureau.admin("POST", "/v1/admin/fires/key-zones?datum=wgs84", Some(zones)),
        200,
    );
    assert_eq!(again, json!({ "loaded": 0, "unchanged": 1 }));

    let viirs = viirs_csv(&[
        row(fire, t0, "N", "n"),
        row(offset(fire, 200.0, 100.0), t0 + 12 * HOUR, "N20", "h"),
        row(near, t0 + HOUR, "N", "n"),
        row(town, t0 + 2 * HOUR, "N21", "n"),
        // Left out: low confidence, and near the kiln.
        row(quiet, t0 + 3 * HOUR, "N", "l"),
        row(offset(kiln, 300.0, 0.0), t0 + 3 * HOUR, "N", "h"),
    ]);
    let first = imported(&bureau, &viirs);
    assert_eq!(
        (&first["imported"], &first["filtered"], &first["outside"]),
        (&json!(6), &json!(2), &json!(0)),
        "{first}"
    );
    let modis = modis_csv(&[
        row(offset(fire, -300.0, 0.0), t0 + 13 * HOUR, "A", "80"),
        row(far, t0 + 2 * HOUR, "T", "65"),
        row(quiet, t0 + 4 * HOUR, "T", "12"),
    ]);
    let second = imported(&bureau, &modis);
    assert_eq!(
        (&second["imported"], &second["filtered"]),
        (&json!(3), &json!(1)),
        "{second}"
    );
    // The first file made three events (Changsha County, the border, the
    // town); the second joined two of them and made none.
    assert_eq!(
        (&first["events_new"], &first["tasks_created"]),
        (&json!(3), &json!(3))
    );
    assert_eq!(
        (&second["events_new"], &second["events_updated"]),
        (&json!(0), &json!(2))
    );
    assert_eq!(
        count(
            &bureau,
            "SELECT count(*) FROM fire_detections WHERE filter = 'static_source'"
        ),
        1
    );
    assert_eq!(
        count(
            &bureau,
            "SELECT count(*) FROM fire_detections WHERE filter = 'low_confidence'"
        ),
        2
    );

    let all = tasks(&bureau);
    assert_eq!(all.len(), 3);
    let county = &task_of_event(&all, 3)[0];
    assert_eq!(county["jurisdiction"], CHANGSHA_COUNTY);
    assert_eq!(county["state"], "dispatched");
    assert_eq!(
        county["due_ms"],
        json!(t0 + 24 * HOUR),
        "due a day after the first"
    );
    let location = &county["location"];
    assert_eq!(location["reported_datum"], "wgs84");
    let border: Vec<&Value> = all
        .iter()
        .filter(|t| {
            t["event"]["detections"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["satellite"] == "T")
        })
        .collect();
    assert_eq!(border.len(), 1, "the border fire is one event");
    assert_eq!(
        border[0]["jurisdiction"], CHANGSHA_COUNTY,
        "its first detection's county"
    );
    let zoned: Vec<&Value> = all
        .iter()
        .filter(|t| t["event"]["key_zone"] == "集镇禁烧区")
        .collect();
    assert_eq!(zoned.len(), 1);
    assert_eq!(zoned[0]["jurisdiction"], LIUYANG);
    assert_eq!(
        zoned[0]["due_ms"],
        json!(t0 + 8 * HOUR),
        "6 h after its first detection"
    );

    // The device in Changsha County gets its county's tasks, each as it
    // stands now, not Liuyang's.
    let pulled: Vec<Value> = device
        .pull_all()
        .into_iter()
        .filter(|c| c["kind"] == "task")
        .collect();
    let latest = pulled
        .iter()
        .rev()
        .find(|c| c["body"]["id"] == county["id"])
        .expect("the county's task reached its device");
    assert_eq!(
        latest["body"]["event"]["detections"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(pulled
        .iter()
        .all(|c| c["body"]["jurisdiction"] == CHANGSHA_COUNTY));

    // A later pass more than a day after the last detection is a new fire.
    let later = imported(&bureau, &viirs_csv(&[row(fire, t0 + 40 * HOUR, "N", "n")]));
    assert_eq!(
        (&later["events_new"], &later["events_updated"]),
        (&json!(1), &json!(0))
    );

    // The figures reconcile with the rows: four events, all past due but the
    // newest, none closed.
    let stats = ok(bureau.admin("GET", "/v1/admin/fires/stats", None), 200);
    let total = &stats["total"];
    assert_eq!(
        total["events"],
        count(&bureau, "SELECT count(*) FROM fire_events")
    );
    assert_eq!(total["events"], 4);
    assert_eq!(total["dispatched"], 4);
    let overdue = count(
        &bureau,
        &format!(
            "SELECT count(*) FROM tasks WHERE state <> 'closed' AND due_ms < {}",
            now_ms()
        ),
    );
    assert_eq!(total["overdue"], overdue);
    assert_eq!(overdue, 3);
    assert_eq!(stats["overdue_events"].as_array().unwrap().len(), 3);
    assert_eq!(
        (&total["closed"], &total["visited_in_time"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(total["confirmed_ratio"], Value::Null);
    let counties = stats["counties"].as_array().unwrap();
    let sum = |key: &str| {
        counties
            .iter()
            .map(|c| c[key].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum("events"), 4);
    assert_eq!(sum("overdue"), 3);
    let changsha_county = counties
        .iter()
        .find(|c| c["code"] == CHANGSHA_COUNTY)
        .unwrap();
    assert_eq!(changsha_county["events"], 3);
    assert_eq!(changsha_county["name"], "长沙县");
    // Narrowed to Liuyang: its one event only.
    let liuyang = ok(
        bureau.admin(
            "GET",
            &format!("/v1/admin/fires/stats?jurisdiction={LIUYANG}"),
            None,
        ),
        200,
    );
    assert_eq!(liuyang["total"]["events"], 1);
}

fn bad_rows_are_reported_by_line_and_the_good_go_in(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let future = now_ms() + 3 * 24 * HOUR;
    let good = |lat: f64| row(LatLon { lat, lon: 113.1 }, now_ms() - 5 * HOUR, "N", "n");
    let body = viirs_csv(&[good(28.1), good(28.2), good(28.3)]);
    let mut lines: Vec<String> = body.lines().map(str::to_owned).collect();
    let header = lines.remove(0);
    let sample = lines[0].clone();
    let with = |column: usize, value: &str| {
        let mut fields: Vec<&str> = sample.split(',').collect();
        fields[column] = value;
        fields.join(",")
    };
    let date = {
        let t = fieldproof_core::time::CivilTime::from_ms(future);
        format!("{:04}-{:02}-{:02}", t.year, t.month, t.day)
    };
    let file = [
        format!("\u{feff}{header}"), // line 1, with a byte-order mark
        lines[0].clone(),            // 2: good
        with(0, "95.5"),             // 3: latitude out of range
        with(5, "1999-12-31"),       // 4: before 2000
        format!("{},41", lines[0]),  // 5: a field too many
        with(2, "hot"),              // 6: bright_ti4 not a number
        with(9, "x"),                // 7: not a VIIRS confidence
        with(6, "2561"),             // 8: no such time of day
        lines[1].clone(),            // 9: good
        with(5, &date),              // 10: in the future
        lines[2].clone(),            // 11: good
        "28.4,113.1,330".to_owned(), // 12: cut off
    ]
    .join("\r\n");
    let answer = imported(&bureau, &file);
    let rejected: Vec<(u64, String)> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (3, "invalid_coordinate"),
        (4, "invalid_time"),
        (5, "wrong_field_count"),
        (6, "invalid_number"),
        (7, "invalid_field"),
        (8, "invalid_time"),
        (10, "invalid_time"),
        (12, "wrong_field_count"),
    ]
    .iter()
    .map(|&(l, c)| (l, c.to_owned()))
    .collect();
    assert_eq!(rejected, expected, "{answer}");
    assert_eq!(
        (
            &answer["rows"],
            &answer["imported"],
            &answer["rejected_total"]
        ),
        (&json!(11), &json!(3), &json!(8))
    );
    assert_eq!(count(&bureau, "SELECT count(*) FROM fire_detections"), 3);
}

fn refused_files_store_nothing(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend_with(backend, |c| {
        c.limits.max_reference_bytes = 4096;
    }) else {
        return;
    };
    let good = viirs_csv(&[row(
        LatLon {
            lat: 28.1,
            lon: 113.1,
        },
        now_ms() - HOUR,
        "N",
        "n",
    )]);
    let code = |reply: Reply| (reply.status, reply.code().unwrap_or_default());
    let without_time = good.replace("acq_time", "acq_hour");
    let reply = import(&bureau, &without_time);
    let message: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(code(reply), (400, "missing_column".into()));
    assert!(
        message["error"]["message"]
            .as_str()
            .unwrap()
            .contains("acq_time"),
        "{message}"
    );
    assert_eq!(
        code(import(&bureau, "name,value\nkiln,3\n")),
        (400, "unknown_fire_product".into())
    );
    assert_eq!(
        code(import(&bureau, "")),
        (400, "unknown_fire_product".into())
    );
    let not_utf8 = [good.as_bytes(), &[0xff, 0xfe, b'\n']].concat();
    let reply = send(
        "POST",
        &format!("{}/v1/admin/fires", bureau.url),
        Some(ADMIN_TOKEN),
        &[("Content-Type", "text/csv")],
        &not_utf8,
    );
    assert_eq!(code(reply), (400, "invalid_csv".into()));
    let json = send(
        "POST",
        &format!("{}/v1/admin/fires", bureau.url),
        Some(ADMIN_TOKEN),
        &[("Content-Type", "application/json")],
        good.as_bytes(),
    );
    assert_eq!(code(json), (415, "unsupported_content_type".into()));
    let big = good.clone() + &good.lines().nth(1).unwrap().repeat(100);
    assert_eq!(code(import(&bureau, &big)), (413, "body_too_large".into()));
    // Bad reference data is refused too.
    let bad_source = bureau.admin(
        "POST",
        "/v1/admin/fires/static-sources?datum=wgs84",
        Some(json!({ "sources": [{ "id": "k", "name": "窑", "lat": 28.0, "lon": 113.0, "radius_m": 0.0 }] })),
    );
    assert_eq!(refused(bad_source), (400, "invalid_request".into()));
    let no_datum = bureau.admin(
        "POST",
        "/v1/admin/fires/static-sources",
        Some(json!({ "sources": [] })),
    );
    assert_eq!(refused(no_datum), (400, "invalid_request".into()));
    let bad_zone = bureau.admin(
        "POST",
        "/v1/admin/fires/key-zones?datum=wgs84",
        Some(json!({ "type": "FeatureCollection", "features": [{ "type": "Feature",
            "properties": { "name": "无编号" }, "geometry": { "type": "Point", "coordinates": [113.0, 28.0] } }] })),
    );
    assert_eq!(refused(bad_zone), (400, "invalid_geojson".into()));
    assert_eq!(count(&bureau, "SELECT count(*) FROM fire_detections"), 0);
    assert_eq!(count(&bureau, "SELECT count(*) FROM reference_data"), 0);
    // The spool folder is left empty.
    let spool = bureau.data.path().join("spool");
    assert_eq!(std::fs::read_dir(spool).map(|d| d.count()).unwrap_or(0), 0);
}

fn every_fire_route_needs_the_admin_token(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430121101");
    let routes = [
        ("POST", "/v1/admin/fires"),
        ("GET", "/v1/admin/fires/stats"),
        ("POST", "/v1/admin/fires/static-sources?datum=wgs84"),
        ("POST", "/v1/admin/fires/key-zones?datum=wgs84"),
        ("GET", "/v1/admin/tasks"),
    ];
    for (method, path) in routes {
        let url = format!("{}{path}", bureau.url);
        let anonymous = send(method, &url, None, &[("Content-Type", "text/csv")], b"x");
        assert_eq!(anonymous.status, 401, "{method} {path}");
        let token = device.token.as_str();
        let as_device = send(
            method,
            &url,
            Some(token),
            &[("Content-Type", "text/csv")],
            b"x",
        );
        assert_eq!(
            as_device.status, 401,
            "{method} {path}: a device is no admin"
        );
    }
}

/// A `task.state` op from `device`.
fn state_op(task_id: &str, state: &str, reason: Option<&str>) -> Value {
    json!({
        "op_id": uuid::Uuid::now_v7().to_string(),
        "kind": "task.state",
        "entity_id": task_id,
        "payload": { "task_id": task_id, "state": state, "reason": reason, "at_ms": now_ms() },
    })
}

fn results(push: (u16, Value)) -> Vec<(String, Option<String>)> {
    let body = ok(push, 200);
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["reason"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn devices_report_task_states_forward_only(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend_with(backend, |c| {
        c.fires.unreceived_after_h = 0;
    }) else {
        return;
    };
    let task = ok(
        bureau.admin(
            "POST",
            "/v1/admin/tasks",
            Some(json!({ "jurisdiction": CHANGSHA_COUNTY, "title": "核查卫星火点" })),
        ),
        201,
    );
    let id = task["id"].as_str().unwrap();
    let listed = tasks(&bureau);
    assert_eq!(
        (&listed[0]["state"], &listed[0]["unreceived"]),
        (&json!("dispatched"), &json!(true))
    );

    let township: TestDevice = bureau.device("430121101");
    let elsewhere = bureau.device(LIUYANG);
    let reviewer = bureau.officer_device(CHANGSHA_COUNTY, "reviewer");
    let answers = results(township.push(vec![
        state_op(id, "received", None),
        state_op(id, "completed", None),
        // Late, out of order: kept in the history, the state stays completed.
        state_op(id, "in_progress", None),
        state_op(id, "declined", None),
        state_op(id, "closed", None),
        state_op(&uuid::Uuid::now_v7().to_string(), "received", None),
    ]));
    assert_eq!(
        answers,
        [
            ("applied".into(), None),
            ("applied".into(), None),
            ("applied".into(), None),
            ("rejected".into(), Some("reason_required".into())),
            ("rejected".into(), Some("invalid_task_state".into())),
            ("rejected".into(), Some("not_found".into())),
        ]
    );
    assert_eq!(
        results(elsewhere.push(vec![state_op(id, "received", None)])),
        [("rejected".into(), Some("outside_jurisdiction".into()))]
    );
    assert_eq!(
        results(reviewer.push(vec![state_op(id, "received", None)])),
        [("rejected".into(), Some("forbidden".into()))]
    );
    let listed = tasks(&bureau);
    let task = &listed[0];
    assert_eq!(
        (&task["state"], &task["unreceived"]),
        (&json!("completed"), &json!(false))
    );
    let history: Vec<&str> = task["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["received", "completed", "in_progress"]);
    // Filtered by state.
    let completed = ok(
        bureau.admin("GET", "/v1/admin/tasks?state=completed", None),
        200,
    );
    assert_eq!(completed["items"].as_array().unwrap().len(), 1);
    let bad = bureau.admin("GET", "/v1/admin/tasks?state=burning", None);
    assert_eq!(refused(bad), (400, "invalid_request".into()));
    // A device that declines a task it has, with a reason.
    let other = ok(
        bureau.admin(
            "POST",
            "/v1/admin/tasks",
            Some(json!({ "jurisdiction": "430121101", "title": "核查" })),
        ),
        201,
    );
    let other_id = other["id"].as_str().unwrap();
    assert_eq!(
        results(township.push(vec![state_op(other_id, "declined", Some("山洪阻断道路"))])),
        [("applied".into(), None)]
    );
    let declined = &tasks(&bureau)[0];
    assert_eq!(declined["state"], "declined");
    assert_eq!(declined["history"][0]["reason"], "山洪阻断道路");
}

fn the_fire_source_is_fetched_on_schedule(backend: Backend) {
    // A FIRMS mirror on loopback serving the corpus MODIS file.
    let body = std::fs::read(corpus("fires/modis_2018-09-22_china_bbox_subset.csv")).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let source = format!("http://{}/firms/modis.csv", listener.local_addr().unwrap());
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let served = served.clone();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for stream in listener.incoming().take(20) {
                let Ok(mut stream) = stream else { continue };
                let mut request = [0u8; 2048];
                let _ = stream.read(&mut request);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
    }
    let Some(bureau) = TestBureau::start_backend_with(backend, |c| {
        c.fires.fetch_url = Some(source);
    }) else {
        return;
    };
    // The first fetch runs at start; wait for it, at most 30 s.
    let mut stored = 0;
    for _ in 0..300 {
        stored = count(&bureau, "SELECT count(*) FROM fire_detections");
        if stored == 320 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(stored, 320, "the fetched file was imported");
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A second bureau process on the same database: the fetch was done for
    // this period, so it does not fetch again.
    let second = TestBureau::start_with(|c| *c = bureau.config.clone());
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one fetch per period across processes"
    );
    drop(second);
}

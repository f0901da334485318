//! The admin case API over real HTTP on loopback: inspections pushed by real
//! devices, listed and opened with their evidence status, reviewed once; tasks;
//! boundaries from the corpus (GCJ-02 DataV counties); checklist templates.
//! Devices see the results through the real pull endpoint.

#[macro_use]
mod support;

use fieldproof_core::evidence::record::Event;
use fieldproof_core::geo::datum::{convert, Datum, LatLon};
use fieldproof_core::geo::jurisdiction::JurisdictionIndex;
use fieldproof_core::model::checklist::defaults;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use support::cases::{inspection, ok, op, photo, push, record, refused, signed_record};
use support::{http, record_op, request, Backend, TestBureau, ADMIN_TOKEN};

on_both_backends!(
    inspections_are_listed_with_their_evidence_status_and_reviewed_once,
    inspection_queries_are_checked,
    every_case_route_needs_the_admin_token,
    tasks_are_converted_to_wgs84_and_sent_to_their_jurisdiction,
    corpus_boundaries_load_in_wgs84_and_reach_their_devices,
    bad_boundaries_are_refused_and_change_nothing,
    checklist_versions_are_published_once,
);

// --- helpers ---

fn of_kind<'a>(changes: &'a [Value], kind: &str) -> Vec<&'a Value> {
    changes.iter().filter(|c| c["kind"] == kind).collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// POSTs raw bytes with a content type, as a file upload from a script would.
fn post_bytes(url: &str, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
    let response = http()
        .post(url)
        .header("Authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("Content-Type", content_type)
        .send(&bytes[..])
        .expect("bureau answers");
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The shared corpus: `FIELDPROOF_CORPUS`, else `../shared/corpus` beside the checkout.
fn corpus(folder: &str) -> PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let root = std::env::var_os("FIELDPROOF_CORPUS").map_or(default.clone(), PathBuf::from);
    let dir = root.join(folder);
    assert!(
        dir.is_dir(),
        "corpus folder {folder}/ not found at {}: set FIELDPROOF_CORPUS (default {})",
        dir.display(),
        default.display()
    );
    dir
}

fn county_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus("boundaries").join("counties_by_city"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

// --- inspections and review ---

fn inspections_are_listed_with_their_evidence_status_and_reviewed_once(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    // A county officer's device: it may send inspections from any of the county's townships.
    let mut officer = bureau.device("430121");
    let county = bureau.device("430181");

    // X: a note (accepted, no media) and a photo not yet uploaded.
    let x = inspection(&officer, "430121101", None);
    push(&officer, vec![op("inspection.submit", &x)]);
    let note = record(&mut officer, Event::Note("到达现场".into()), &x);
    let capture = record(&mut officer, photo(), &x);
    push(&officer, vec![record_op(&note), record_op(&capture)]);
    // Y: one note only — fully verified.
    let y = inspection(&officer, "430121101", None);
    let note = record(&mut officer, Event::Note("已熄灭".into()), &y);
    push(
        &officer,
        vec![op("inspection.submit", &y), record_op(&note)],
    );
    // W: a record after a gap in the chain is stored but flagged.
    let w = inspection(&officer, "430121102", None);
    push(&officer, vec![op("inspection.submit", &w)]);
    let gap = signed_record(&officer, officer.seq + 3, Event::Note("x".into()), &w);
    let body = ok(officer.push(vec![record_op(&gap)]), 200);
    assert_eq!(body["results"][0]["reason"], "gap", "{body}");
    // Z: another county, no evidence.
    let z = inspection(&county, "430181001", None);
    push(&county, vec![op("inspection.submit", &z)]);

    let all = ok(bureau.admin("GET", "/v1/admin/inspections", None), 200);
    let (xi, yi, wi, zi) = (
        x["id"].as_str().unwrap(),
        y["id"].as_str().unwrap(),
        w["id"].as_str().unwrap(),
        z["id"].as_str().unwrap(),
    );
    assert_eq!(ids(&all), [zi, wi, yi, xi], "newest first");
    assert_eq!(all["next_cursor"], Value::Null);
    let status_of = |id: &str| {
        let item = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap();
        item["evidence"]["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(status_of(xi), "pending_media");
    assert_eq!(status_of(yi), "verified");
    assert_eq!(status_of(wi), "flagged");
    assert_eq!(status_of(zi), "none");
    let row = &all["items"][3];
    assert_eq!(row["evidence"]["records"], 2);
    assert_eq!(row["evidence"]["media_pending"], 1);
    assert_eq!(row["jurisdiction"], "430121101");
    assert_eq!(row["status"], "submitted");
    assert_eq!(row["matter"], "straw_burning");
    assert_eq!(row["lat"], 28.25);
    assert_eq!(row["device_id"], officer.device_id.as_str());
    assert!(
        !row.to_string().contains("张三") && row.get("answers").is_none(),
        "list rows carry no personal data or answers: {row}"
    );

    // Jurisdiction codes cover the codes that start with them.
    let list = |query: &str| {
        ok(
            bureau.admin("GET", &format!("/v1/admin/inspections{query}"), None),
            200,
        )
    };
    assert_eq!(ids(&list("?jurisdiction=430121")), [wi, yi, xi]);
    assert_eq!(ids(&list("?jurisdiction=430121101")), [yi, xi]);
    assert_eq!(ids(&list("?jurisdiction=4301")).len(), 4);
    assert_eq!(ids(&list("?jurisdiction=430181")), [zi]);
    assert!(ids(&list("?jurisdiction=4302")).is_empty());

    // Keyset pages: complete, without overlap.
    let first = list("?limit=3");
    assert_eq!(ids(&first), [zi, wi, yi]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = list(&format!("?limit=3&cursor={cursor}"));
    assert_eq!(ids(&second), [xi]);
    assert_eq!(second["next_cursor"], Value::Null);

    // One in full: evidence records and the inspection as sent.
    let case = ok(
        bureau.admin("GET", &format!("/v1/admin/inspections/{xi}"), None),
        200,
    );
    assert_eq!(case["evidence"]["status"], "pending_media");
    let records = case["evidence_records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["kind"], "note");
    assert_eq!(records[0]["status"], "accepted");
    assert_eq!(records[0]["media_status"], "none");
    assert!(records[0]["leaf_index"].is_u64());
    assert_eq!(records[1]["kind"], "capture");
    assert_eq!(records[1]["media_status"], "pending");
    assert_eq!(records[1]["media_sha256"], "07".repeat(32));
    assert_eq!(case["inspection"], x, "the body as the device sent it");
    let flagged = ok(
        bureau.admin("GET", &format!("/v1/admin/inspections/{wi}"), None),
        200,
    );
    assert_eq!(flagged["evidence_records"][0]["status"], "flagged");
    assert_eq!(flagged["evidence_records"][0]["failure"], "gap");

    // Refused reviews change nothing.
    let review = |id: &str, body: Value| {
        bureau.admin(
            "POST",
            &format!("/v1/admin/inspections/{id}/review"),
            Some(body),
        )
    };
    assert_eq!(
        refused(review(xi, json!({ "decision": "return" }))),
        (400, "comment_required".into())
    );
    assert_eq!(
        refused(review(
            xi,
            json!({ "decision": "return", "comment": "   " })
        )),
        (400, "comment_required".into())
    );
    assert_eq!(
        refused(review(
            xi,
            json!({ "decision": "return", "comment": "长".repeat(2001) })
        )),
        (400, "text_too_long".into())
    );
    assert_eq!(
        refused(review(xi, json!({ "decision": "maybe" }))),
        (400, "invalid_request".into())
    );
    assert_eq!(
        refused(review(xi, json!({ "decision": "accept", "extra": 1 }))),
        (400, "malformed_json".into())
    );
    assert_eq!(
        refused(review(
            &uuid::Uuid::now_v7().to_string(),
            json!({ "decision": "accept" })
        )),
        (404, "not_found".into())
    );
    assert_eq!(
        refused(review("not-an-id", json!({ "decision": "accept" }))),
        (400, "invalid_id".into())
    );
    assert_eq!(
        list("?status=submitted")["items"].as_array().unwrap().len(),
        4
    );
    let feed_before = of_kind(&officer.pull_all(), "review").len();
    assert_eq!(feed_before, 0);

    // Return X with a comment; a second review of X is a conflict.
    let returned = ok(
        review(
            xi,
            json!({ "decision": "return", "comment": " 请补拍现场照片 " }),
        ),
        200,
    );
    assert_eq!(returned["status"], "returned");
    assert_eq!(returned["review_comment"], "请补拍现场照片");
    assert!(returned["reviewed_ms"].is_i64());
    assert_eq!(
        refused(review(xi, json!({ "decision": "accept" }))),
        (409, "already_reviewed".into())
    );

    // The device that sent X, and the jurisdiction, hear of the decision.
    let reviews = officer.pull_all();
    let reviews = of_kind(&reviews, "review");
    assert!(!reviews.is_empty());
    for entry in &reviews {
        assert_eq!(entry["body"]["inspection_id"], xi);
        assert_eq!(entry["body"]["decision"], "returned");
        assert_eq!(entry["body"]["comment"], "请补拍现场照片");
        assert_eq!(entry["body"]["reviewed_ms"], returned["reviewed_ms"]);
    }
    assert!(
        of_kind(&county.pull_all(), "review").is_empty(),
        "another county does not see it"
    );

    // The amendment sent after the return is reviewed in its turn.
    let x2 = inspection(&officer, "430121101", Some(&x));
    push(&officer, vec![op("inspection.amend", &x2)]);
    let x2i = x2["id"].as_str().unwrap();
    let original = ok(
        bureau.admin("GET", &format!("/v1/admin/inspections/{xi}"), None),
        200,
    );
    assert_eq!(original["amended_by"], x2i);
    let accepted = ok(review(x2i, json!({ "decision": "accept" })), 200);
    assert_eq!(
        (accepted["status"].as_str(), accepted["amends_id"].as_str()),
        (Some("accepted"), Some(xi))
    );
    assert_eq!(accepted["review_comment"], Value::Null);

    // An inspection amended before anyone reviewed it: review the amendment.
    let y2 = inspection(&officer, "430121101", Some(&y));
    push(&officer, vec![op("inspection.amend", &y2)]);
    assert_eq!(
        refused(review(yi, json!({ "decision": "accept" }))),
        (409, "superseded".into())
    );

    assert_eq!(ids(&list("?status=returned")), [xi]);
    assert_eq!(ids(&list("?status=accepted")), [x2i]);
    assert_eq!(ids(&list("?status=submitted&jurisdiction=430121")).len(), 3);
}

fn inspection_queries_are_checked(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let code = |path: &str| refused(bureau.admin("GET", path, None));
    let bad = |path: &str| (path.to_owned(), code(path));
    for (path, expected) in [
        ("/v1/admin/inspections?status=draft", "invalid_request"),
        (
            "/v1/admin/inspections?jurisdiction=43-01",
            "invalid_request",
        ),
        ("/v1/admin/inspections?limit=0", "invalid_request"),
        ("/v1/admin/inspections?limit=501", "invalid_request"),
        ("/v1/admin/inspections?limit=ten", "invalid_request"),
        ("/v1/admin/inspections?sort=asc", "invalid_request"),
        (
            "/v1/admin/inspections?cursor=bm90IGEgY3Vyc29y",
            "invalid_cursor",
        ),
        ("/v1/admin/inspections/..%2F..%2Fetc", "invalid_id"),
        ("/v1/admin/tasks?cursor=%00", "invalid_cursor"),
    ] {
        assert_eq!(bad(path), (path.to_owned(), (400, expected.to_owned())));
    }
    assert_eq!(
        code(&format!("/v1/admin/inspections/{}", uuid::Uuid::now_v7())),
        (404, "not_found".into())
    );
}

fn every_case_route_needs_the_admin_token(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430121101");
    let id = uuid::Uuid::now_v7();
    for (method, path) in [
        ("GET", "/v1/admin/inspections".to_owned()),
        ("GET", format!("/v1/admin/inspections/{id}")),
        ("POST", format!("/v1/admin/inspections/{id}/review")),
        ("GET", "/v1/admin/tasks".to_owned()),
        ("POST", "/v1/admin/tasks".to_owned()),
        ("GET", "/v1/admin/boundaries".to_owned()),
        ("POST", "/v1/admin/boundaries?datum=wgs84".to_owned()),
        ("GET", "/v1/admin/checklists".to_owned()),
        ("POST", "/v1/admin/checklists".to_owned()),
    ] {
        let url = format!("{}{path}", bureau.url);
        let body = (method == "POST").then(|| json!({}));
        assert_eq!(
            refused(request(method, &url, None, body.clone())),
            (401, "unauthenticated".into()),
            "{method} {path}"
        );
        // A device's token is not the admin token.
        assert_eq!(
            refused(request(method, &url, Some(&device.token), body)),
            (401, "invalid_token".into()),
            "{method} {path}"
        );
    }
}

// --- tasks ---

fn tasks_are_converted_to_wgs84_and_sent_to_their_jurisdiction(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let township = bureau.device("430121101");
    let elsewhere = bureau.device("430181");

    // A fire point from a GCJ-02 map: stored as given and in WGS-84.
    let task = ok(
        bureau.admin(
            "POST",
            "/v1/admin/tasks",
            Some(json!({
                "jurisdiction": "430121",
                "title": "核查卫星火点",
                "note": "FY-3D 14:05",
                "location": { "lat": 28.2476, "lon": 113.0855, "datum": "gcj02" },
                "due_ms": 1_790_086_400_000i64,
            })),
        ),
        201,
    );
    let at = &task["location"];
    assert_eq!(
        (at["reported_lat"].as_f64(), at["reported_lon"].as_f64()),
        (Some(28.2476), Some(113.0855))
    );
    assert_eq!(at["reported_datum"], "gcj02");
    let wgs = LatLon {
        lat: at["lat"].as_f64().unwrap(),
        lon: at["lon"].as_f64().unwrap(),
    };
    let back = convert(wgs, Datum::Wgs84, Datum::Gcj02);
    assert!((back.lat - 28.2476).abs() < 1e-9 && (back.lon - 113.0855).abs() < 1e-9);
    assert!(
        (wgs.lon - 113.0855).abs() > 1e-3,
        "moved by the GCJ-02 offset"
    );
    assert_eq!(task["due_ms"], 1_790_086_400_000i64);
    uuid::Uuid::parse_str(task["id"].as_str().unwrap()).unwrap();

    // BD-09 too; and a task without a place.
    let bd = ok(
        bureau.admin(
            "POST",
            "/v1/admin/tasks",
            Some(json!({ "jurisdiction": "430121101", "title": "复查", "location": { "lat": 28.254, "lon": 113.092, "datum": "BD-09" } })),
        ),
        201,
    );
    assert_eq!(bd["location"]["reported_datum"], "bd09");
    let plain = ok(
        bureau.admin(
            "POST",
            "/v1/admin/tasks",
            Some(json!({ "jurisdiction": "430181", "title": "巡查" })),
        ),
        201,
    );
    assert_eq!(
        (plain["location"].clone(), plain["note"].clone()),
        (Value::Null, Value::Null)
    );

    // Refusals, each with its code, none stored.
    let create = |body: Value| refused(bureau.admin("POST", "/v1/admin/tasks", Some(body)));
    let place = |lat: f64, datum: &str| json!({ "jurisdiction": "430121", "title": "t", "location": { "lat": lat, "lon": 113.0, "datum": datum } });
    assert_eq!(
        create(place(90.5, "wgs84")),
        (400, "invalid_coordinate".into())
    );
    assert_eq!(create(place(28.0, "mars")), (400, "unknown_datum".into()));
    assert_eq!(
        create(json!({ "jurisdiction": "430121", "title": "" })),
        (400, "invalid_request".into())
    );
    assert_eq!(
        create(json!({ "jurisdiction": "../43", "title": "t" })),
        (400, "invalid_request".into())
    );
    assert_eq!(
        create(json!({ "jurisdiction": "430121", "title": "t".repeat(201) })),
        (400, "text_too_long".into())
    );
    assert_eq!(
        create(json!({ "jurisdiction": "430121", "title": "t", "due_ms": -1 })),
        (400, "invalid_request".into())
    );
    assert_eq!(
        create(json!({ "jurisdiction": "430121", "title": "t", "priority": 1 })),
        (400, "malformed_json".into())
    );
    assert_eq!(
        create(
            json!({ "jurisdiction": "430121", "title": "t", "location": { "lat": 28.0, "lon": 113.0 } })
        ),
        (400, "malformed_json".into())
    );

    let all = ok(bureau.admin("GET", "/v1/admin/tasks", None), 200);
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        3,
        "refused tasks are not stored"
    );
    assert_eq!(all["items"][0]["id"], plain["id"], "newest first");
    let mine = ok(
        bureau.admin("GET", "/v1/admin/tasks?jurisdiction=430121", None),
        200,
    );
    assert_eq!(
        ids(&mine),
        [bd["id"].as_str().unwrap(), task["id"].as_str().unwrap()]
    );
    let first = ok(bureau.admin("GET", "/v1/admin/tasks?limit=2", None), 200);
    let rest = ok(
        bureau.admin(
            "GET",
            &format!(
                "/v1/admin/tasks?limit=2&cursor={}",
                first["next_cursor"].as_str().unwrap()
            ),
            None,
        ),
        200,
    );
    assert_eq!(ids(&rest), [task["id"].as_str().unwrap()]);

    // The township device gets its county's task and its own; the other county gets its own.
    let seen: Vec<Value> = of_kind(&township.pull_all(), "task")
        .into_iter()
        .map(|c| c["body"].clone())
        .collect();
    assert_eq!(seen, [task.clone(), bd.clone()]);
    let seen: Vec<Value> = of_kind(&elsewhere.pull_all(), "task")
        .into_iter()
        .map(|c| c["body"].clone())
        .collect();
    assert_eq!(seen, [plain]);
}

// --- reference data ---

fn corpus_boundaries_load_in_wgs84_and_reach_their_devices(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430121101");
    let url = format!("{}/v1/admin/boundaries?datum=gcj02", bureau.url);
    let mut loaded = 0;
    for file in county_files() {
        let body = ok(
            post_bytes(&url, "application/json", std::fs::read(&file).unwrap()),
            200,
        );
        assert_eq!(body["datum"], "gcj02");
        assert_eq!(body["unchanged"], 0);
        loaded += body["loaded"].as_u64().unwrap();
    }
    assert_eq!(loaded, 122, "Hunan's 122 county-level units");
    let stored = ok(bureau.admin("GET", "/v1/admin/boundaries", None), 200);
    let stored = stored.as_array().unwrap();
    assert_eq!(stored.len(), 122);
    assert!(stored
        .iter()
        .any(|b| b["code"] == "430121" && b["name"] == "长沙县"));

    // Loading a file again changes nothing and announces nothing.
    let changsha = corpus("boundaries").join("counties_by_city/430100.json");
    let feed_before = device.pull_all().len();
    let again = ok(
        post_bytes(&url, "application/json", std::fs::read(&changsha).unwrap()),
        200,
    );
    assert_eq!(
        (again["loaded"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(9))
    );
    let changes = device.pull_all();
    assert_eq!(changes.len(), feed_before);

    // The page is gzipped for a device that asks for it, and only then.
    let pull = |accept: Option<&str>| {
        let mut request = http()
            .get(format!("{}/v1/sync/pull?cursor=", bureau.url))
            .header("Authorization", format!("Bearer {}", device.token));
        if let Some(accept) = accept {
            request = request.header("Accept-Encoding", accept);
        }
        let response = request.call().unwrap();
        assert_eq!(response.status(), 200);
        let header = |name: &str| {
            let value = response.headers().get(name);
            value.map(|v| v.to_str().unwrap().to_owned())
        };
        let (encoding, vary) = (header("content-encoding"), header("vary"));
        let body = response.into_body().read_to_vec().unwrap();
        (encoding, vary, body)
    };
    let (encoding, _, plain) = pull(None);
    assert_eq!(encoding, None);
    let (encoding, vary, gzipped) = pull(Some("gzip, deflate"));
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(vary.as_deref(), Some("accept-encoding"));
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gzipped[..]),
        &mut decoded,
    )
    .unwrap();
    assert_eq!(decoded, plain);
    assert!(
        gzipped.len() * 2 < plain.len(),
        "a boundary gzips at least 2×: {} → {}",
        plain.len(),
        gzipped.len()
    );
    assert_eq!(pull(Some("br")).0, None, "only gzip is offered");

    // The township device receives its county's boundary (and no other county's),
    // in WGS-84, readable by the core's own loader.
    let boundaries = of_kind(&changes, "boundaries");
    assert_eq!(boundaries.len(), 1, "only 430121 covers 430121101");
    let body = &boundaries[0]["body"];
    assert_eq!(
        (body["code"].as_str(), body["datum"].as_str()),
        (Some("430121"), Some("wgs84"))
    );
    let mut received = JurisdictionIndex::new();
    let datum = Datum::from_code(body["datum"].as_str().unwrap()).unwrap();
    received
        .load_geojson(&serde_json::to_vec(&body["geojson"]).unwrap(), datum)
        .unwrap();
    let mut reference = JurisdictionIndex::new();
    reference
        .load_geojson(&std::fs::read(&changsha).unwrap(), Datum::Gcj02)
        .unwrap();
    let (got, want) = (
        received.get("430121").unwrap(),
        reference.get("430121").unwrap(),
    );
    assert_eq!(got.name, "长沙县");
    assert_eq!(got.polygons.len(), want.polygons.len());
    for (a, b) in got
        .polygons
        .iter()
        .flatten()
        .flatten()
        .zip(want.polygons.iter().flatten().flatten())
    {
        assert!((a.lat - b.lat).abs() <= 0.6e-7 && (a.lon - b.lon).abs() <= 0.6e-7);
    }
    // A place given in GCJ-02 (DataV's centre of 长沙县) lies inside the WGS-84 polygon.
    let document: Value = serde_json::from_slice(&std::fs::read(&changsha).unwrap()).unwrap();
    let feature = document["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["adcode"] == 430121)
        .unwrap();
    let center = &feature["properties"]["center"];
    let p = convert(
        LatLon {
            lat: center[1].as_f64().unwrap(),
            lon: center[0].as_f64().unwrap(),
        },
        Datum::Gcj02,
        Datum::Wgs84,
    );
    assert_eq!(received.locate(p).unwrap().code, "430121");
}

fn bad_boundaries_are_refused_and_change_nothing(backend: Backend) {
    let Some(bureau) =
        TestBureau::start_backend_with(backend, |c| c.limits.max_reference_bytes = 64 * 1024)
    else {
        return;
    };
    let base = format!("{}/v1/admin/boundaries", bureau.url);
    let square = json!({ "type": "FeatureCollection", "features": [{ "type": "Feature",
        "properties": { "adcode": 430121, "name": "长沙县" },
        "geometry": { "type": "Polygon", "coordinates": [[[113.0, 28.0], [113.2, 28.0], [113.2, 28.2], [113.0, 28.0]]] } }] });
    let square = serde_json::to_vec(&square).unwrap();
    let post = |query: &str, content_type: &str, bytes: &[u8]| {
        refused(post_bytes(
            &format!("{base}{query}"),
            content_type,
            bytes.to_vec(),
        ))
    };
    assert_eq!(
        post("", "application/json", &square),
        (400, "invalid_request".into())
    );
    assert_eq!(
        post("?datum=mars", "application/json", &square),
        (400, "unknown_datum".into())
    );
    assert_eq!(
        post("?datum=gcj02&x=1", "application/json", &square),
        (400, "invalid_request".into())
    );
    assert_eq!(
        post("?datum=gcj02", "text/plain", &square),
        (415, "unsupported_content_type".into())
    );
    for bad in [
        &b"{\"type\": \"FeatureCollection\", \"features\": ["[..],
        br#"{"type":"Point","coordinates":[113,28]}"#,
        br#"{"type":"FeatureCollection","features":[]}"#,
        br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"no code"},"geometry":{"type":"Polygon","coordinates":[[[113,28],[114,28],[114,29],[113,28]]]}}]}"#,
        br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":"CN-43"},"geometry":{"type":"Polygon","coordinates":[[[113,28],[114,28],[114,29],[113,28]]]}}]}"#,
        br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":430121},"geometry":{"type":"Polygon","coordinates":[[[113,28],[114,28],[114,29],[113,28.5]]]}}]}"#,
        br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":430121},"geometry":{"type":"Polygon","coordinates":[[[913,28],[114,28],[114,29],[913,28]]]}}]}"#,
    ] {
        assert_eq!(
            post("?datum=gcj02", "application/json", bad),
            (400, "invalid_geojson".into()),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // Larger than max_reference_bytes: refused before it is parsed.
    let changsha =
        std::fs::read(corpus("boundaries").join("counties_by_city/430100.json")).unwrap();
    assert!(changsha.len() > 64 * 1024);
    assert_eq!(
        post("?datum=gcj02", "application/json", &changsha),
        (413, "body_too_large".into())
    );
    assert_eq!(
        ok(bureau.admin("GET", "/v1/admin/boundaries", None), 200),
        json!([]),
        "nothing stored"
    );
    let device = bureau.device("430121");
    assert!(
        of_kind(&device.pull_all(), "boundaries").is_empty(),
        "nothing announced"
    );
    // A good one, for contrast.
    let body = ok(
        post_bytes(&format!("{base}?datum=wgs84"), "application/json", square),
        200,
    );
    assert_eq!(
        body["jurisdictions"],
        json!([{ "code": "430121", "name": "长沙县" }])
    );
}

fn checklist_versions_are_published_once(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let township = bureau.device("430121101");
    let elsewhere = bureau.device("430181");
    let mut template =
        serde_json::to_value(defaults::template_for("straw_burning").unwrap()).unwrap();
    template["version"] = json!(2);
    let publication = json!({ "template": template, "matter": { "code": "straw_burning", "name": "露天焚烧秸秆" } });
    let publish = |body: &Value| bureau.admin("POST", "/v1/admin/checklists", Some(body.clone()));

    let first = ok(publish(&publication), 201);
    assert_eq!(
        (
            first["id"].as_str(),
            first["version"].as_u64(),
            first["unchanged"].as_bool()
        ),
        (Some("straw_burning"), Some(2), Some(false))
    );
    // The same again: accepted, nothing changes, nothing is announced.
    let again = ok(publish(&publication), 200);
    assert_eq!(again["unchanged"], true);
    assert_eq!(again["loaded_ms"], first["loaded_ms"]);
    // Other content under a published version: refused.
    let mut changed = publication.clone();
    changed["template"]["items"][0]["required"] = json!(false);
    assert_eq!(
        refused(publish(&changed)),
        (409, "checklist_version_published".into())
    );
    // Templates a device would refuse are refused here.
    let mut empty = publication.clone();
    empty["template"]["items"] = json!([]);
    assert_eq!(refused(publish(&empty)), (400, "invalid_template".into()));
    let mut repeated = publication.clone();
    repeated["template"]["items"][1]["id"] = repeated["template"]["items"][0]["id"].clone();
    assert_eq!(
        refused(publish(&repeated)),
        (400, "invalid_template".into())
    );
    let mut wrong_kind = publication.clone();
    wrong_kind["template"]["items"][0]["kind"] = json!({ "type": "photo" });
    assert_eq!(
        refused(publish(&wrong_kind)),
        (400, "invalid_template".into())
    );
    assert_eq!(
        refused(publish(&json!({ "template": { "id": 5 } }))),
        (400, "invalid_template".into())
    );
    assert_eq!(
        refused(publish(&template)),
        (400, "invalid_template".into()),
        "a bare template is not a publication"
    );
    let mut matter = publication.clone();
    matter["matter"]["code"] = json!("Straw Burning");
    assert_eq!(refused(publish(&matter)), (400, "invalid_request".into()));
    let (status, body) = post_bytes(
        &format!("{}/v1/admin/checklists", bureau.url),
        "application/json",
        b"{\"template\":".to_vec(),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_json"))
    );

    // Version 3 for one county only.
    let mut v3 = publication.clone();
    v3["template"]["version"] = json!(3);
    v3["jurisdiction"] = json!("430181");
    ok(publish(&v3), 201);

    let list = ok(bureau.admin("GET", "/v1/admin/checklists", None), 200);
    let versions: Vec<(String, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("straw_burning".to_owned(), 2),
            ("straw_burning".to_owned(), 3)
        ]
    );

    let seen = township.pull_all();
    let seen = of_kind(&seen, "checklist");
    assert_eq!(
        seen.len(),
        1,
        "version 2 once; version 3 is another county's"
    );
    assert_eq!(
        seen[0]["body"],
        publication
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("jurisdiction".into(), Value::Null);
                Value::Object(o)
            })
            .unwrap()
    );
    let versions: Vec<u64> = of_kind(&elsewhere.pull_all(), "checklist")
        .iter()
        .map(|c| c["body"]["template"]["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [2, 3]);
    // What the device receives is a template the core accepts.
    let template: fieldproof_core::model::checklist::ChecklistTemplate =
        serde_json::from_value(seen[0]["body"]["template"].clone()).unwrap();
    template.check().unwrap();
}

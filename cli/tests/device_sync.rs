//! `fieldproof device enroll` and `fieldproof device sync` against the real
//! binary's `serve` on loopback: a device database with an inspection and a photo
//! is enrolled with a printed code and synced until nothing is left; an
//! unreachable bureau and a database never enrolled fail with their codes; a
//! task the bureau sent is listed and declined, and the bureau sees it declined.

use fieldproof_core::fixtures::{draft_fields, straw_burning_answers};
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::inspection::DraftFields;
use fieldproof_core::model::photo::{CaptureContext, CaptureSource};
use fieldproof_core::store::{PhotoSource, Store};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_fieldproof");
const ADMIN_TOKEN: &str = "device-sync-test-admin-token";

/// `fieldproof serve --json` on a free loopback port; killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        let child = Command::new(BIN)
            .args(["serve", "--data", data.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0", "--json"])
            .env("FIELDPROOF_ADMIN_TOKEN", ADMIN_TOKEN)
            .env_remove("FIELDPROOF_DATABASE_URL")
            .stdout(Stdio::piped())
            .spawn()
            .expect("fieldproof serve starts");
        // Owned at once, so that a failure below still stops the child.
        let mut server = Server {
            child,
            url: String::new(),
        };
        let stdout = BufReader::new(server.child.stdout.take().unwrap());
        for line in stdout.lines() {
            let line: Value = serde_json::from_str(&line.unwrap()).unwrap();
            if let Some(url) = line["url"].as_str() {
                server.url = url.to_owned();
                return server;
            }
        }
        panic!("fieldproof serve ended without a listening line");
    }

    fn enrollment_code(&self) -> String {
        let body = r#"{"officer_name":"测试","jurisdiction":"430121","role":"township_staff"}"#;
        let code = self.admin("/v1/admin/enrollment-codes", Some(body));
        code["code"].as_str().unwrap().to_owned()
    }

    /// An admin request: a POST of `body` as JSON, or a GET; its JSON answer.
    fn admin(&self, path: &str, body: Option<&str>) -> Value {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let mut answer = match body {
            Some(body) => agent
                .post(url)
                .header("Authorization", auth)
                .header("Content-Type", "application/json")
                .send(body),
            None => agent.get(url).header("Authorization", auth).call(),
        }
        .expect("the bureau answers");
        serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn device(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["device", "--db", db.to_str().unwrap()])
        .args(args)
        .arg("--json")
        .output()
        .unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Records a submitted inspection with one photo, offline.
fn field_work(db: &Path) {
    let store = Store::open(db).unwrap();
    let fields = DraftFields {
        site: GeoPoint {
            lat: 28.25,
            lon: 113.08,
            datum: Datum::Wgs84,
        },
        ..draft_fields("430121101")
    };
    let answers = straw_burning_answers();
    let id = store
        .create_draft("straw_burning", fields, &answers)
        .unwrap()
        .id;
    let mut jpeg = Vec::new();
    let pixels: Vec<u8> = (0..96 * 64 * 3).map(|i| (i % 251) as u8).collect();
    jpeg_encoder::Encoder::new(&mut jpeg, 85)
        .encode(&pixels, 96, 64, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let context = CaptureContext {
        source: CaptureSource::Camera,
        inspection_id: Some(id.clone()),
        task_id: None,
        officer_id: None,
        monotonic_ms: None,
        boot_id: None,
        app_version: "cli-test".into(),
    };
    store
        .capture_photo(PhotoSource::Bytes(jpeg), None, context)
        .unwrap();
    store.submit(&id).unwrap();
}

#[test]
fn a_device_enrolls_and_syncs_until_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("bureau"));
    let db = dir.path().join("device.db");
    field_work(&db);

    let not_enrolled = device(&db, &["sync"]);
    assert_eq!(not_enrolled.status.code(), Some(5));
    assert_eq!(
        json_lines(&not_enrolled)[0]["error"]["code"],
        "not_enrolled"
    );

    let enrolled = device(
        &db,
        &[
            "enroll",
            "--server",
            &server.url,
            "--code",
            &server.enrollment_code(),
        ],
    );
    assert!(enrolled.status.success(), "{enrolled:?}");
    let enrollment = &json_lines(&enrolled)[0];
    assert_eq!(enrollment["jurisdiction"], "430121");
    assert_eq!(enrollment["server_url"], server.url.as_str());
    assert!(
        enrollment.get("token").is_none(),
        "the token is never printed"
    );

    let synced = device(&db, &["sync", "--deadline-s", "30"]);
    assert!(synced.status.success(), "{synced:?}");
    let report = &json_lines(&synced)[0];
    assert_eq!(
        report["work_left"],
        serde_json::json!({ "ops": 0, "uploads": 0 }),
        "{report}"
    );
    // The inspection, the photo's evidence record and its photo.upload op.
    assert_eq!(report["ops_pushed"], 3, "{report}");
    assert_eq!(report["receipts"], 1, "{report}");
    assert_eq!(report["last_error"], Value::Null);

    // Through an address where nothing listens: offline, exit 7, work kept.
    field_work(&db);
    let offline = device(&db, &["sync", "--server", "http://127.0.0.1:9"]);
    assert_eq!(offline.status.code(), Some(7), "{offline:?}");
    let lines = json_lines(&offline);
    assert_eq!(lines[0]["last_error"]["class"], "offline");
    assert!(lines[0]["work_left"]["ops"].as_u64().unwrap() > 0);
    assert_eq!(lines.last().unwrap()["error"]["code"], "offline");
}

#[test]
fn a_device_lists_the_tasks_it_received_and_declines_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("bureau"));
    let db = dir.path().join("device.db");
    let code = server.enrollment_code();
    let enrolled = device(
        &db,
        &[
            "enroll",
            "--server",
            &server.url,
            "--code",
            &code,
            "--external-gnss",
        ],
    );
    assert!(enrolled.status.success(), "{enrolled:?}");
    let devices = server.admin("/v1/admin/devices", None);
    assert_eq!(devices[0]["external_gnss"], true, "{devices}");
    let task = server.admin(
        "/v1/admin/tasks",
        Some(r#"{"jurisdiction":"430121","title":"核查火点"}"#),
    );
    let task_id = task["id"].as_str().unwrap();

    let nothing_yet = device(&db, &["tasks"]);
    assert!(nothing_yet.status.success());
    assert!(json_lines(&nothing_yet).is_empty());

    assert!(device(&db, &["sync", "--deadline-s", "30"])
        .status
        .success());
    let listed = json_lines(&device(&db, &["tasks"]));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], task_id);
    assert_eq!(listed[0]["progress"]["state"], "received");

    let no_reason = device(&db, &["decline-task", task_id, "--reason", "  "]);
    assert_eq!(no_reason.status.code(), Some(3), "{no_reason:?}");
    assert_eq!(json_lines(&no_reason)[0]["error"]["code"], "invalid_field");
    let unknown = device(&db, &["decline-task", "not-a-task", "--reason", "x"]);
    assert!(!unknown.status.success());

    let declined = device(&db, &["decline-task", task_id, "--reason", "道路中断"]);
    assert!(declined.status.success(), "{declined:?}");
    assert_eq!(json_lines(&declined)[0]["state"], "declined");
    let again = device(&db, &["decline-task", task_id, "--reason", "再次"]);
    assert_eq!(json_lines(&again)[0]["error"]["code"], "task_finished");

    assert!(device(&db, &["sync", "--deadline-s", "30"])
        .status
        .success());
    let at_bureau = server.admin("/v1/admin/tasks?state=declined", None);
    let items = at_bureau["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{at_bureau}");
    assert_eq!(items[0]["id"], task_id);
    assert_eq!(items[0]["state"], "declined");
}

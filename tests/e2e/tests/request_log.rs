//! The bureau's request log after a full sync: one line per request with its
//! route, status, latency and device, and nothing a log must never hold — no
//! token, no party's name, phone or ID number. (Its own test binary: the log
//! subscriber is process-wide.)

use fieldproof_core::model::inspection::{DraftFields, ResponsibleParty};
use fieldproof_e2e::{sync_until_done, Device, TestBureau, Wire};
use std::io::Write;
use std::sync::{Arc, Mutex};

const NAME: &str = "王小明";
const PHONE: &str = "13912345678";
const ID_NUMBER: &str = "430121199001011234";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_request_log_names_routes_and_devices_but_no_token_or_person() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_writer(move || writer.clone())
        .init();

    let bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let fields = DraftFields {
        responsible_party: Some(ResponsibleParty {
            name: NAME.into(),
            phone: Some(PHONE.into()),
            id_number: Some(ID_NUMBER.into()),
        }),
        ..fieldproof_core::fixtures::draft_fields("430121101")
    };
    let answers = fieldproof_core::fixtures::straw_burning_answers();
    let draft = device
        .store
        .create_draft("straw_burning", fields, &answers)
        .unwrap();
    device.capture(
        &draft.id,
        "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
    );
    device.store.submit(&draft.id).unwrap();
    sync_until_done(&device.engine(Wire::new()), 5);
    // An admin request and a refused one too.
    let (status, case) = bureau.admin("GET", &format!("/v1/admin/inspections/{}", draft.id), None);
    assert_eq!(status, 200);
    assert_eq!(
        case["inspection"]["responsible_party"]["name"], NAME,
        "the bureau has it"
    );
    let (status, _) = bureau.admin("GET", "/v1/admin/inspections/not-an-id", None);
    assert_eq!(status, 400);

    let token: String = rusqlite::Connection::open(device.db_path())
        .unwrap()
        .query_row("SELECT token FROM enrollment", [], |row| row.get(0))
        .unwrap();
    let device_id = device.store.enrollment().unwrap().unwrap().device_id;
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    for secret in [
        token.as_str(),
        NAME,
        PHONE,
        ID_NUMBER,
        fieldproof_e2e::ADMIN_TOKEN,
    ] {
        assert!(!text.contains(secret), "the log holds {secret:?}");
    }
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    let answered = |route: &str| {
        lines
            .iter()
            .filter(|l| l["fields"]["message"] == "answered" && l["span"]["route"] == route)
            .collect::<Vec<_>>()
    };
    let pushes = answered("/v1/sync/push");
    assert!(!pushes.is_empty(), "{text}");
    for push in &pushes {
        assert_eq!(push["span"]["method"], "POST");
        assert_eq!(push["span"]["device"], device_id.as_str());
        assert_eq!(push["fields"]["status"], 200);
        assert!(push["fields"]["latency_ms"].is_u64());
    }
    let upload = answered("/v1/uploads");
    assert!(
        upload
            .iter()
            .any(|l| l["span"]["device"] == device_id.as_str()),
        "the photo's tus upload: {text}"
    );
    let refused = answered("/v1/admin/inspections/{id}");
    assert!(refused.iter().any(|l| l["fields"]["status"] == 400
        && l["span"]["error"] == "invalid_id"
        && l["span"]["admin"] == true));
    // Paths with ids are logged by their template only.
    assert!(!text.contains(&draft.id), "ids stay out of the log");
}

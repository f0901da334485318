//! Cases as devices send them: inspection bodies as the core serialises them,
//! push ops, and signed evidence records naming an inspection.

use super::TestDevice;
use fieldproof_core::evidence::cose::parse_sign1;
use fieldproof_core::evidence::record::{payload_digest, Context, Event, EvidencePayload, Media};
use fieldproof_core::model::inspection::Inspection;
use serde_json::{json, Value};

/// (status, error code) of a refused request.
pub fn refused(response: (u16, Value)) -> (u16, String) {
    let code = response.1["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    (response.0, code)
}

pub fn ok(response: (u16, Value), expected: u16) -> Value {
    assert_eq!(response.0, expected, "{}", response.1);
    response.1
}

/// A submitted inspection by `device`'s officer, as a device's store serialises it.
pub fn inspection(device: &TestDevice, township: &str, amends: Option<&Value>) -> Value {
    let id = uuid::Uuid::now_v7().to_string();
    let value = json!({
        "id": id,
        "matter": "straw_burning",
        "checklist_id": "straw_burning",
        "checklist_version": 1,
        "township_code": township,
        "county_code": &township[..6],
        "site": { "lat": 28.25, "lon": 113.08, "reported_lat": 28.2476, "reported_lon": 113.0855,
                  "reported_datum": "gcj02", "address": "高桥镇 田间" },
        "task_id": null,
        "officer_id": device.enrollment["officer_id"],
        "started_at_ms": 1_790_000_000_000i64,
        "ended_at_ms": 1_790_000_600_000i64,
        "status": "submitted",
        "answers": [{ "item_id": "fire_on_arrival", "value": { "type": "yes_no", "value": true } }],
        "findings": "发现焚烧痕迹",
        "responsible_party": { "name": "张三", "phone": "13800000000", "id_number": null },
        "amends_id": amends.map(|a| a["id"].clone()),
        "revision": amends.map_or(0, |a| a["revision"].as_u64().unwrap() + 1),
        "created_at_ms": 1_790_000_000_000i64,
        "updated_at_ms": 1_790_000_600_000i64,
        "submitted_at_ms": 1_790_000_600_000i64,
        "site_jurisdiction": null,
    });
    // The fixture is what the core would send: it parses as the core's model.
    serde_json::from_value::<Inspection>(value.clone()).expect("a core inspection");
    value
}

pub fn op(kind: &str, payload: &Value) -> Value {
    json!({
        "op_id": uuid::Uuid::now_v7().to_string(),
        "kind": kind,
        "entity_id": payload["id"],
        "payload": payload,
    })
}

/// Pushes ops that must all be applied.
pub fn push(device: &TestDevice, ops: Vec<Value>) -> Value {
    let body = ok(device.push(ops), 200);
    for result in body["results"].as_array().unwrap() {
        assert_eq!(result["status"], "applied", "{result}");
    }
    body
}

/// Signs this device's next evidence record, naming `inspection` in its context.
pub fn record(device: &mut TestDevice, event: Event, inspection: &Value) -> Vec<u8> {
    record_as(device, event, inspection, None)
}

/// Signs this device's next evidence record, naming `inspection` and, if
/// given, `officer` in its context.
pub fn record_as(
    device: &mut TestDevice,
    event: Event,
    inspection: &Value,
    officer: Option<&str>,
) -> Vec<u8> {
    let seq = device.seq + 1;
    let signed = signed_with(device, seq, event, inspection, officer);
    device.seq = seq;
    device.prev = Some(payload_digest(&parse_sign1(&signed).unwrap().payload));
    signed
}

/// A record at any seq naming `inspection`, the chain state untouched.
pub fn signed_record(device: &TestDevice, seq: u64, event: Event, inspection: &Value) -> Vec<u8> {
    signed_with(device, seq, event, inspection, None)
}

fn signed_with(
    device: &TestDevice,
    seq: u64,
    event: Event,
    inspection: &Value,
    officer: Option<&str>,
) -> Vec<u8> {
    EvidencePayload {
        kid: device.key_id(),
        seq,
        prev: device.prev,
        event,
        wall_ms: 1_790_000_000_000 + seq as i64,
        monotonic: None,
        app_version: "cases-test".into(),
        fix: None,
        context: Context {
            inspection_id: inspection["id"].as_str().map(str::to_owned),
            officer_id: officer.map(str::to_owned),
            ..Context::default()
        },
        checkpoint: None,
    }
    .sign(&device.key)
    .unwrap()
}

pub fn photo() -> Event {
    Event::Capture(Media {
        sha256: [7; 32],
        size: 1234,
        mime: "image/jpeg".into(),
        width: Some(4000),
        height: Some(3000),
    })
}

//! HTTPS with the bureau's key pinned: a device enrolled with the pin its code
//! came with syncs over TLS to a bureau with a self-signed certificate, and a
//! server with any other key gets nothing from it — not the enrollment, not the
//! token, not a record.

use fieldproof_bureau::config::TlsSettings;
use fieldproof_core::sync::{
    ErrorClass, HttpRequest, HttpTransport, SyncEngine, SyncOptions, Transport,
};
use fieldproof_e2e::{record_inspection, sync_until_done, Device, TestBureau, ADMIN_TOKEN};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn https_bureau() -> TestBureau {
    TestBureau::start_with(|c| c.tls = Some(TlsSettings::default()))
}

/// An admin call over the pinned TLS connection: (status, JSON body).
fn call(bureau: &TestBureau, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let response = HttpTransport::new()
        .send(HttpRequest {
            method: method.into(),
            url: format!("{}{path}", bureau.url),
            headers: vec![
                header("Authorization", &format!("Bearer {ADMIN_TOKEN}")),
                header("Content-Type", "application/json"),
            ],
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            timeout_ms: 10_000,
            tls_pin: bureau.tls_pin(),
        })
        .expect("the pinned bureau answers");
    let json = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status, json)
}

fn header(name: &str, value: &str) -> fieldproof_core::sync::HttpHeader {
    fieldproof_core::sync::HttpHeader {
        name: name.into(),
        value: value.into(),
    }
}

fn code(bureau: &TestBureau) -> (String, String) {
    let (status, issued) = call(
        bureau,
        "POST",
        "/v1/admin/enrollment-codes",
        Some(
            json!({ "officer_name": "测试员", "jurisdiction": "430121", "role": "county_officer" }),
        ),
    );
    assert_eq!(status, 201, "{issued}");
    let pin = issued["tls_pin"]
        .as_str()
        .expect("the code carries the pin");
    (issued["code"].as_str().unwrap().to_owned(), pin.to_owned())
}

#[test]
fn a_pinned_device_syncs_over_https_and_talks_to_no_other_key() {
    let bureau = https_bureau();
    assert!(bureau.url.starts_with("https://"), "{}", bureau.url);
    let (enrollment_code, pin) = code(&bureau);
    assert_eq!(Some(pin.clone()), bureau.tls_pin());
    assert!(pin.starts_with("sha256/"), "{pin}");

    let device = Device::new();
    let engine = device.engine(Arc::new(HttpTransport::new()));
    let enrolled = engine
        .enroll(&bureau.url, &enrollment_code, Some(&pin))
        .unwrap();
    assert_eq!(enrolled.tls_pin.as_deref(), Some(pin.as_str()));
    let inspection = record_inspection(&device.store, "430121101", "村口");
    device.capture(
        &inspection,
        "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg",
    );
    device.store.submit(&inspection).unwrap();
    let reports = sync_until_done(&engine, 5);
    assert_eq!(reports.last().unwrap().last_error, None, "{reports:?}");

    // Another server with its own self-signed key, posing as the bureau.
    let impostor = https_bureau();
    let (other_code, _) = code(&impostor);
    let fooled = Device::new().engine(Arc::new(HttpTransport::new())).enroll(
        &impostor.url,
        &other_code,
        Some(&pin),
    );
    assert_eq!(fooled.unwrap_err().code(), "tls_pin_mismatch");
    let redirected = SyncEngine::new(device.store.clone(), Arc::new(HttpTransport::new()))
        .with_options(SyncOptions {
            server_url: Some(impostor.url.clone()),
            ..SyncOptions::default()
        });
    device.capture(&inspection, "photos/camera/canon_sx60_orient6.jpg");
    let report = redirected
        .sync_once(Instant::now() + Duration::from_secs(30))
        .unwrap();
    let error = report.last_error.expect("refused before sending");
    assert_eq!(
        (error.code.as_str(), error.class),
        ("tls_pin_mismatch", ErrorClass::Auth)
    );
    assert!(report.work_left.any(), "the work waits for the real bureau");
    let (_, devices) = call(&impostor, "GET", "/v1/admin/devices", None);
    assert_eq!(devices, json!([]), "the impostor enrolled nobody");

    // Pinned means TLS: an http address is refused before anything is sent.
    let plain = Device::new().engine(Arc::new(HttpTransport::new())).enroll(
        &bureau.url.replace("https://", "http://"),
        &enrollment_code,
        Some(&pin),
    );
    assert_eq!(plain.unwrap_err().code(), "tls_required");
    // And the real bureau still takes the device's work.
    let reports = sync_until_done(&engine, 5);
    assert_eq!(reports.last().unwrap().last_error, None, "{reports:?}");
}

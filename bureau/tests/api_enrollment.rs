//! Enrollment and admin people/device routes over real HTTP on loopback.

mod support;

use fieldproof_core::evidence::keys::Signer;
use fieldproof_core::hex;
use serde_json::json;
use support::{request, TestBureau, TestDevice, TestKey, ADMIN_TOKEN};

#[test]
fn a_code_enrolls_one_device_once() {
    let bureau = TestBureau::start();
    let code = bureau.enrollment_code("430102001", "township_staff");
    let device = TestDevice::enroll(&bureau.url, &code);
    let e = &device.enrollment;
    assert_eq!(e["jurisdiction"], "430102001");
    assert_eq!(e["role"], "township_staff");
    assert!(e["token"].as_str().unwrap().starts_with("fpd_"));

    // The certificate is the bureau's signature over this key and binding.
    let bureau_key = hex::decode(e["bureau_public_key"].as_str().unwrap()).unwrap();
    let cert = hex::decode(e["certificate"].as_str().unwrap()).unwrap();
    let cert = fieldproof_bureau::enrollment::verify_certificate(&cert, &bureau_key).unwrap();
    assert_eq!(cert.public_key, device.key.public_key());
    assert_eq!(cert.device_id, device.device_id);
    assert_eq!(cert.jurisdiction, "430102001");

    // Reuse of the code, by any key, is refused.
    let other = TestKey::generate();
    let (status, body) = request(
        "POST",
        &format!("{}/v1/enroll", bureau.url),
        None,
        Some(json!({ "code": code, "public_key": hex::encode(&other.public_key()) })),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("enrollment_code_used"))
    );
}

#[test]
fn bad_enrollments_are_refused_with_stable_codes() {
    let bureau = TestBureau::start();
    let key = hex::encode(&TestKey::generate().public_key());
    let enroll = |body: serde_json::Value| {
        request(
            "POST",
            &format!("{}/v1/enroll", bureau.url),
            None,
            Some(body),
        )
    };
    let code_of =
        |r: (u16, serde_json::Value)| (r.0, r.1["error"]["code"].as_str().unwrap_or("").to_owned());

    assert_eq!(
        code_of(enroll(
            json!({ "code": "NOPE-NOPE-NOPE-NOPE", "public_key": key })
        )),
        (404, "unknown_enrollment_code".into())
    );
    let code = bureau.enrollment_code("430102", "county_officer");
    let mut off_curve = vec![4u8; 65];
    off_curve[64] = 7;
    assert_eq!(
        code_of(enroll(
            json!({ "code": code, "public_key": hex::encode(&off_curve) })
        )),
        (400, "invalid_public_key".into())
    );
    assert_eq!(
        code_of(enroll(json!({ "code": code, "public_key": "zz" }))),
        (400, "invalid_public_key".into())
    );
    assert_eq!(
        code_of(enroll(json!({ "code": code }))),
        (400, "malformed_json".into())
    );
    // A bad attempt does not spend the code.
    let (status, _) = enroll(json!({ "code": code.to_lowercase(), "public_key": key }));
    assert_eq!(status, 201);
    // The same key cannot be enrolled somewhere else.
    let elsewhere = bureau.enrollment_code("430103", "county_officer");
    assert_eq!(
        code_of(enroll(json!({ "code": elsewhere, "public_key": key }))),
        (409, "key_already_enrolled".into())
    );
}

#[test]
fn a_device_whose_token_expired_enrolls_again_as_itself() {
    let bureau = TestBureau::start_with(|c| c.limits.token_ttl_s = 0);
    let device = bureau.device("430102001");
    let (_, body) = device.call("GET", "/v1/sync/pull", None);
    assert_eq!(body["error"]["code"], "token_expired");
    let reenroll = || {
        let code = bureau.enrollment_code("430102001", "township_staff");
        request(
            "POST",
            &format!("{}/v1/enroll", bureau.url),
            None,
            Some(json!({ "code": code, "public_key": hex::encode(&device.key.public_key()) })),
        )
    };

    // A new code with the same binding: the same device and certificate, a new token.
    let (status, again) = reenroll();
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["device_id"], device.enrollment["device_id"]);
    assert_eq!(again["certificate"], device.enrollment["certificate"]);
    assert_ne!(again["token"], device.enrollment["token"]);

    // A revoked device cannot come back this way.
    bureau.admin(
        "POST",
        &format!("/v1/admin/devices/{}/revoke", device.device_id),
        None,
    );
    let (status, body) = reenroll();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("device_revoked"))
    );
}

#[test]
fn admin_routes_need_the_admin_token() {
    let bureau = TestBureau::start();
    let url = format!("{}/v1/admin/officers", bureau.url);
    assert_eq!(
        request("GET", &url, None, None).1["error"]["code"],
        "unauthenticated"
    );
    assert_eq!(request("GET", &url, Some("wrong-token"), None).0, 401);
    assert_eq!(request("GET", &url, Some(ADMIN_TOKEN), None).0, 200);
    let (status, body) = bureau.admin(
        "POST",
        "/v1/admin/enrollment-codes",
        Some(json!({ "officer_name": "A", "jurisdiction": "43/../01", "role": "township_staff" })),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = bureau.admin("POST", "/v1/admin/devices/..%2F..%2Fetc/revoke", None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_id"))
    );
}

#[test]
fn a_revoked_device_is_shut_out() {
    let bureau = TestBureau::start();
    let device = bureau.device("430102001");
    let (status, _) = device.call("GET", "/v1/sync/pull", None);
    assert_eq!(status, 200);
    let (status, _) = bureau.admin(
        "POST",
        &format!("/v1/admin/devices/{}/revoke", device.device_id),
        None,
    );
    assert_eq!(status, 200);
    let (status, body) = device.call("GET", "/v1/sync/pull", None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("device_revoked"))
    );
    let (status, body) = request(
        "GET",
        &format!("{}/v1/sync/pull", bureau.url),
        Some("fpd_forged"),
        None,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_token"))
    );
}

#[test]
fn an_expired_token_or_code_is_refused() {
    let bureau = TestBureau::start_with(|c| c.limits.token_ttl_s = 0);
    let device = bureau.device("430102001");
    let (status, body) = device.call("GET", "/v1/sync/pull", None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_expired"))
    );

    let bureau = TestBureau::start_with(|c| c.limits.enrollment_code_ttl_s = 0);
    let code = bureau.enrollment_code("430102001", "township_staff");
    let key = hex::encode(&TestKey::generate().public_key());
    let (status, body) = request(
        "POST",
        &format!("{}/v1/enroll", bureau.url),
        None,
        Some(json!({ "code": code, "public_key": key })),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (410, Some("enrollment_code_expired"))
    );
}

//! Enrollment and admin people/device routes over real HTTP on loopback.

mod support;

use fieldproof_core::evidence::keys::Signer;
use fieldproof_core::hex;
use fieldproof_core::wire::enrollment::possession_message;
use serde_json::{json, Value};
use support::{enroll_with, request, TestBureau, TestDevice, TestKey, ADMIN_TOKEN};

/// Enrolls `key` with `code`, proving possession as a device does.
fn enroll_as(bureau: &TestBureau, code: &str, key: &TestKey) -> (u16, Value) {
    enroll_with(&bureau.url, code, &key.public_key(), |nonce| {
        key.sign(&possession_message(nonce, code)).unwrap()
    })
}

/// A fresh challenge's nonce, hex.
fn nonce(bureau: &TestBureau) -> String {
    let url = format!("{}/v1/enroll/challenge", bureau.url);
    let (status, challenge) = request("POST", &url, None, None);
    assert_eq!(status, 201, "{challenge}");
    let expires = challenge["expires_ms"].as_i64().unwrap();
    let now = fieldproof_core::time::now_ms();
    assert!(
        (now..=now + 300_000).contains(&expires),
        "five minutes: {challenge}"
    );
    challenge["nonce"].as_str().unwrap().to_owned()
}

fn code_of(r: (u16, Value)) -> (u16, String) {
    (r.0, r.1["error"]["code"].as_str().unwrap_or("").to_owned())
}

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
    assert_eq!(
        code_of(enroll_as(&bureau, &code, &other)),
        (409, "enrollment_code_used".into())
    );
}

#[test]
fn bad_enrollments_are_refused_with_stable_codes() {
    let bureau = TestBureau::start();
    let key = TestKey::generate();
    let raw = |body: Value| {
        request(
            "POST",
            &format!("{}/v1/enroll", bureau.url),
            None,
            Some(body),
        )
    };

    assert_eq!(
        code_of(enroll_as(&bureau, "NOPE-NOPE-NOPE-NOPE", &key)),
        (404, "unknown_enrollment_code".into())
    );
    let code = bureau.enrollment_code("430102", "county_officer");
    let mut off_curve = vec![4u8; 65];
    off_curve[64] = 7;
    assert_eq!(
        code_of(enroll_with(&bureau.url, &code, &off_curve, |_| vec![0; 64])),
        (400, "invalid_public_key".into())
    );
    let signature = hex::encode(&[0u8; 64]);
    assert_eq!(
        code_of(raw(
            json!({ "code": code, "public_key": "zz", "nonce": nonce(&bureau),
                            "signature": signature })
        )),
        (400, "invalid_public_key".into())
    );
    // The proof of possession is required.
    let public_key = hex::encode(&key.public_key());
    assert_eq!(
        code_of(raw(json!({ "code": code, "public_key": public_key }))),
        (400, "malformed_json".into())
    );
    // A bad attempt does not spend the code.
    assert_eq!(enroll_as(&bureau, &code.to_lowercase(), &key).0, 201);
    // The same key cannot be enrolled somewhere else.
    let elsewhere = bureau.enrollment_code("430103", "county_officer");
    assert_eq!(
        code_of(enroll_as(&bureau, &elsewhere, &key)),
        (409, "key_already_enrolled".into())
    );
}

#[test]
fn enrolling_proves_possession_of_the_key_over_a_fresh_challenge() {
    let bureau = TestBureau::start();
    let device = bureau.device("430102001");
    // A code bound exactly like the device: its officer, place and role.
    let officer_code =
        |bureau: &TestBureau| {
            let (status, code) = bureau.admin(
            "POST",
            "/v1/admin/enrollment-codes",
            Some(json!({ "officer_id": device.enrollment["officer_id"], "jurisdiction": "430102001",
                         "role": "township_staff" })),
        );
            assert_eq!(status, 201, "{code}");
            code["code"].as_str().unwrap().to_owned()
        };
    let public_key = device.key.public_key();

    // Someone who knows the device's public key and holds a code bound like it
    // cannot become it: their signature is not the device key's.
    let code = officer_code(&bureau);
    let stranger = TestKey::generate();
    let forged = enroll_with(&bureau.url, &code, &public_key, |nonce| {
        stranger.sign(&possession_message(nonce, &code)).unwrap()
    });
    assert_eq!(code_of(forged), (400, "possession_not_proven".into()));
    // Nor with the device's own signature over another code.
    let elsewhere = officer_code(&bureau);
    let replayed = enroll_with(&bureau.url, &code, &public_key, |nonce| {
        device
            .key
            .sign(&possession_message(nonce, &elsewhere))
            .unwrap()
    });
    assert_eq!(code_of(replayed), (400, "possession_not_proven".into()));
    assert_eq!(
        device.call("GET", "/v1/sync/pull", None).0,
        200,
        "untouched"
    );

    // Nonces: only this bureau's, once each, within their five minutes.
    let signed = |nonce: &str| {
        let bytes = hex::decode32(nonce).unwrap_or([0; 32]);
        json!({ "code": code, "public_key": hex::encode(&public_key), "nonce": nonce,
                "signature": hex::encode(&device.key.sign(&possession_message(&bytes, &code)).unwrap()) })
    };
    let enroll = |body: Value| {
        request(
            "POST",
            &format!("{}/v1/enroll", bureau.url),
            None,
            Some(body),
        )
    };
    assert_eq!(
        code_of(enroll(signed(&hex::encode(&[9u8; 32])))),
        (400, "unknown_challenge".into())
    );
    assert_eq!(
        code_of(enroll(signed("zz"))),
        (400, "unknown_challenge".into())
    );
    let stale = nonce(&bureau);
    let db = rusqlite::Connection::open(bureau.data.path().join("bureau.sqlite3")).unwrap();
    db.execute("UPDATE enrollment_challenges SET expires_ms = 1", [])
        .unwrap();
    assert_eq!(
        code_of(enroll(signed(&stale))),
        (410, "challenge_expired".into())
    );

    // Re-enrollment with a proper proof: the same device, one new token, and the
    // earlier token stops working.
    let fresh = nonce(&bureau);
    let (status, again) = enroll(signed(&fresh));
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["device_id"], device.enrollment["device_id"]);
    assert_eq!(
        code_of(device.call("GET", "/v1/sync/pull", None)),
        (401, "invalid_token".into())
    );
    let token = again["token"].as_str().unwrap();
    let url = format!("{}/v1/sync/pull", bureau.url);
    assert_eq!(request("GET", &url, Some(token), None).0, 200);
    // The nonce was spent with it.
    let second = officer_code(&bureau);
    let body = json!({ "code": second, "public_key": hex::encode(&public_key), "nonce": fresh,
        "signature": hex::encode(&device.key.sign(&possession_message(&hex::decode32(&fresh).unwrap(), &second)).unwrap()) });
    assert_eq!(code_of(enroll(body)), (400, "unknown_challenge".into()));
}

#[test]
fn a_device_whose_token_expired_enrolls_again_as_itself() {
    let bureau = TestBureau::start_with(|c| c.limits.token_ttl_s = 0);
    let device = bureau.device("430102001");
    let (_, body) = device.call("GET", "/v1/sync/pull", None);
    assert_eq!(body["error"]["code"], "token_expired");
    let reenroll = || {
        let code = bureau.enrollment_code("430102001", "township_staff");
        enroll_as(&bureau, &code, &device.key)
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
    assert_eq!(
        code_of(enroll_as(&bureau, &code, &TestKey::generate())),
        (410, "enrollment_code_expired".into())
    );
}

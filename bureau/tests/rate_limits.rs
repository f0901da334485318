//! Rate limits over real HTTP on loopback: enrollment and failed tokens per
//! address, device traffic per device (never per address: carriers put many
//! phones behind one), each refusal a `429` with `Retry-After`.

mod support;

use serde_json::Value;
use support::{request, send, TestBureau, ADMIN_TOKEN};

fn code(r: &(u16, Value)) -> (u16, &str) {
    (r.0, r.1["error"]["code"].as_str().unwrap_or(""))
}

/// The Retry-After of a refused GET, in seconds.
fn retry_after(url: &str, token: Option<&str>) -> u64 {
    let headers: Vec<(&str, String)> = token
        .map(|t| vec![("Authorization", format!("Bearer {t}"))])
        .unwrap_or_default();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = send("GET", url, None, &headers, b"");
    assert_eq!(reply.status, 429, "{:?}", reply.code());
    reply.header("Retry-After").unwrap().parse().unwrap()
}

#[test]
fn enrollment_is_limited_per_address() {
    let bureau = TestBureau::start_with(|c| c.limits.enroll_per_minute = 3);
    let url = format!("{}/v1/enroll/challenge", bureau.url);
    for _ in 0..3 {
        assert_eq!(request("POST", &url, None, None).0, 201);
    }
    let refused = request("POST", &url, None, None);
    assert_eq!(code(&refused), (429, "rate_limited"));
    let enroll = request("POST", &format!("{}/v1/enroll", bureau.url), None, None);
    assert_eq!(
        code(&enroll),
        (429, "rate_limited"),
        "enrollments share the limit"
    );
    let reply = send("POST", &url, None, &[], b"");
    let wait: u64 = reply.header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "a token every 20 s: {wait}");
}

#[test]
fn bad_device_tokens_are_limited_per_address_but_good_ones_pass() {
    let bureau = TestBureau::start_with(|c| c.limits.auth_failures_per_minute = 5);
    let device = bureau.device("430121101");
    let url = format!("{}/v1/sync/pull", bureau.url);
    for i in 0..5 {
        let guess = format!("fpd_guess{i}");
        assert_eq!(
            code(&request("GET", &url, Some(&guess), None)),
            (401, "invalid_token")
        );
    }
    assert_eq!(
        code(&request("GET", &url, Some("fpd_more"), None)),
        (429, "rate_limited")
    );
    assert_eq!(
        code(&request("GET", &url, None, None)),
        (429, "rate_limited")
    );
    assert!(retry_after(&url, Some("fpd_again")) >= 1);
    // A phone behind the same address with a real token is not held back.
    assert_eq!(device.call("GET", "/v1/sync/pull", None).0, 200);
}

#[test]
fn the_admin_token_is_refused_outright_from_an_address_past_its_failures() {
    let bureau = TestBureau::start_with(|c| c.limits.auth_failures_per_minute = 3);
    let url = format!("{}/v1/admin/officers", bureau.url);
    assert_eq!(request("GET", &url, Some(ADMIN_TOKEN), None).0, 200);
    for _ in 0..3 {
        assert_eq!(request("GET", &url, Some("wrong-admin-token"), None).0, 401);
    }
    // Guessing right now changes nothing: the address must wait.
    assert_eq!(
        code(&request("GET", &url, Some(ADMIN_TOKEN), None)),
        (429, "rate_limited")
    );
}

#[test]
fn device_traffic_is_limited_per_device_not_per_address() {
    let bureau = TestBureau::start_with(|c| c.limits.device_requests_per_minute = 4);
    let busy = bureau.device("430121101");
    let quiet = bureau.device("430121101");
    for _ in 0..4 {
        assert_eq!(busy.call("GET", "/v1/sync/pull", None).0, 200);
    }
    assert_eq!(
        code(&busy.call("GET", "/v1/sync/pull", None)),
        (429, "rate_limited")
    );
    let wait = retry_after(&format!("{}/v1/sync/pull", bureau.url), Some(&busy.token));
    assert!((1..=15).contains(&wait), "a request every 15 s: {wait}");
    // Another device from the same address is not affected.
    assert_eq!(quiet.call("GET", "/v1/sync/pull", None).0, 200);
}

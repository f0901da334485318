//! Staff at the bureau, end to end over HTTP on loopback, on both storage
//! backends: accounts created with the admin token, signing in and out with a
//! cookie, CSRF on every change, a county reviewer who sees and decides only
//! in the county, slowed-down password guessing, and the audit log.

#[macro_use]
mod support;

use fieldproof_bureau::people::sessions;
use serde_json::{json, Value};
use support::cases::{inspection, ok, op, push, refused};
use support::{send, Backend, Reply, TestBureau};

on_both_backends!(
    staff_sign_in_and_out_with_a_cookie,
    a_county_reviewer_sees_and_decides_only_in_the_county,
    wrong_passwords_slow_the_account_down,
    sessions_end_when_idle_too_long_and_when_disabled,
    the_audit_log_is_scoped_exported_and_chained,
    bad_accounts_are_refused_and_change_nothing,
    a_case_marked_for_penalty_waits_for_its_legal_reviewer,
    the_case_list_filters_by_matter_evidence_time_and_text,
);

const PASSWORD: &str = "correct horse battery staple";

/// A signed-in browser: its cookie and the CSRF token its changes carry.
struct Staff {
    url: String,
    cookie: String,
    csrf: String,
}

impl Staff {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(method, path, body, true)
    }

    /// A request as another site's page or a hand-made form would send it:
    /// the cookie rides along, the CSRF token does not.
    fn without_csrf(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(method, path, body, false)
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>, csrf: bool) -> (u16, Value) {
        let mut headers = vec![("Cookie", self.cookie.as_str())];
        if csrf {
            headers.push(("X-CSRF-Token", self.csrf.as_str()));
        }
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        if !bytes.is_empty() {
            headers.push(("Content-Type", "application/json"));
        }
        let reply = send(
            method,
            &format!("{}{path}", self.url),
            None,
            &headers,
            bytes.as_bytes(),
        );
        (
            reply.status,
            serde_json::from_slice(&reply.body).unwrap_or(Value::Null),
        )
    }
}

fn create_user(bureau: &TestBureau, username: &str, grants: Value) -> Value {
    ok(
        bureau.admin(
            "POST",
            "/v1/admin/users",
            Some(json!({ "username": username, "display_name": "测试 人员",
                         "password": PASSWORD, "grants": grants })),
        ),
        201,
    )
}

fn login(bureau: &TestBureau, username: &str, password: &str) -> Reply {
    let body = json!({ "username": username, "password": password }).to_string();
    send(
        "POST",
        &format!("{}/v1/session", bureau.url),
        None,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

fn sign_in(bureau: &TestBureau, username: &str) -> Staff {
    let reply = login(bureau, username, PASSWORD);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let set_cookie = reply
        .header("set-cookie")
        .expect("a session cookie")
        .to_owned();
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    Staff {
        url: bureau.url.clone(),
        cookie: set_cookie.split(';').next().unwrap().to_owned(),
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

fn staff_sign_in_and_out_with_a_cookie(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let user = create_user(
        &bureau,
        "Li.Reviewer",
        json!([{ "role": "reviewer", "jurisdiction": "430121" }]),
    );
    assert_eq!(
        user["username"], "li.reviewer",
        "usernames are kept in lower case"
    );

    let wrong = login(&bureau, "li.reviewer", "not the password");
    assert_eq!(
        (wrong.status, wrong.code().as_deref()),
        (401, Some("login_failed"))
    );
    let unknown = login(&bureau, "nobody.here", PASSWORD);
    assert_eq!(
        (unknown.status, unknown.code()),
        (401, wrong.code()),
        "unknown users answer alike"
    );
    assert!(!String::from_utf8_lossy(&unknown.body).contains("nobody"));

    let reply = login(&bureau, "LI.REVIEWER", PASSWORD);
    assert_eq!(reply.status, 200);
    let cookie = reply.header("set-cookie").unwrap();
    for attribute in [
        "fp_session=fps_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    let staff = sign_in(&bureau, "li.reviewer");
    let (status, session) = staff.call("GET", "/v1/session", None);
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user"]["id"], user["id"]);
    assert_eq!(session["csrf_token"], staff.csrf.as_str());

    // The database holds an argon2id hash, never the password or the cookie.
    let stored = bureau
        .bureau()
        .db
        .read(|tx| {
            let hash = tx
                .query_one("SELECT password_hash FROM users", &[])?
                .text(0)?;
            let sessions = tx.query("SELECT token_hash FROM user_sessions", &[])?;
            Ok((hash, sessions.len()))
        })
        .unwrap();
    assert!(stored.0.starts_with("$argon2id$") && !stored.0.contains(PASSWORD));
    assert_eq!(stored.1, 2);

    // Logout is a change: without the CSRF token it is refused.
    assert_eq!(
        refused(staff.without_csrf("DELETE", "/v1/session", None)),
        (403, "csrf_rejected".into())
    );
    assert_eq!(
        staff.call("GET", "/v1/session", None).0,
        200,
        "still signed in"
    );
    assert_eq!(staff.call("DELETE", "/v1/session", None).0, 204);
    assert_eq!(
        refused(staff.call("GET", "/v1/session", None)),
        (401, "session_expired".into())
    );
    let forged = Staff {
        cookie: "fp_session=fps_forged".into(),
        ..staff
    };
    assert_eq!(
        refused(forged.call("GET", "/v1/session", None)),
        (401, "invalid_token".into())
    );
}

fn a_county_reviewer_sees_and_decides_only_in_the_county(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let here_device = bureau.device("430121");
    let there_device = bureau.device("430181");
    let here = inspection(&here_device, "430121101", None);
    let there = inspection(&there_device, "430181001", None);
    push(&here_device, vec![op("inspection.submit", &here)]);
    push(&there_device, vec![op("inspection.submit", &there)]);
    let (here_id, there_id) = (here["id"].as_str().unwrap(), there["id"].as_str().unwrap());

    create_user(
        &bureau,
        "reviewer.a",
        json!([{ "role": "reviewer", "jurisdiction": "430121" }]),
    );
    create_user(
        &bureau,
        "dispatcher.a",
        json!([{ "role": "dispatcher", "jurisdiction": "430121" }]),
    );
    let reviewer = sign_in(&bureau, "reviewer.a");
    let dispatcher = sign_in(&bureau, "dispatcher.a");

    // Lists hold the county's cases only; the other county's are absent, not forbidden.
    let list = ok(reviewer.call("GET", "/v1/admin/inspections", None), 200);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [here_id]);
    let asked_elsewhere = ok(
        reviewer.call("GET", "/v1/admin/inspections?jurisdiction=430181", None),
        200,
    );
    assert_eq!(asked_elsewhere["items"], json!([]));
    let there_path = format!("/v1/admin/inspections/{there_id}");
    assert_eq!(
        refused(reviewer.call("GET", &there_path, None)),
        (404, "not_found".into())
    );
    let review_there = json!({ "decision": "accept" });
    assert_eq!(
        refused(reviewer.call("POST", &format!("{there_path}/review"), Some(review_there))),
        (404, "not_found".into())
    );
    assert_eq!(
        refused(reviewer.call("GET", &format!("{there_path}/bundle"), None)),
        (404, "not_found".into())
    );

    // The reviewer sees the responsible party; a dispatcher sees the case without it.
    let here_path = format!("/v1/admin/inspections/{here_id}");
    let case = ok(reviewer.call("GET", &here_path, None), 200);
    assert_eq!(case["inspection"]["responsible_party"]["name"], "张三");
    let case = ok(dispatcher.call("GET", &here_path, None), 200);
    assert!(
        case["inspection"].get("responsible_party").is_none(),
        "{case}"
    );
    assert_eq!(case["id"], here_id);
    assert_eq!(
        refused(dispatcher.call(
            "POST",
            &format!("{here_path}/review"),
            Some(json!({ "decision": "accept" }))
        )),
        (403, "forbidden".into())
    );
    assert_eq!(
        refused(dispatcher.call("GET", &format!("{here_path}/bundle"), None)),
        (403, "forbidden".into())
    );

    // A decision is a change: no CSRF token, no decision; a return needs a comment.
    let review = format!("{here_path}/review");
    assert_eq!(
        refused(reviewer.without_csrf("POST", &review, Some(json!({ "decision": "accept" })))),
        (403, "csrf_rejected".into())
    );
    assert_eq!(
        refused(reviewer.call("POST", &review, Some(json!({ "decision": "return" })))),
        (400, "comment_required".into())
    );
    let decided = ok(
        reviewer.call(
            "POST",
            &review,
            Some(json!({ "decision": "return", "comment": "<script>alert(1)</script>补拍照片" })),
        ),
        200,
    );
    assert_eq!(decided["status"], "returned");
    let there_case = ok(bureau.admin("GET", &there_path, None), 200);
    assert_eq!(
        there_case["status"], "submitted",
        "the other county's case is untouched"
    );

    // The device hears the decision at its next sync.
    let reviews: Vec<Value> = here_device
        .pull_all()
        .into_iter()
        .filter(|c| c["kind"] == "review" && c["body"]["inspection_id"] == here_id)
        .collect();
    assert!(!reviews.is_empty(), "the device pulls the decision");
    assert_eq!(reviews[0]["body"]["decision"], "returned");

    // Dispatch: within the county only, never by a reviewer.
    let task = |jurisdiction: &str| json!({ "jurisdiction": jurisdiction, "title": "核查火点", "location": { "lat": 28.25, "lon": 113.08, "datum": "wgs84" } });
    assert_eq!(
        refused(reviewer.call("POST", "/v1/admin/tasks", Some(task("430121")))),
        (403, "forbidden".into())
    );
    assert_eq!(
        refused(dispatcher.call("POST", "/v1/admin/tasks", Some(task("430181")))),
        (404, "not_found".into())
    );
    let created = ok(
        dispatcher.call("POST", "/v1/admin/tasks", Some(task("430121101"))),
        201,
    );
    let tasks = ok(reviewer.call("GET", "/v1/admin/tasks", None), 200);
    assert_eq!(tasks["items"].as_array().unwrap().len(), 1);
    assert_eq!(tasks["items"][0]["id"], created["id"]);

    // Admin routes are for admins.
    for (method, path) in [
        ("GET", "/v1/admin/users"),
        ("GET", "/v1/admin/audit"),
        ("GET", "/v1/admin/devices"),
    ] {
        assert_eq!(
            refused(reviewer.call(method, path, None)),
            (403, "forbidden".into()),
            "{path}"
        );
    }
    let code =
        json!({ "officer_name": "王五", "jurisdiction": "430121", "role": "township_staff" });
    assert_eq!(
        refused(reviewer.call("POST", "/v1/admin/enrollment-codes", Some(code))),
        (403, "forbidden".into())
    );
}

fn wrong_passwords_slow_the_account_down(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    create_user(
        &bureau,
        "guessed",
        json!([{ "role": "reviewer", "jurisdiction": "430121" }]),
    );
    create_user(
        &bureau,
        "colleague",
        json!([{ "role": "reviewer", "jurisdiction": "430121" }]),
    );
    for attempt in 1..=5 {
        let reply = login(&bureau, "guessed", &format!("wrong guess {attempt}"));
        assert_eq!(
            reply.code().as_deref(),
            Some("login_failed"),
            "attempt {attempt}"
        );
    }
    // The sixth attempt waits, even with the right password: it is not checked.
    let reply = login(&bureau, "guessed", PASSWORD);
    assert_eq!(
        (reply.status, reply.code().as_deref()),
        (429, Some("login_throttled"))
    );
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    // The same address signs another account in: the address has more room.
    assert_eq!(login(&bureau, "colleague", PASSWORD).status, 200);
    // The counts name no one.
    let subjects = bureau
        .bureau()
        .db
        .read(|tx| {
            tx.query("SELECT subject, failures FROM login_failures", &[])?
                .iter()
                .map(|r| Ok((r.text(0)?, r.int(1)?)))
                .collect::<fieldproof_bureau::Result<Vec<_>>>()
        })
        .unwrap();
    assert!(
        subjects.iter().all(|(s, _)| !s.contains("guessed")),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&("address:127.0.0.1".to_owned(), 5)),
        "{subjects:?}"
    );
}

fn sessions_end_when_idle_too_long_and_when_disabled(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let user = create_user(
        &bureau,
        "idle.one",
        json!([{ "role": "reviewer", "jurisdiction": "430121" }]),
    );
    let staff = sign_in(&bureau, "idle.one");
    let token = staff.cookie.strip_prefix("fp_session=").unwrap().to_owned();
    let lifetime = bureau.bureau().session_lifetime();
    let now = fieldproof_core::time::now_ms();
    let resume_at = |at: i64| {
        bureau
            .bureau()
            .db
            .read(|tx| sessions::resume(tx, &token, lifetime, at))
            .map(|s| s.user.id)
            .map_err(|e| e.code())
    };
    assert_eq!(
        resume_at(now + 60_000).unwrap(),
        user["id"].as_str().unwrap()
    );
    assert_eq!(
        resume_at(now + lifetime.idle_ms + 1_000),
        Err("session_expired")
    );
    assert_eq!(
        resume_at(now + lifetime.max_ms + 1_000),
        Err("session_expired")
    );

    // Disabling the account ends its session at once.
    let id = user["id"].as_str().unwrap();
    let disabled = ok(
        bureau.admin(
            "POST",
            &format!("/v1/admin/users/{id}/disable"),
            Some(json!({})),
        ),
        200,
    );
    assert!(disabled["disabled_ms"].is_i64());
    assert_eq!(
        refused(staff.call("GET", "/v1/admin/inspections", None)),
        (401, "session_expired".into())
    );
    assert_eq!(
        login(&bureau, "idle.one", PASSWORD).code().as_deref(),
        Some("login_failed")
    );
}

fn the_audit_log_is_scoped_exported_and_chained(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    create_user(
        &bureau,
        "admin.a",
        json!([{ "role": "admin", "jurisdiction": "430121" }]),
    );
    let admin = sign_in(&bureau, "admin.a");
    // The county admin issues a code and revokes a device in the county, and
    // may not do either elsewhere.
    let code = |jurisdiction: &str| json!({ "officer_name": "王五", "jurisdiction": jurisdiction, "role": "township_staff" });
    ok(
        admin.call(
            "POST",
            "/v1/admin/enrollment-codes",
            Some(code("430121101")),
        ),
        201,
    );
    assert_eq!(
        refused(admin.call("POST", "/v1/admin/enrollment-codes", Some(code("430181")))),
        (404, "not_found".into())
    );
    let device = bureau.device("430121");
    let other = bureau.device("430181");
    let devices = ok(admin.call("GET", "/v1/admin/devices", None), 200);
    assert_eq!(devices.as_array().unwrap().len(), 1, "{devices}");
    ok(
        admin.call(
            "POST",
            &format!("/v1/admin/devices/{}/revoke", device.device_id),
            None,
        ),
        200,
    );
    assert_eq!(
        refused(admin.call(
            "POST",
            &format!("/v1/admin/devices/{}/revoke", other.device_id),
            None
        )),
        (404, "not_found".into())
    );
    assert_eq!(
        device.call("GET", "/v1/sync/pull?cursor=", None).0,
        403,
        "revoked"
    );
    // It may create staff in the county only.
    let new = |jurisdiction: &str| {
        json!({ "username": "helper", "display_name": "帮手", "password": PASSWORD,
                                            "grants": [{ "role": "reviewer", "jurisdiction": jurisdiction }] })
    };
    assert_eq!(
        refused(admin.call("POST", "/v1/admin/users", Some(new("4301")))),
        (403, "forbidden".into())
    );
    ok(
        admin.call("POST", "/v1/admin/users", Some(new("430121102"))),
        201,
    );

    // The county admin reads the county's entries; the admin token reads all.
    let mine = ok(admin.call("GET", "/v1/admin/audit", None), 200);
    let entries = mine["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Its own creation, the code it issued, the test device's code, the revocation, the new user.
    assert_eq!(
        actions,
        [
            "user.create",
            "device.revoke",
            "enrollment_code.issue",
            "enrollment_code.issue",
            "user.create"
        ],
        "{mine}"
    );
    assert!(entries
        .iter()
        .all(|e| e["jurisdiction"].as_str().unwrap().starts_with("430121")));
    let all = ok(bureau.admin("GET", "/v1/admin/audit?limit=2", None), 200);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let rest = ok(
        bureau.admin(
            "GET",
            &format!(
                "/v1/admin/audit?cursor={}",
                all["next_cursor"].as_str().unwrap()
            ),
            None,
        ),
        200,
    );
    let total = 2 + rest["items"].as_array().unwrap().len();
    assert!(
        total >= 7,
        "codes for the test devices, logins and the above: {total}"
    );
    let entry = &mine["items"][1];
    assert_eq!(entry["subject"], device.device_id.as_str());
    assert_eq!(entry["jurisdiction"], "430121");
    assert!(entry["actor"].as_str().unwrap().starts_with("user:"));
    let exported = send(
        "GET",
        &format!("{}/v1/admin/audit?format=csv", bureau.url),
        Some(support::ADMIN_TOKEN),
        &[],
        b"",
    );
    assert_eq!(exported.status, 200);
    assert!(exported
        .header("content-type")
        .unwrap()
        .starts_with("text/csv"));
    let csv = String::from_utf8(exported.body).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "\u{feff}seq,at_ms,actor,action,subject,jurisdiction,detail,entry_sha256"
    );
    assert_eq!(lines.count(), total);
    assert!(!csv.contains("王五"), "names stay out of the audit log");

    // The chain holds, and a changed entry or a removed last one breaks it.
    assert_eq!(
        ok(bureau.admin("GET", "/v1/admin/audit/verify", None), 200)["entries"],
        total as i64
    );
    assert_eq!(
        refused(admin.call("GET", "/v1/admin/audit/verify", None)),
        (403, "forbidden".into())
    );
    let db = &bureau.bureau().db;
    let broken_at = || {
        let (status, body) = bureau.admin("GET", "/v1/admin/audit/verify", None);
        assert_eq!(
            (status, &body["error"]["code"]),
            (500, &json!("audit_log_inconsistent"))
        );
        body["error"]["message"].as_str().unwrap().to_owned()
    };
    let last = total as i64;
    db.write(|tx| tx.execute("DELETE FROM audit_log WHERE seq = $1", &[last.into()]))
        .unwrap();
    assert!(
        broken_at().ends_with(&format!("entry {last}")),
        "a removed last entry"
    );
    db.write(|tx| {
        tx.execute(
            "UPDATE audit_log SET subject = 'someone else' WHERE seq = 2",
            &[],
        )
    })
    .unwrap();
    assert!(broken_at().ends_with("entry 2"), "a changed entry");
}

fn bad_accounts_are_refused_and_change_nothing(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    create_user(
        &bureau,
        "taken",
        json!([{ "role": "reviewer", "jurisdiction": "430121" }]),
    );
    let attempt = |body: Value| refused(bureau.admin("POST", "/v1/admin/users", Some(body)));
    let user = |username: &str, password: &str, grants: Value| json!({ "username": username, "display_name": "某人", "password": password, "grants": grants });
    let reviewer = json!([{ "role": "reviewer", "jurisdiction": "430121" }]);
    assert_eq!(
        attempt(user("short", "123456789", reviewer.clone())),
        (400, "invalid_password".into())
    );
    assert_eq!(
        attempt(user("same.as.name", "Same.As.Name", reviewer.clone())),
        (400, "invalid_password".into())
    );
    assert_eq!(
        attempt(user("张伟", PASSWORD, reviewer.clone())),
        (400, "invalid_request".into())
    );
    assert_eq!(
        attempt(user("TAKEN", PASSWORD, reviewer.clone())),
        (409, "username_taken".into())
    );
    assert_eq!(
        attempt(user("no.roles", PASSWORD, json!([]))),
        (400, "invalid_request".into())
    );
    let bad_code = json!([{ "role": "reviewer", "jurisdiction": "43x121" }]);
    assert_eq!(attempt(user("bad.code", PASSWORD, bad_code)).0, 400);
    let bad_role = json!([{ "role": "superuser", "jurisdiction": "430121" }]);
    assert_eq!(
        attempt(user("bad.role", PASSWORD, bad_role)),
        (400, "malformed_json".into())
    );
    let mut extra = user("extra", PASSWORD, reviewer);
    extra["is_admin"] = json!(true);
    assert_eq!(attempt(extra), (400, "malformed_json".into()));
    // Without the admin token or a session: nothing.
    let anonymous = support::request("GET", &format!("{}/v1/admin/users", bureau.url), None, None);
    assert_eq!(refused(anonymous), (401, "unauthenticated".into()));
    let users = ok(bureau.admin("GET", "/v1/admin/users", None), 200);
    assert_eq!(
        users.as_array().unwrap().len(),
        1,
        "only the first account exists: {users}"
    );
    assert_eq!(users[0]["username"], "taken");
    assert!(users[0].get("password_hash").is_none() && users[0].get("password").is_none());
}

fn a_case_marked_for_penalty_waits_for_its_legal_reviewer(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430121");
    let (first, second) = (
        inspection(&device, "430121101", None),
        inspection(&device, "430121101", None),
    );
    push(
        &device,
        vec![
            op("inspection.submit", &first),
            op("inspection.submit", &second),
        ],
    );
    create_user(
        &bureau,
        "reviewer.a",
        json!([{ "role": "reviewer", "jurisdiction": "430121" }]),
    );
    create_user(
        &bureau,
        "legal.a",
        json!([{ "role": "legal_reviewer", "jurisdiction": "430121" }]),
    );
    create_user(
        &bureau,
        "legal.b",
        json!([{ "role": "legal_reviewer", "jurisdiction": "430181" }]),
    );
    let (reviewer, legal, elsewhere) = (
        sign_in(&bureau, "reviewer.a"),
        sign_in(&bureau, "legal.a"),
        sign_in(&bureau, "legal.b"),
    );
    let path = |i: &Value, what: &str| {
        format!("/v1/admin/inspections/{}/{what}", i["id"].as_str().unwrap())
    };

    // A return cannot be marked for penalty; an acceptance can.
    let marked_return = json!({ "decision": "return", "comment": "补充", "penalty": true });
    assert_eq!(
        refused(reviewer.call("POST", &path(&first, "review"), Some(marked_return))).0,
        400
    );
    let accepted = ok(
        reviewer.call(
            "POST",
            &path(&first, "review"),
            Some(json!({ "decision": "accept", "penalty": true })),
        ),
        200,
    );
    assert_eq!(
        (
            accepted["penalty"].clone(),
            accepted["legal_status"].clone()
        ),
        (json!(true), json!("pending"))
    );
    ok(
        reviewer.call(
            "POST",
            &path(&second, "review"),
            Some(json!({ "decision": "accept" })),
        ),
        200,
    );
    let waiting = ok(
        reviewer.call("GET", "/v1/admin/inspections?legal_status=pending", None),
        200,
    );
    assert_eq!(waiting["items"].as_array().unwrap().len(), 1);

    // Only a legal reviewer of the county decides, and only on a case waiting for it.
    let approve = json!({ "decision": "approve" });
    assert_eq!(
        refused(reviewer.call("POST", &path(&first, "legal-review"), Some(approve.clone()))),
        (403, "forbidden".into())
    );
    assert_eq!(
        refused(elsewhere.call("POST", &path(&first, "legal-review"), Some(approve.clone()))),
        (404, "not_found".into())
    );
    assert_eq!(
        refused(legal.call("POST", &path(&second, "legal-review"), Some(approve))),
        (409, "not_awaiting_legal_review".into())
    );
    assert_eq!(
        refused(legal.call(
            "POST",
            &path(&first, "legal-review"),
            Some(json!({ "decision": "send_back" }))
        )),
        (400, "comment_required".into())
    );
    let sent_back = ok(
        legal.call(
            "POST",
            &path(&first, "legal-review"),
            Some(json!({ "decision": "send_back", "comment": "缺少现场照片" })),
        ),
        200,
    );
    assert_eq!(sent_back["status"], "returned");
    assert_eq!(sent_back["legal_status"], "sent_back");
    assert_eq!(sent_back["legal_comment"], "缺少现场照片");
    // Once only.
    let again = json!({ "decision": "approve" });
    assert_eq!(
        refused(legal.call("POST", &path(&first, "legal-review"), Some(again))).0,
        409
    );

    // The device hears it as a returned review carrying the legal reasons.
    let decisions: Vec<Value> = device
        .pull_all()
        .into_iter()
        .filter(|c| c["kind"] == "review" && c["body"]["inspection_id"] == first["id"])
        .map(|c| c["body"].clone())
        .collect();
    let last = decisions.last().unwrap();
    assert_eq!(last["decision"], "returned");
    assert_eq!(last["comment"], "法制审核：缺少现场照片");
    let audit = ok(bureau.admin("GET", "/v1/admin/audit?limit=1", None), 200);
    assert_eq!(audit["items"][0]["action"], "inspection.legal_review");
}

fn the_case_list_filters_by_matter_evidence_time_and_text(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430121");
    let mut waste = inspection(&device, "430121101", None);
    waste["matter"] = json!("waste_burning");
    waste["findings"] = json!("垃圾焚烧 50%_done");
    let straw = inspection(&device, "430121102", None);
    push(
        &device,
        vec![
            op("inspection.submit", &waste),
            op("inspection.submit", &straw),
        ],
    );
    let ids = |query: &str| -> Vec<String> {
        let page = ok(
            bureau.admin("GET", &format!("/v1/admin/inspections?{query}"), None),
            200,
        );
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (waste_id, straw_id) = (waste["id"].as_str().unwrap(), straw["id"].as_str().unwrap());
    assert_eq!(ids("matter=waste_burning"), [waste_id]);
    assert_eq!(ids("evidence=none").len(), 2, "no evidence yet");
    assert!(ids("evidence=flagged").is_empty());
    // Text: in findings or address, LIKE's wildcards taken as typed.
    assert_eq!(ids("q=%E5%9E%83%E5%9C%BE"), [waste_id], "垃圾");
    assert_eq!(ids("q=50%25_"), [waste_id]);
    assert!(ids("q=%25%25%25x").is_empty());
    assert!(
        ids("q=%E5%BC%A0%E4%B8%89").is_empty(),
        "the responsible party (张三) is not searched"
    );
    let now = fieldproof_core::time::now_ms();
    assert_eq!(ids(&format!("from={}", now - 60_000)).len(), 2);
    assert!(ids(&format!("to={}", now - 60_000)).is_empty());
    assert_eq!(ids("status=submitted&matter=straw_burning"), [straw_id]);
    assert_eq!(
        refused(bureau.admin("GET", "/v1/admin/inspections?evidence=great", None)).0,
        400
    );
    assert_eq!(
        refused(bureau.admin("GET", "/v1/admin/inspections?legal_status=maybe", None)).0,
        400
    );
}

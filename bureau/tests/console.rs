//! The console's pages over HTTP on loopback, on both storage backends (the
//! browser tests in tests/console run on SQLite only): every page answers for
//! a signed-in admin with data in the store, the dashboard counts what was
//! received, the filters and the map's queries run on PostgreSQL too, and a
//! form needs its CSRF token.

#[macro_use]
mod support;

use fieldproof_bureau::cases::dashboard::{self, Counts};
use fieldproof_bureau::people::Scope;
use fieldproof_core::evidence::record::Event;
use serde_json::{json, Value};
use support::cases::{inspection, ok, op, photo, push, record, signed_record};
use support::{corpus, record_op, send, Backend, TestBureau};

on_every_store!(
    every_page_answers_and_the_dashboard_counts,
    forms_need_their_token
);

const PASSWORD: &str = "correct horse battery staple";

/// Signs `username` in through the API: the cookie header and the CSRF token.
fn sign_in(bureau: &TestBureau, username: &str, grants: Value) -> (String, String) {
    ok(
        bureau.admin(
            "POST",
            "/v1/admin/users",
            Some(json!({ "username": username, "display_name": "测试", "password": PASSWORD, "grants": grants })),
        ),
        201,
    );
    let body = json!({ "username": username, "password": PASSWORD }).to_string();
    let reply = send(
        "POST",
        &format!("{}/v1/session", bureau.url),
        None,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(reply.status, 200);
    let cookie = reply
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session: Value = serde_json::from_slice(&reply.body).unwrap();
    (cookie, session["csrf_token"].as_str().unwrap().to_owned())
}

fn page(bureau: &TestBureau, cookie: &str, path: &str) -> (u16, String) {
    let reply = send(
        "GET",
        &format!("{}{path}", bureau.url),
        None,
        &[("Cookie", cookie)],
        b"",
    );
    (
        reply.status,
        String::from_utf8_lossy(&reply.body).into_owned(),
    )
}

fn every_page_answers_and_the_dashboard_counts(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let geojson: Value = serde_json::from_slice(
        &std::fs::read(corpus("boundaries/counties_by_city/430100.json")).unwrap(),
    )
    .unwrap();
    ok(
        bureau.admin("POST", "/v1/admin/boundaries?datum=gcj02", Some(geojson)),
        200,
    );
    let mut device = bureau.device("430121");
    let (first, second) = (
        inspection(&device, "430121101", None),
        inspection(&device, "430121102", None),
    );
    push(
        &device,
        vec![
            op("inspection.submit", &first),
            op("inspection.submit", &second),
        ],
    );
    // A photo record whose photo never arrives: the case's evidence waits.
    let capture = record(&mut device, photo(), &first);
    push(&device, vec![record_op(&capture)]);
    // A record after a gap in the chain: stored, flagged; the second case's evidence is.
    let gap = signed_record(&device, device.seq + 3, Event::Note("x".into()), &second);
    assert_eq!(
        ok(device.push(vec![record_op(&gap)]), 200)["results"][0]["reason"],
        "gap"
    );
    ok(
        bureau.admin(
            "POST",
            &format!(
                "/v1/admin/inspections/{}/review",
                second["id"].as_str().unwrap()
            ),
            Some(json!({ "decision": "return", "comment": "补充" })),
        ),
        200,
    );
    let task = json!({ "jurisdiction": "430121101", "title": "核查", "due_ms": 1_000_000_000_000i64,
                       "location": { "lat": 28.25, "lon": 113.08, "datum": "wgs84" } });
    ok(bureau.admin("POST", "/v1/admin/tasks", Some(task)), 201);
    let grants: Vec<Value> = ["admin", "reviewer", "dispatcher", "legal_reviewer"]
        .iter()
        .map(|role| json!({ "role": role, "jurisdiction": "430121" }))
        .collect();
    let (cookie, _) = sign_in(&bureau, "admin.a", json!(grants));

    let first_id = first["id"].as_str().unwrap();
    for (path, expect) in [
        ("/console/".to_owned(), "本周"),
        ("/console/cases".to_owned(), "待审核"),
        ("/console/cases?matter=straw_burning&status=submitted&evidence=pending_media&from=2020-01-01&to=2099-12-31&q=%E7%94%B0".to_owned(), first_id),
        (format!("/console/cases/{first_id}"), "照片尚未上传完成"),
        ("/console/tasks".to_owned(), "已超期"),
        ("/console/map".to_owned(), "class=\"boundary\""),
        ("/console/devices".to_owned(), &device.device_id),
        ("/console/users".to_owned(), "admin.a"),
        ("/console/audit".to_owned(), "task.create"),
        ("/console/fires?jurisdiction=430121&days=30".to_owned(), "火点事件"),
    ] {
        let (status, body) = page(&bureau, &cookie, &path);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains(expect), "{path} shows {expect}");
    }
    // The case file is one link away, with the same session.
    let (_, case_page) = page(&bureau, &cookie, &format!("/console/cases/{first_id}"));
    let bundle = format!("/v1/admin/inspections/{first_id}/bundle");
    assert!(case_page.contains(&bundle));
    let zip = send(
        "GET",
        &format!("{}{bundle}", bureau.url),
        None,
        &[("Cookie", cookie.as_str())],
        b"",
    );
    assert_eq!(
        (zip.status, zip.header("content-type")),
        (200, Some("application/zip"))
    );
    assert!(zip.body.starts_with(b"PK"));
    let audit = ok(bureau.admin("GET", "/v1/admin/audit?limit=1", None), 200);
    assert_eq!(audit["items"][0]["action"], "case_file.export");
    // Figures elsewhere are not the viewer's.
    let (status, _) = page(&bureau, &cookie, "/console/fires?jurisdiction=430181");
    assert_eq!(status, 404);
    // Parameters that do not parse get the console's error page, not a plain-text
    // rejection (found by the API fuzzing, tests/api).
    for path in [
        "/console/fires?days=999999999999999999999",
        "/console/cases?q=a&q=b",
        "/console/cases?statu=returned",
    ] {
        let (status, body) = page(&bureau, &cookie, path);
        assert_eq!(status, 400, "{path}");
        assert!(
            body.contains("<html") && body.contains("invalid_request"),
            "{path}: {body}"
        );
    }

    // Filters that exclude the case leave it out.
    let (_, body) = page(&bureau, &cookie, "/console/cases?evidence=verified");
    assert!(!body.contains(first_id));

    // The dashboard's figures, from the domain on this backend.
    let now = fieldproof_core::time::now_ms();
    let figures = bureau
        .bureau()
        .db
        .read(|tx| {
            dashboard::figures(
                tx,
                &Scope::Within(vec!["430121".into()]),
                now - 86_400_000,
                now - 86_400_000,
                now,
            )
        })
        .unwrap();
    assert_eq!(figures.matters.len(), 1);
    let row = &figures.matters[0];
    assert_eq!(
        (row.county.as_str(), row.matter.as_str()),
        ("430121", "straw_burning")
    );
    let expected = Counts {
        received: 2,
        awaiting: 1,
        accepted: 0,
        returned: 1,
        flagged: 1,
    };
    assert_eq!((row.week, row.month), (expected, expected));
    assert_eq!((figures.tasks[0].open, figures.tasks[0].overdue), (1, 1));
    let elsewhere = bureau
        .bureau()
        .db
        .read(|tx| dashboard::figures(tx, &Scope::Within(vec!["430181".into()]), 0, 0, now))
        .unwrap();
    assert!(elsewhere.matters.is_empty() && elsewhere.tasks.is_empty());

    // Without a session, a page sends the browser to the login page, and back after.
    let reply = send(
        "GET",
        &format!("{}/console/cases", bureau.url),
        None,
        &[],
        b"",
    );
    assert_eq!(reply.status, 200, "redirected to the login page");
    let login = String::from_utf8_lossy(&reply.body);
    assert!(
        login.contains("login_csrf") && login.contains(r#"name="next" value="/console/cases""#)
    );
    let policy = reply.header("content-security-policy").unwrap();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
}

fn forms_need_their_token(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let device = bureau.device("430121");
    let case = inspection(&device, "430121101", None);
    push(&device, vec![op("inspection.submit", &case)]);
    let (cookie, csrf) = sign_in(
        &bureau,
        "reviewer.a",
        json!([{ "role": "reviewer", "jurisdiction": "430121" }]),
    );
    let review = format!(
        "{}/console/cases/{}/review",
        bureau.url,
        case["id"].as_str().unwrap()
    );
    let form = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    for body in [
        "decision=accept".to_owned(),
        "decision=accept&csrf=forged".to_owned(),
    ] {
        let reply = send("POST", &review, None, &form, body.as_bytes());
        assert_eq!(reply.status, 403, "{body}");
        assert!(String::from_utf8_lossy(&reply.body).contains("csrf_rejected"));
    }
    let status = ok(
        bureau.admin(
            "GET",
            &format!("/v1/admin/inspections/{}", case["id"].as_str().unwrap()),
            None,
        ),
        200,
    );
    assert_eq!(status["status"], "submitted", "nothing changed");
    let accepted = send(
        "POST",
        &review,
        None,
        &form,
        format!("decision=accept&comment=&csrf={csrf}").as_bytes(),
    );
    assert_eq!(accepted.status, 200, "followed to the next page");
    let case_path = format!("/v1/admin/inspections/{}", case["id"].as_str().unwrap());
    assert_eq!(
        ok(bureau.admin("GET", &case_path, None), 200)["status"],
        "accepted"
    );
    let (_, shown) = page(
        &bureau,
        &cookie,
        &format!(
            "/console/cases/{}?done=accepted",
            case["id"].as_str().unwrap()
        ),
    );
    assert!(shown.contains("已通过审核"));
    // An incomplete form is refused with a page, not a bare 422.
    let incomplete = send(
        "POST",
        &review,
        None,
        &form,
        format!("csrf={csrf}").as_bytes(),
    );
    assert_eq!(incomplete.status, 400);
    assert!(String::from_utf8_lossy(&incomplete.body).contains("invalid_request"));
}

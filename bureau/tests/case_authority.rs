//! Who may put what into a case, over real HTTP on loopback: evidence attaches
//! only from the case's officers' devices, roles limit what a device pushes,
//! what an inspection claims is checked against its device's enrollment, and an
//! amendment continues its line. Each refusal leaves the case as it was.

#[macro_use]
mod support;

use fieldproof_core::evidence::record::Event;
use serde_json::{json, Value};
use support::cases::{inspection, ok, op, photo, push, record, record_as, refused};
use support::{record_op, Backend, TestBureau, TestDevice};

on_both_backends!(
    evidence_from_outside_a_case_is_kept_apart_and_changes_nothing,
    roles_and_claimed_places_and_officers_are_checked,
    an_amendment_continues_its_line_from_a_case_officer,
);

fn case(bureau: &TestBureau, inspection: &Value) -> Value {
    let id = inspection["id"].as_str().unwrap();
    ok(
        bureau.admin("GET", &format!("/v1/admin/inspections/{id}"), None),
        200,
    )
}

fn assign(bureau: &TestBureau, inspection: &Value, officer_id: &Value) -> (u16, Value) {
    let id = inspection["id"].as_str().unwrap();
    bureau.admin(
        "POST",
        &format!("/v1/admin/inspections/{id}/officers"),
        Some(json!({ "officer_id": officer_id })),
    )
}

/// The single op result of a push.
fn outcome(device: &TestDevice, op: Value) -> (String, String) {
    let body = ok(device.push(vec![op]), 200);
    let result = &body["results"][0];
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    (text(&result["status"]), text(&result["reason"]))
}

fn field<'a>(records: &'a Value, name: &str) -> Vec<&'a str> {
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[name].as_str().unwrap_or(""))
        .collect()
}

fn evidence_from_outside_a_case_is_kept_apart_and_changes_nothing(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let mut a = bureau.officer_device("430121", "county_officer");
    let mut b = bureau.officer_device("430181", "county_officer");
    let x = inspection(&a, "430121101", None);
    let note = record(&mut a, Event::Note("到达现场".into()), &x);
    push(&a, vec![op("inspection.submit", &x), record_op(&note)]);
    assert_eq!(case(&bureau, &x)["evidence"]["status"], "verified");

    // County B's device signs a note and a capture naming county A's case. Its
    // chain takes them (they are authentic), the case does not.
    let foreign_note = record(&mut b, Event::Note("不是我的案件".into()), &x);
    let foreign_photo = record(&mut b, photo(), &x);
    push(
        &b,
        vec![record_op(&foreign_note), record_op(&foreign_photo)],
    );
    // A's own device naming another officer in the record's context.
    let stranger = b.enrollment["officer_id"].as_str().unwrap().to_owned();
    let misnamed = record_as(&mut a, Event::Note("冒名".into()), &x, Some(&stranger));
    push(&a, vec![record_op(&misnamed)]);

    let held = case(&bureau, &x);
    assert_eq!(held["evidence"]["status"], "verified", "{held}");
    assert_eq!(held["evidence"]["records"], 1);
    let attached = &held["evidence_records"];
    assert_eq!(field(attached, "device_id"), [a.device_id.as_str()]);
    let apart = &held["refused_records"];
    assert_eq!(
        field(apart, "device_id"),
        [
            b.device_id.as_str(),
            b.device_id.as_str(),
            a.device_id.as_str()
        ]
    );
    assert_eq!(
        field(apart, "refusal"),
        ["not_case_officer", "not_case_officer", "officer_mismatch"]
    );
    // The list says the same as the case.
    let (_, listed) = bureau.admin("GET", "/v1/admin/inspections", None);
    assert_eq!(listed["items"][0]["evidence"]["status"], "verified");
    assert_eq!(listed["items"][0]["evidence"]["records"], 1);

    // A joint inspection: once the bureau assigns B's officer, B's records count
    // (the capture's photo is not uploaded yet); the misnamed one never does.
    let b_officer = b.enrollment["officer_id"].clone();
    let joint = ok(assign(&bureau, &x, &b_officer), 200);
    assert_eq!(joint["assigned_officers"], json!([b_officer]));
    assert_eq!(joint["evidence"]["status"], "pending_media");
    assert_eq!(joint["evidence_records"].as_array().unwrap().len(), 3);
    assert_eq!(
        field(&joint["refused_records"], "refusal"),
        ["officer_mismatch"]
    );
    // Assigning twice changes nothing.
    let again = ok(assign(&bureau, &x, &b_officer), 200);
    assert_eq!(again["assigned_officers"], joint["assigned_officers"]);

    // Bad assignments: unknown officer or case, a malformed id, no admin token.
    let unknown = json!(uuid::Uuid::now_v7().to_string());
    assert_eq!(
        refused(assign(&bureau, &x, &unknown)),
        (404, "not_found".into())
    );
    let nowhere = json!({ "id": uuid::Uuid::now_v7().to_string() });
    assert_eq!(
        refused(assign(&bureau, &nowhere, &b_officer)),
        (404, "not_found".into())
    );
    assert_eq!(
        refused(assign(&bureau, &x, &json!("../x"))),
        (400, "invalid_id".into())
    );
    let id = x["id"].as_str().unwrap();
    let anonymous = support::request(
        "POST",
        &format!("{}/v1/admin/inspections/{id}/officers", bureau.url),
        Some(&a.token),
        Some(json!({ "officer_id": b_officer })),
    );
    assert_eq!(anonymous.0, 401, "{}", anonymous.1);
}

fn roles_and_claimed_places_and_officers_are_checked(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    // A reviewer's device keeps its own chain but opens no case.
    let mut reviewer = bureau.officer_device("430121", "reviewer");
    let opened = inspection(&reviewer, "430121101", None);
    assert_eq!(
        outcome(&reviewer, op("inspection.submit", &opened)),
        ("rejected".into(), "forbidden".into())
    );
    let own = record(&mut reviewer, Event::AppStart, &json!({}));
    assert_eq!(outcome(&reviewer, record_op(&own)).0, "applied");

    let staff = bureau.officer_device("430121101", "township_staff");
    let other = bureau.officer_device("430121101", "township_staff");
    // Another officer named as the inspection's.
    let impostor = inspection(&other, "430121101", None);
    assert_eq!(
        outcome(&staff, op("inspection.submit", &impostor)),
        ("rejected".into(), "officer_mismatch".into())
    );
    // A township filed under a county it is not in, and a county code that is no county.
    let mut elsewhere = inspection(&staff, "430121101", None);
    elsewhere["county_code"] = json!("430181");
    assert_eq!(
        outcome(&staff, op("inspection.submit", &elsewhere)),
        ("rejected".into(), "division_mismatch".into())
    );
    let mut short = inspection(&staff, "430121101", None);
    short["county_code"] = json!("4301");
    assert_eq!(
        outcome(&staff, op("inspection.submit", &short)),
        ("rejected".into(), "invalid_request".into())
    );
    // An original is revision 0.
    let mut late = inspection(&staff, "430121101", None);
    late["revision"] = json!(3);
    assert_eq!(
        outcome(&staff, op("inspection.submit", &late)),
        ("rejected".into(), "revision_mismatch".into())
    );
    // None of them was stored; the right one is.
    let (_, listed) = bureau.admin("GET", "/v1/admin/inspections", None);
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    let good = inspection(&staff, "430121101", None);
    assert_eq!(outcome(&staff, op("inspection.submit", &good)).0, "applied");
    let held = case(&bureau, &good);
    assert_eq!(held["jurisdiction"], "430121101");
    assert_eq!(held["officer_id"], staff.enrollment["officer_id"]);
}

fn an_amendment_continues_its_line_from_a_case_officer(backend: Backend) {
    let Some(bureau) = TestBureau::start_backend(backend) else {
        return;
    };
    let staff = bureau.officer_device("430121101", "township_staff");
    let colleague = bureau.officer_device("430121101", "township_staff");
    let x = inspection(&staff, "430121101", None);
    push(&staff, vec![op("inspection.submit", &x)]);

    // Revision 1 amends revision 0; a second revision 1 of the same original is a
    // conflict, and so is a revision-0 amendment.
    let x1 = inspection(&staff, "430121101", Some(&x));
    assert_eq!(x1["revision"], 1);
    let rival = inspection(&staff, "430121101", Some(&x));
    let mut zero = inspection(&staff, "430121101", Some(&x));
    zero["revision"] = json!(0);
    assert_eq!(
        outcome(&staff, op("inspection.amend", &zero)),
        ("rejected".into(), "revision_mismatch".into())
    );
    assert_eq!(outcome(&staff, op("inspection.amend", &x1)).0, "applied");
    assert_eq!(
        outcome(&staff, op("inspection.amend", &rival)),
        ("conflict".into(), "already_amended".into())
    );
    // Skipping a revision is refused too.
    let mut skip = inspection(&staff, "430121101", Some(&x1));
    skip["revision"] = json!(5);
    assert_eq!(
        outcome(&staff, op("inspection.amend", &skip)),
        ("rejected".into(), "revision_mismatch".into())
    );

    // A colleague in the same township may not amend the case, so its review
    // is not blocked...
    let hijack = inspection(&colleague, "430121101", Some(&x1));
    assert_eq!(
        outcome(&colleague, op("inspection.amend", &hijack)),
        ("rejected".into(), "not_case_officer".into())
    );
    assert_eq!(case(&bureau, &x1)["amended_by"], Value::Null);
    // ...until the bureau assigns them to it; the assignment follows the line.
    ok(
        assign(&bureau, &x, &colleague.enrollment["officer_id"]),
        200,
    );
    assert_eq!(
        case(&bureau, &x1)["assigned_officers"],
        json!([colleague.enrollment["officer_id"]])
    );
    let joint = inspection(&colleague, "430121101", Some(&x1));
    assert_eq!(
        outcome(&colleague, op("inspection.amend", &joint)).0,
        "applied"
    );
    let newest = case(&bureau, &joint);
    assert_eq!(
        (newest["revision"].as_u64(), newest["amends_id"].clone()),
        (Some(2), x1["id"].clone())
    );
    let review = bureau.admin(
        "POST",
        &format!(
            "/v1/admin/inspections/{}/review",
            joint["id"].as_str().unwrap()
        ),
        Some(json!({ "decision": "accept" })),
    );
    assert_eq!(review.0, 200, "{}", review.1);
}

//! Push, pull, verified ingest and receipts over real HTTP on loopback, with real
//! device stores (the core's SQLite outbox) and hand-made forgeries.

mod support;

use fieldproof_bureau::custody_log::{
    leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion, Checkpoint,
};
use fieldproof_core::evidence::record::{CheckpointRef, Event};
use fieldproof_core::hex;
use serde_json::{json, Value};
use support::{corpus, record_op, request, FieldDevice, TestBureau};

fn statuses(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

fn reasons(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn photo_bytes() -> Vec<u8> {
    std::fs::read(corpus("photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg")).unwrap()
}

fn hash32(v: &Value) -> [u8; 32] {
    hex::decode32(v.as_str().unwrap()).unwrap()
}

fn checkpoint_of(v: &Value) -> (Checkpoint, Vec<u8>) {
    (
        Checkpoint {
            tree_size: v["tree_size"].as_u64().unwrap(),
            root: hash32(&v["root"]),
            time_ms: v["time_ms"].as_i64().unwrap(),
        },
        hex::decode(v["signature"].as_str().unwrap()).unwrap(),
    )
}

#[test]
fn a_device_outbox_is_applied_exactly_once_with_receipts() {
    let bureau = TestBureau::start();
    let device = FieldDevice::enroll(&bureau, "430121101");
    let inspection = device.submit_inspection("430121101");
    device.capture(photo_bytes(), Some(&inspection));
    let ops = device.outbox();
    let kinds: Vec<_> = ops.iter().map(|op| op["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"inspection.submit") && kinds.contains(&"evidence.record"),
        "{kinds:?}"
    );

    // photo.upload answers photo_not_uploaded until the tus upload is complete; the rest applies.
    let (status, first) = device.push(ops.clone());
    assert_eq!(status, 200, "{first}");
    for (op, result) in ops.iter().zip(first["results"].as_array().unwrap()) {
        assert_eq!(op["op_id"], result["op_id"]);
        let expected = if op["kind"] == "photo.upload" {
            "rejected"
        } else {
            "applied"
        };
        assert_eq!(result["status"], expected, "{result}");
    }

    // Every logged record comes back with a receipt the bureau key proves.
    let bureau_key = hex::decode(
        bureau.admin("GET", "/v1/bureau", None).1["public_key"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let (checkpoint, signature) = checkpoint_of(&first["checkpoint"]);
    assert!(verify_checkpoint(&bureau_key, &checkpoint, &signature));
    let records: Vec<_> = ops
        .iter()
        .filter(|op| op["kind"] == "evidence.record")
        .collect();
    let receipts = first["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), records.len());
    for (op, receipt) in records.iter().zip(receipts) {
        let signed = hex::decode(op["payload"]["signed"].as_str().unwrap()).unwrap();
        let r = &receipt["receipt"];
        let proof: Vec<[u8; 32]> = r["inclusion_proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(hash32)
            .collect();
        assert!(verify_inclusion(
            &leaf_hash(&signed),
            r["leaf_index"].as_u64().unwrap(),
            checkpoint.tree_size,
            &proof,
            &checkpoint.root
        ));
    }

    // The lost-acknowledgement case: the same ops again change nothing.
    let (status, second) = device.push(ops.clone());
    assert_eq!(status, 200);
    assert!(
        statuses(&second).iter().all(|s| s == "duplicate"),
        "{second}"
    );
    for (a, b) in first["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(second["results"].as_array().unwrap())
    {
        assert_eq!(b["original_status"], a["status"]);
        assert_eq!(b["result"], a["result"]);
    }
    assert_eq!(
        second["checkpoint"]["tree_size"], first["checkpoint"]["tree_size"],
        "nothing logged twice"
    );
    let (_, listed) = bureau.admin("GET", "/v1/admin/custody/entries", None);
    assert_eq!(listed.as_array().unwrap().len(), records.len());
}

#[test]
fn tampered_replayed_forked_and_gapped_records_are_stored_flagged() {
    let bureau = TestBureau::start();
    let mut device = bureau.device("430121101");
    let first = device.next_record(Event::AppStart);
    let (_, body) = device.push(vec![record_op(&first)]);
    assert_eq!(statuses(&body), ["applied"]);

    let mut tampered = device.next_record(Event::Note("kept".into()));
    let last = tampered.len() - 1;
    tampered[last] ^= 1; // the signature's last byte
    let replay = first.clone();
    let fork = device.record_at(1, None, Event::Note("another first record".into()));
    let (_, body) = device.push(vec![
        record_op(&tampered),
        record_op(&replay),
        record_op(&fork),
        record_op(b"not cbor"),
    ]);
    assert_eq!(statuses(&body), ["rejected"; 4]);
    assert_eq!(
        reasons(&body),
        ["bad_signature", "replay", "fork", "undecodable"]
    );
    assert!(body["receipts"].as_array().unwrap().is_empty());

    // seq 2 never arrived intact: seq 3 is a gap (flagged, but the chain moves on),
    // seq 4 links to it and is accepted; seq 2 arriving late is out of order.
    device.seq = 1;
    device.prev = Some(fieldproof_core::evidence::record::payload_digest(
        &fieldproof_core::evidence::cose::parse_sign1(&first)
            .unwrap()
            .payload,
    ));
    let seq2 = device.next_record(Event::Note("two".into()));
    let seq3 = device.next_record(Event::Note("three".into()));
    let seq4 = device.next_record(Event::Note("four".into()));
    let (_, body) = device.push(vec![record_op(&seq3), record_op(&seq4), record_op(&seq2)]);
    assert_eq!(statuses(&body), ["rejected", "applied", "rejected"]);
    assert_eq!(reasons(&body), ["gap", "", "out_of_order"]);

    // A record signed by another key, claiming this device's next seq.
    let stranger = bureau.device("430121101");
    let foreign = stranger.record_at(5, device.prev, Event::AppStart);
    let (_, body) = device.push(vec![record_op(&foreign)]);
    assert_eq!(reasons(&body), ["wrong_key"]);

    // Reviewers see every one of them; only the two good records are in the log.
    let (_, entries) = bureau.admin("GET", "/v1/admin/custody/entries", None);
    assert_eq!(entries.as_array().unwrap().len(), 2);
}

#[test]
fn a_seq_the_store_cannot_hold_is_refused_and_the_chain_stays() {
    use fieldproof_core::evidence::{cose, keys::Signer, record::EvidencePayload};
    let bureau = TestBureau::start();
    let mut device = bureau.device("430121101");
    let first = device.next_record(Event::AppStart);
    assert_eq!(
        statuses(&device.push(vec![record_op(&first)]).1),
        ["applied"]
    );

    // A key rotation at seq 2^64 - 1, signed right but encoded by hand: the
    // core refuses to sign it. Judged a gap, it used to hand the chain to the
    // new key from seq 2^64 (wrapping to 0).
    let successor = support::TestKey::generate();
    let payload = EvidencePayload {
        kid: device.key_id(),
        seq: u64::MAX,
        prev: device.prev,
        event: Event::KeyRotation {
            new_public_key: successor.public_key(),
        },
        wall_ms: 1_790_000_000_000,
        monotonic: None,
        app_version: "bureau-test".into(),
        fix: None,
        context: Default::default(),
        checkpoint: None,
    };
    let signed = cose::sign1(&payload.encode(), &device.key_id(), &device.key).unwrap();
    let (status, body) = device.push(vec![record_op(&signed)]);
    assert_eq!(
        (status, reasons(&body)),
        (200, vec!["undecodable".to_owned()])
    );

    // The chain is where it was: the enrolled key signs seq 2 and it is accepted.
    let second = device.next_record(Event::AppStart);
    assert_eq!(
        statuses(&device.push(vec![record_op(&second)]).1),
        ["applied"]
    );
}

#[test]
fn a_device_holding_a_checkpoint_beyond_the_log_raises_a_custody_alarm() {
    // As after a restore from a backup older than what the device holds.
    let bureau = TestBureau::start();
    let mut device = bureau.device("430102001");
    let alarms = || bureau.admin("GET", "/v1/admin/custody/alarms", None).1["alarms"].clone();
    let first = device.next_record(Event::AppStart);
    let (status, _) = device.push(vec![record_op(&first)]);
    assert_eq!(status, 200);
    assert_eq!(
        alarms(),
        json!([]),
        "a checkpoint within the log is no alarm"
    );

    device.holds = Some(CheckpointRef {
        tree_size: 7,
        root: [7; 32],
    });
    let second = device.next_record(Event::AppStart);
    let (status, body) = device.push(vec![record_op(&second)]);
    assert_eq!((status, statuses(&body)), (200, vec!["applied".to_owned()]));
    let alarm = &alarms()[0];
    assert_eq!(
        (
            &alarm["device_id"],
            &alarm["held_size"],
            &alarm["log_size"],
            &alarm["seq"]
        ),
        (&json!(device.device_id), &json!(7), &json!(1), &json!(2))
    );
    // Asking for a proof up to it, with the device's token, is the same alarm;
    // without one it is an anonymous question and no alarm.
    device.holds = None;
    let (status, body) = device.call("GET", "/v1/custody/consistency?old_size=1&new_size=9", None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("tree_size_too_large"))
    );
    let (status, _) = request(
        "GET",
        &format!(
            "{}/v1/custody/consistency?old_size=1&new_size=11",
            bureau.url
        ),
        None,
        None,
    );
    assert_eq!(status, 400);
    let sizes: Vec<u64> = alarms()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["held_size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes.len(), 2);
    assert!(sizes.contains(&9) && !sizes.contains(&11));
    // Only an admin reads them.
    let (status, _) = device.call("GET", "/v1/admin/custody/alarms", None);
    assert_eq!(status, 401);
}

#[test]
fn a_rewritten_log_gets_no_new_checkpoint() {
    let bureau = TestBureau::start();
    let mut device = bureau.device("430121101");
    let first = device.next_record(Event::AppStart);
    assert_eq!(
        statuses(&device.push(vec![record_op(&first)]).1),
        ["applied"]
    );
    let (status, _) = support::request(
        "GET",
        &format!("{}/v1/custody/checkpoint", bureau.url),
        None,
        None,
    );
    assert_eq!(status, 200);

    // Someone with the database changes the logged record's leaf.
    let (data, config) = bureau.stop();
    let db = rusqlite::Connection::open(data.path().join("bureau.sqlite3")).unwrap();
    db.execute(
        "UPDATE custody_log SET leaf_hash = zeroblob(32) WHERE leaf_index = 0",
        [],
    )
    .unwrap();
    drop(db);
    let bureau = TestBureau::start_in(data, config);
    let code = |r: (u16, Value)| (r.0, r.1["error"]["code"].as_str().unwrap_or("").to_owned());
    let url = format!("{}/v1/custody/checkpoint", bureau.url);
    assert_eq!(
        code(support::request("GET", &url, None, None)),
        (500, "log_inconsistent".into()),
        "the signed checkpoint no longer matches the log"
    );
    // A new record is taken, but no checkpoint is signed over the changed log.
    let mut fresh = bureau.device("430121101");
    let record = fresh.next_record(Event::AppStart);
    assert_eq!(
        code(fresh.push(vec![record_op(&record)])),
        (500, "log_inconsistent".into())
    );
}

#[test]
fn bad_pushes_get_stable_codes_and_change_nothing() {
    let bureau = TestBureau::start_with(|c| {
        c.limits.max_ops_per_push = 3;
        c.limits.max_body_bytes = 64 * 1024;
    });
    let device = FieldDevice::enroll(&bureau, "430121101");
    let neighbour = FieldDevice::enroll(&bureau, "430121102");
    let inspection = device.submit_inspection("430121101");
    let ops = device.outbox();
    let url = format!("{}/v1/sync/push", bureau.url);
    let code = |r: (u16, Value)| (r.0, r.1["error"]["code"].as_str().unwrap_or("").to_owned());

    assert_eq!(
        code(device.push(vec![ops[0].clone(); 4])),
        (400, "too_many_ops".into())
    );
    let huge = json!({ "op_id": uuid::Uuid::now_v7().to_string(), "kind": "x", "payload": "a".repeat(70_000) });
    assert_eq!(
        code(device.push(vec![huge])),
        (413, "body_too_large".into())
    );
    let agent = support::http();
    let raw = |content_type: &str, body: &str| {
        let response = agent
            .post(&url)
            .header("Authorization", format!("Bearer {}", device.token))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        let body: Value =
            serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
        (status, body)
    };
    assert_eq!(
        code(raw("application/json", "{\"ops\": [")),
        (400, "malformed_json".into())
    );
    assert_eq!(
        code(raw("text/plain", "{\"ops\": []}")),
        (415, "unsupported_content_type".into())
    );
    assert_eq!(
        code(support::request(
            "POST",
            &url,
            None,
            Some(json!({ "ops": [] }))
        )),
        (401, "unauthenticated".into())
    );

    // Per-op refusals: each op its own reason, the good op applied beside them.
    let mut not_v7 = ops[0].clone();
    not_v7["op_id"] = json!("00000000-0000-4000-8000-000000000000");
    let mut unknown_kind = ops[0].clone();
    unknown_kind["op_id"] = json!(uuid::Uuid::now_v7().to_string());
    unknown_kind["kind"] = json!("inspection.delete");
    let (_, body) = device.push(vec![not_v7, unknown_kind, ops[0].clone()]);
    assert_eq!(statuses(&body), ["rejected", "rejected", "applied"]);
    assert_eq!(reasons(&body), ["invalid_id", "unknown_op_kind", ""]);

    // A NUL in the kind, which no text column can hold, beside a good op.
    let mut nul_kind = ops[0].clone();
    nul_kind["op_id"] = json!(uuid::Uuid::now_v7().to_string());
    nul_kind["kind"] = json!("inspection\u{0}submit");
    device.submit_inspection("430121101");
    let good = device
        .outbox()
        .into_iter()
        .find(|op| ops.iter().all(|old| old["op_id"] != op["op_id"]));
    let (status, body) = device.push(vec![nul_kind.clone(), good.unwrap()]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&body), ["rejected", "applied"]);
    assert_eq!(reasons(&body), ["unknown_op_kind", ""]);
    // The refusal is remembered like any other.
    let (_, body) = device.push(vec![nul_kind]);
    assert_eq!(statuses(&body), ["duplicate"]);

    // The same inspection under a new op_id is a conflict; another device reusing the op_id too.
    let mut again = ops[0].clone();
    again["op_id"] = json!(uuid::Uuid::now_v7().to_string());
    let (_, body) = device.push(vec![again]);
    assert_eq!(
        (statuses(&body), reasons(&body)),
        (
            vec!["conflict".to_owned()],
            vec!["inspection_exists".to_owned()]
        )
    );
    let (_, body) = neighbour.push(vec![ops[0].clone()]);
    assert_eq!(
        (statuses(&body), reasons(&body)),
        (vec!["conflict".to_owned()], vec!["op_id_taken".to_owned()])
    );

    // An inspection outside the device's jurisdiction is refused.
    neighbour.submit_inspection("430121101");
    let foreign: Vec<_> = neighbour
        .outbox()
        .into_iter()
        .filter(|op| op["kind"] == "inspection.submit")
        .collect();
    let (_, body) = neighbour.push(foreign);
    assert_eq!(reasons(&body), ["outside_jurisdiction"]);
    let _ = inspection;
}

#[test]
fn pull_pages_receipts_and_keeps_jurisdictions_apart() {
    let bureau = TestBureau::start();
    let mut a = bureau.device("430121101");
    let b = bureau.device("430121102");
    let records: Vec<_> = (0..3).map(|_| a.next_record(Event::AppStart)).collect();
    a.push(records.iter().map(|r| record_op(r)).collect());

    let mut cursor = String::new();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (status, page) = a.call(
            "GET",
            &format!("/v1/sync/pull?limit=2&cursor={cursor}"),
            None,
        );
        assert_eq!(status, 200, "{page}");
        for change in page["changes"].as_array().unwrap() {
            assert_eq!(change["kind"], "receipt");
            let receipt = &change["body"]["receipt"];
            let checkpoint = &page["checkpoint"];
            assert_eq!(&receipt["checkpoint"], checkpoint);
            seen.push(change["body"]["seq"].as_u64().unwrap());
        }
        assert!(page["next_cursor"].as_str().unwrap() >= cursor.as_str() || cursor.is_empty());
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(seen, [1, 2, 3]);
    let (_, empty) = a.call("GET", &format!("/v1/sync/pull?cursor={cursor}"), None);
    assert!(empty["changes"].as_array().unwrap().is_empty());

    // B sees none of A's receipts; asking for A's jurisdiction is refused.
    let (_, page) = b.call("GET", "/v1/sync/pull", None);
    assert!(page["changes"].as_array().unwrap().is_empty(), "{page}");
    let (status, body) = b.call("GET", "/v1/sync/pull?jurisdiction=430121101", None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("outside_jurisdiction"))
    );
    let (status, body) = b.call("GET", "/v1/sync/pull?cursor=..%2F1", None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
    let (status, _) = b.call("GET", "/v1/sync/pull?since=0", None);
    assert_eq!(status, 400);
}

#[test]
fn checkpoints_only_ever_extend() {
    let bureau = TestBureau::start();
    let mut device = bureau.device("430121101");
    let (_, empty) = bureau.admin("GET", "/v1/custody/checkpoint", None);
    assert_eq!(empty["tree_size"], 0);
    let ops: Vec<_> = (0..5)
        .map(|_| record_op(&device.next_record(Event::AppStart)))
        .collect();
    device.push(ops);
    let (_, old) = bureau.admin("GET", "/v1/custody/checkpoint", None);
    let ops: Vec<_> = (0..6)
        .map(|_| record_op(&device.next_record(Event::AppStart)))
        .collect();
    device.push(ops);
    let (_, new) = bureau.admin("GET", "/v1/custody/checkpoint", None);
    let (old_cp, _) = checkpoint_of(&old);
    let (new_cp, _) = checkpoint_of(&new);
    assert_eq!((old_cp.tree_size, new_cp.tree_size), (5, 11));
    let (status, proof) = bureau.admin(
        "GET",
        "/v1/custody/consistency?old_size=5&new_size=11",
        None,
    );
    assert_eq!(status, 200);
    let proof: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(hash32)
        .collect();
    assert!(verify_consistency(
        5,
        11,
        &old_cp.root,
        &new_cp.root,
        &proof
    ));
    let (status, body) = bureau.admin("GET", "/v1/custody/consistency?old_size=12", None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("tree_sizes_out_of_order"))
    );
    let (status, body) = bureau.admin(
        "GET",
        "/v1/custody/inclusion?leaf_index=11&tree_size=11",
        None,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("leaf_index_out_of_range"))
    );
}

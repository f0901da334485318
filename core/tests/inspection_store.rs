//! The inspection store through its public API, on real SQLite files.

mod support;

use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::checklist::{Answer, AnswerValue};
use fieldproof_core::model::inspection::{DraftFields, InspectionFilter, ResponsibleParty, Status};
use fieldproof_core::store::{OpenOptions, Store};
use std::path::{Path, PathBuf};

const START: i64 = 1_790_000_000_000;

fn fields() -> DraftFields {
    DraftFields {
        township_code: "430121101".into(),
        county_code: None,
        site: GeoPoint {
            lat: 28.2282,
            lon: 112.9388,
            datum: Datum::Gcj02,
        },
        address: "长沙县黄花镇某村东侧稻田".into(),
        task_id: None,
        officer_id: "officer-17".into(),
        started_at_ms: START,
        ended_at_ms: None,
        findings: String::new(),
        responsible_party: None,
    }
}

fn yes(item: &str) -> Answer {
    Answer {
        item_id: item.into(),
        value: AnswerValue::YesNo(true),
    }
}

/// Every required item of the straw-burning checklist, validly answered.
fn complete_answers() -> Vec<Answer> {
    let mut answers: Vec<Answer> = [
        "fire_on_arrival",
        "extinguished",
        "responsible_party_identified",
        "warning_issued",
    ]
    .into_iter()
    .map(yes)
    .collect();
    answers.push(Answer {
        item_id: "burned_area_mu".into(),
        value: AnswerValue::Number(2.5),
    });
    answers.push(Answer {
        item_id: "material".into(),
        value: AnswerValue::Choice("rice_straw".into()),
    });
    answers
}

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    (dir, store)
}

fn all_ids(store: &Store) -> Vec<String> {
    let page = store
        .list_inspections(&InspectionFilter::default(), 500, None)
        .unwrap();
    page.items.into_iter().map(|s| s.id).collect()
}

#[test]
fn draft_to_submitted_writes_one_outbox_op() {
    let (_dir, store) = temp_store();
    let draft = store
        .create_draft("straw_burning", fields(), &[yes("fire_on_arrival")])
        .unwrap();
    assert_eq!(draft.status, Status::Draft);
    assert_eq!(draft.county_code, "430121");
    assert_eq!(draft.site.reported_datum, Datum::Gcj02);
    assert!(
        (draft.site.lat - 28.2282).abs() > 0.001,
        "site is stored in WGS-84, not GCJ-02"
    );
    assert_eq!(draft.answers, vec![yes("fire_on_arrival")]);
    assert!(
        store.pending_outbox(10).unwrap().is_empty(),
        "drafts stay on the device"
    );

    let mut answers = complete_answers();
    answers.reverse();
    let answered = store.set_answers(&draft.id, &answers).unwrap();
    let order: Vec<&str> = answered
        .answers
        .iter()
        .map(|a| a.item_id.as_str())
        .collect();
    assert_eq!(
        order[0], "fire_on_arrival",
        "answers come back in checklist order"
    );
    assert_eq!(order.len(), 6);

    let submitted = store.submit(&draft.id).unwrap();
    assert_eq!(submitted.status, Status::Submitted);
    assert!(submitted.ended_at_ms.unwrap() >= START);
    assert!(submitted.submitted_at_ms.is_some());
    let ops = store.pending_outbox(10).unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].kind, "inspection.submit");
    assert_eq!(ops[0].entity_id, draft.id);
    let payload: serde_json::Value = serde_json::from_str(&ops[0].payload).unwrap();
    assert_eq!(payload["status"], "submitted");
    assert_eq!(payload["answers"].as_array().unwrap().len(), 6);
}

#[test]
fn submitted_inspections_are_frozen() {
    let (_dir, store) = temp_store();
    let id = store
        .create_draft("straw_burning", fields(), &complete_answers())
        .unwrap()
        .id;
    let submitted = store.submit(&id).unwrap();
    let code = |r: Result<_, fieldproof_core::Error>| {
        r.map(|_: fieldproof_core::model::inspection::Inspection| ())
            .unwrap_err()
            .code()
    };
    assert_eq!(code(store.submit(&id)), "not_draft");
    assert_eq!(code(store.update_draft(&id, fields())), "not_draft");
    assert_eq!(
        code(store.set_answers(&id, &[yes("smoke_visible")])),
        "not_draft"
    );
    assert_eq!(
        code(store.clear_answer(&id, "fire_on_arrival")),
        "not_draft"
    );
    assert_eq!(
        store.get_inspection(&id).unwrap(),
        submitted,
        "nothing changed"
    );
    assert_eq!(
        store.pending_outbox(10).unwrap().len(),
        1,
        "no second outbox op"
    );
}

#[test]
fn submit_names_every_missing_required_item_and_changes_nothing() {
    let (_dir, store) = temp_store();
    let draft = store
        .create_draft("straw_burning", fields(), &[yes("fire_on_arrival")])
        .unwrap();
    let err = store.submit(&draft.id).unwrap_err();
    assert_eq!(err.code(), "required_item_missing");
    let message = err.to_string();
    for item in [
        "burned_area_mu",
        "material",
        "extinguished",
        "warning_issued",
    ] {
        assert!(message.contains(item), "{message} names {item}");
    }
    assert_eq!(store.get_inspection(&draft.id).unwrap(), draft);
    assert!(store.pending_outbox(10).unwrap().is_empty());
}

#[test]
fn amendments_link_to_the_original_which_never_changes() {
    let (_dir, store) = temp_store();
    let id = store
        .create_draft("straw_burning", fields(), &complete_answers())
        .unwrap()
        .id;
    assert_eq!(store.amend(&id).unwrap_err().code(), "not_submitted");
    let original = store.submit(&id).unwrap();

    let amendment = store.amend(&id).unwrap();
    assert_eq!(amendment.amends_id.as_deref(), Some(id.as_str()));
    assert_eq!(amendment.revision, 1);
    assert_eq!(amendment.status, Status::Draft);
    assert_eq!(amendment.answers, original.answers);
    assert_eq!(
        amendment.site, original.site,
        "copying the site keeps its datum and position"
    );
    assert_eq!(store.amend(&id).unwrap_err().code(), "amendment_pending");

    let mut changed = fields();
    changed.findings = "复查发现过火面积更大".into();
    store.update_draft(&amendment.id, changed).unwrap();
    store
        .set_answers(
            &amendment.id,
            &[Answer {
                item_id: "burned_area_mu".into(),
                value: AnswerValue::Number(8.0),
            }],
        )
        .unwrap();
    store.submit(&amendment.id).unwrap();
    assert_eq!(
        store.get_inspection(&id).unwrap(),
        original,
        "the original is untouched"
    );
    assert_eq!(store.amend(&id).unwrap_err().code(), "superseded");
    assert_eq!(store.amend(&amendment.id).unwrap().revision, 2);

    let kinds: Vec<String> = store
        .pending_outbox(10)
        .unwrap()
        .into_iter()
        .map(|op| op.kind)
        .collect();
    assert_eq!(kinds, ["inspection.submit", "inspection.amend"]);
}

#[test]
fn bad_answers_and_fields_are_refused_without_change() {
    let (_dir, store) = temp_store();
    let draft = store
        .create_draft("straw_burning", fields(), &[yes("fire_on_arrival")])
        .unwrap();
    let bad = [
        (
            Answer {
                item_id: "nope".into(),
                value: AnswerValue::YesNo(true),
            },
            "unknown_checklist_item",
        ),
        (
            Answer {
                item_id: "fire_on_arrival".into(),
                value: AnswerValue::Text("yes".into()),
            },
            "wrong_answer_type",
        ),
        (
            Answer {
                item_id: "burned_area_mu".into(),
                value: AnswerValue::Number(1e9),
            },
            "number_out_of_range",
        ),
        (
            Answer {
                item_id: "remarks".into(),
                value: AnswerValue::Text("x".repeat(501)),
            },
            "text_too_long",
        ),
        (
            Answer {
                item_id: "material".into(),
                value: AnswerValue::Choice("coal".into()),
            },
            "invalid_choice",
        ),
    ];
    for (answer, code) in bad {
        // A valid answer in the same batch must not be stored either.
        let batch = [yes("smoke_visible"), answer];
        assert_eq!(
            store.set_answers(&draft.id, &batch).unwrap_err().code(),
            code
        );
        assert_eq!(
            store
                .create_draft("straw_burning", fields(), &batch)
                .unwrap_err()
                .code(),
            code
        );
    }
    let mut f = fields();
    f.site.lon = f64::INFINITY;
    assert_eq!(
        store.update_draft(&draft.id, f).unwrap_err().code(),
        "invalid_coordinate"
    );
    let mut f = fields();
    f.ended_at_ms = Some(START - 60_000);
    assert_eq!(
        store.update_draft(&draft.id, f).unwrap_err().code(),
        "invalid_time_range"
    );
    assert_eq!(
        store
            .create_draft("fishing", fields(), &[])
            .unwrap_err()
            .code(),
        "unknown_matter"
    );
    assert_eq!(store.get_inspection(&draft.id).unwrap(), draft);
    assert_eq!(
        all_ids(&store),
        std::slice::from_ref(&draft.id),
        "no half-made drafts"
    );
}

#[test]
fn unknown_and_malformed_ids() {
    let (_dir, store) = temp_store();
    let unknown = "0190f5c2-0000-7000-8000-00000000abcd";
    assert_eq!(
        store.get_inspection(unknown).unwrap_err().code(),
        "not_found"
    );
    assert_eq!(store.submit(unknown).unwrap_err().code(), "not_found");
    assert_eq!(store.amend(unknown).unwrap_err().code(), "not_found");
    assert_eq!(
        store
            .get_inspection("12; DROP TABLE inspections")
            .unwrap_err()
            .code(),
        "invalid_id"
    );
}

#[test]
fn responsible_party_round_trips_but_never_reaches_errors() {
    let (_dir, store) = temp_store();
    let mut f = fields();
    f.responsible_party = Some(ResponsibleParty {
        name: "李四".into(),
        phone: Some("13912345678".into()),
        id_number: Some("430121199001011234".into()),
    });
    let draft = store.create_draft("straw_burning", f.clone(), &[]).unwrap();
    assert_eq!(draft.responsible_party, f.responsible_party);
    let mut f2 = f.clone();
    f2.responsible_party.as_mut().unwrap().phone = Some("1".repeat(40));
    let err = store.update_draft(&draft.id, f2).unwrap_err();
    assert_eq!(err.code(), "text_too_long");
    assert!(!format!("{err} {err:?}").contains("李四"));
    let summary = &store
        .list_inspections(&InspectionFilter::default(), 10, None)
        .unwrap()
        .items[0];
    assert!(
        !format!("{summary:?}").contains("1391234"),
        "list rows carry no personal data"
    );
}

#[test]
fn list_filters_and_keyset_pages() {
    let (_dir, store) = temp_store();
    let mut ids = Vec::new();
    for i in 0..25i64 {
        let mut f = fields();
        f.started_at_ms = START + i * 60_000;
        f.task_id = (i % 5 == 0).then(|| "task-9".to_string());
        f.address = format!("第{i}组 100%_田");
        let matter = if i % 2 == 0 {
            "straw_burning"
        } else {
            "waste_burning"
        };
        ids.push(store.create_draft(matter, f, &[]).unwrap().id);
    }
    store.set_answers(&ids[3], &[]).unwrap();

    // Pages of 10, newest first, no gaps or repeats, stable while new rows arrive.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_inspections(&InspectionFilter::default(), 10, cursor.as_deref())
            .unwrap();
        seen.extend(page.items.iter().map(|s| s.id.clone()));
        if seen.len() == 10 {
            let mut f = fields();
            f.started_at_ms = START + 999 * 60_000;
            store.create_draft("straw_burning", f, &[]).unwrap();
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected);

    let count = |filter: InspectionFilter| {
        store
            .list_inspections(&filter, 500, None)
            .unwrap()
            .items
            .len()
    };
    assert_eq!(
        count(InspectionFilter {
            matter: Some("waste_burning".into()),
            ..Default::default()
        }),
        12
    );
    assert_eq!(
        count(InspectionFilter {
            task_id: Some("task-9".into()),
            ..Default::default()
        }),
        5
    );
    assert_eq!(
        count(InspectionFilter {
            started_from_ms: Some(START + 10 * 60_000),
            started_before_ms: Some(START + 20 * 60_000),
            ..Default::default()
        }),
        10
    );
    assert_eq!(
        count(InspectionFilter {
            text: Some("第7组".into()),
            ..Default::default()
        }),
        1
    );
    // LIKE wildcards in the search text are taken literally.
    assert_eq!(
        count(InspectionFilter {
            text: Some("0%_田".into()),
            ..Default::default()
        }),
        25
    );
    assert_eq!(
        count(InspectionFilter {
            text: Some("%".into()),
            ..Default::default()
        }),
        25
    );
    assert_eq!(
        count(InspectionFilter {
            text: Some("_组".into()),
            ..Default::default()
        }),
        0
    );
    assert_eq!(
        count(InspectionFilter {
            status: Some(Status::Submitted),
            ..Default::default()
        }),
        0
    );

    let bad = store
        .list_inspections(&InspectionFilter::default(), 10, Some("garbage"))
        .unwrap_err();
    assert_eq!(bad.code(), "invalid_cursor");
    assert_eq!(
        store
            .list_inspections(&InspectionFilter::default(), 0, None)
            .unwrap_err()
            .code(),
        "invalid_field"
    );
}

#[test]
fn reference_data_is_versioned() {
    let (_dir, store) = temp_store();
    let matters: Vec<String> = store
        .list_matters()
        .unwrap()
        .into_iter()
        .map(|m| m.code)
        .collect();
    assert_eq!(matters, ["straw_burning", "waste_burning"]);
    let v1 = store.checklist_for_matter("straw_burning").unwrap();
    let draft = store.create_draft("straw_burning", fields(), &[]).unwrap();

    let mut v2 = v1.clone();
    v2.version = v1.version + 1;
    v2.items.retain(|i| i.id != "smoke_visible");
    store.put_checklist_template(&v2).unwrap();
    store.put_checklist_template(&v2).unwrap(); // resending the same version is harmless
    let mut changed = v2.clone();
    changed.title = "改过的".into();
    assert_eq!(
        store.put_checklist_template(&changed).unwrap_err().code(),
        "invalid_template"
    );
    assert_eq!(
        store.checklist_for_matter("straw_burning").unwrap().version,
        v2.version
    );

    // The old draft keeps its version and the items in it.
    store
        .set_answers(&draft.id, &[yes("smoke_visible")])
        .unwrap();
    let new = store.create_draft("straw_burning", fields(), &[]).unwrap();
    assert_eq!(new.checklist_version, v2.version);
    assert_eq!(
        store
            .set_answers(&new.id, &[yes("smoke_visible")])
            .unwrap_err()
            .code(),
        "unknown_checklist_item"
    );
}

fn copy_of(path: &Path, name: &str) -> PathBuf {
    let copy = path.with_file_name(name);
    std::fs::copy(path, &copy).unwrap();
    copy
}

/// A closed database with a few inspections, checkpointed into the main file.
fn populated_database(dir: &Path) -> PathBuf {
    let path = dir.join("device.db");
    let store = Store::open(&path).unwrap();
    for _ in 0..40 {
        let mut f = fields();
        f.findings = "现场有明火，已扑灭。".repeat(40);
        store
            .create_draft("straw_burning", f, &complete_answers())
            .unwrap();
    }
    drop(store);
    assert!(
        !path.with_file_name("device.db-wal").exists(),
        "closing checkpoints the WAL"
    );
    path
}

#[test]
fn files_that_are_not_databases_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = dir.path().join("photo.jpg");
    std::fs::write(&jpeg, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 not a database, a photo............................................................................").unwrap();
    let before = std::fs::read(&jpeg).unwrap();
    assert_eq!(Store::open(&jpeg).err().unwrap().code(), "not_a_database");
    assert_eq!(std::fs::read(&jpeg).unwrap(), before);

    let good = populated_database(dir.path());
    let len = std::fs::metadata(&good).unwrap().len();
    let truncated = copy_of(&good, "truncated.db");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_eq!(
        Store::open(&truncated).err().unwrap().code(),
        "database_corrupt"
    );

    // Damage in the middle of the file passes the header checks; it must surface as
    // `database_corrupt` when read, never as wrong data or a panic.
    let corrupt = copy_of(&good, "corrupt.db");
    let mut bytes = std::fs::read(&corrupt).unwrap();
    for b in &mut bytes[4096..(len as usize)] {
        *b = 0xA5;
    }
    std::fs::write(&corrupt, &bytes).unwrap();
    let outcome = Store::open(&corrupt)
        .and_then(|s| s.list_inspections(&InspectionFilter::default(), 50, None));
    assert_eq!(
        outcome.expect_err("corruption is reported").code(),
        "database_corrupt"
    );
}

#[test]
fn full_database_fails_cleanly_and_keeps_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.db");
    let store = Store::open_with(
        &path,
        &OpenOptions {
            // A fresh database (schema v5, with the sync tables) takes 160 KiB.
            max_size_bytes: Some(200 * 1024),
        },
    )
    .unwrap();
    let mut stored = Vec::new();
    let err = loop {
        let mut f = fields();
        f.findings = "焚烧".repeat(1_000);
        match store.create_draft("straw_burning", f, &complete_answers()) {
            Ok(inspection) => stored.push(inspection),
            Err(err) => break err,
        }
        assert!(stored.len() < 1_000, "the size cap never took effect");
    };
    assert_eq!(err.code(), "storage_full");
    assert!(!stored.is_empty());
    let mut ids = all_ids(&store);
    ids.sort();
    let mut expected: Vec<String> = stored.iter().map(|i| i.id.clone()).collect();
    expected.sort();
    assert_eq!(ids, expected, "the failed write left nothing behind");
    assert_eq!(store.get_inspection(&stored[0].id).unwrap(), stored[0]);
    // Lifting the cap, the same file takes the write that did not fit.
    drop(store);
    let store = Store::open(&path).unwrap();
    store.submit(&stored[0].id).unwrap();
    assert_eq!(all_ids(&store).len(), stored.len());
}

#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let id = {
        let store = Store::open(&path).unwrap();
        let id = store
            .create_draft("waste_burning", fields(), &[])
            .unwrap()
            .id;
        store.set_answers(&id, &[yes("fire_on_arrival")]).unwrap();
        id
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.get_inspection(&id).unwrap().answers,
        [yes("fire_on_arrival")]
    );
}

#[test]
fn site_is_placed_in_its_jurisdiction_once_boundaries_are_loaded() {
    let (_dir, store) = temp_store();
    let before = store.create_draft("straw_burning", fields(), &[]).unwrap();
    assert_eq!(before.site_jurisdiction, None, "no boundaries loaded yet");

    let changsha =
        std::fs::read(support::corpus_dir("boundaries").join("counties_by_city/430100.json"))
            .unwrap();
    assert_eq!(store.load_boundaries(&changsha, Datum::Gcj02).unwrap(), 9);
    // fields() is in Changsha county (430121), reported in GCJ-02.
    let inside = store.create_draft("straw_burning", fields(), &[]).unwrap();
    let placed = inside
        .site_jurisdiction
        .clone()
        .expect("placed once boundaries exist");
    assert_eq!(
        placed.code, "430121",
        "the township has no polygon, so its county is used"
    );
    // The site is in Changsha city proper, outside Changsha county.
    assert!(!placed.inside);
    assert!(placed.boundary_distance_m > 0.0);

    let mut moved = fields();
    moved.site = GeoPoint {
        lat: 28.2935,
        lon: 113.0790,
        datum: Datum::Gcj02,
    }; // Changsha county seat
    let updated = store.update_draft(&inside.id, moved).unwrap();
    assert!(updated.site_jurisdiction.unwrap().inside);
    assert_eq!(
        store
            .load_boundaries(b"{}", Datum::Gcj02)
            .unwrap_err()
            .code(),
        "invalid_geojson"
    );
}

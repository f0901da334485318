//! The sync store's tests: real database files.

use super::{LeaseTake, UploadJob};
use crate::evidence::record::Event;
use crate::model::checklist::defaults::template_for;
use crate::model::inspection::Review;
use crate::model::photo::{CaptureContext, CaptureSource, Photo};
use crate::model::sync::OpState;
use crate::model::sync::UploadState;
use crate::store::outbox::OpAnswer;
use crate::store::{outbox, Store};
use crate::store::{FeedItem, PhotoSource};
use crate::time::now_ms;
use crate::wire::ops::OpKind;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    (dir, store)
}

fn context() -> CaptureContext {
    CaptureContext {
        source: CaptureSource::Camera,
        inspection_id: None,
        task_id: None,
        officer_id: None,
        monotonic_ms: None,
        boot_id: None,
        app_version: "test".into(),
    }
}

fn capture(store: &Store, shade: u8) -> Photo {
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80)
        .encode(&[shade; 16 * 16 * 3], 16, 16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    store
        .capture_photo(PhotoSource::Bytes(jpeg), None, context())
        .unwrap()
}

fn note(store: &Store, text: &str) -> u64 {
    store
        .record_event(Event::Note(text.into()), context())
        .unwrap()
}

/// The ready ops as `kind:entity`.
fn ready(store: &Store) -> Vec<String> {
    let ops = store.ready_ops(100).unwrap();
    ops.iter()
        .map(|o| format!("{}:{}", o.kind, o.entity_id))
        .collect()
}

fn original(store: &Store, photo: &Photo) -> UploadJob {
    let jobs = store.pending_originals().unwrap();
    jobs.into_iter().find(|j| j.photo_id == photo.id).unwrap()
}

#[test]
fn records_wait_in_chain_order_for_their_photos() {
    let (_dir, store) = store();
    note(&store, "before");
    let first = capture(&store, 10);
    note(&store, "between");
    let second = capture(&store, 200);
    note(&store, "after");
    assert_eq!((first.record_seq, second.record_seq), (2, 4));
    let record = |seq: u64| format!("evidence.record:{seq}");
    let upload = |p: &Photo| format!("photo.upload:{}", p.id);

    // Only what waits for no photo: the chain stops at the first capture.
    assert_eq!(ready(&store), [record(1)]);
    assert_eq!(store.work_left().unwrap(), (7, 2));

    // The first photo is held by the bureau: its record and the chain up to
    // the second capture may go, and its photo.upload op.
    let mut job = original(&store, &first);
    job.confirmed = job.size;
    store.finish_upload(&job, None).unwrap();
    assert_eq!(
        ready(&store),
        [record(1), record(2), upload(&first), record(3)]
    );

    // The bureau refuses the second for good: the chain goes on without it, and
    // its photo.upload op is refused with the bureau's reason.
    store
        .finish_upload(&original(&store, &second), Some("upload_too_large"))
        .unwrap();
    let expected = [
        record(1),
        record(2),
        upload(&first),
        record(3),
        record(4),
        record(5),
    ];
    assert_eq!(ready(&store), expected);
    let refused = store.photo_sync(&second.id).unwrap();
    assert_eq!(refused.upload, UploadState::Failed);
    let op = refused.photo_op.unwrap();
    assert_eq!(
        (op.state, op.reason.as_deref()),
        (OpState::Rejected, Some("upload_too_large"))
    );
    assert_eq!(store.work_left().unwrap(), (6, 0));
}

#[test]
fn the_bureaus_answers_are_final() {
    let (_dir, store) = store();
    note(&store, "one");
    let op = store.ready_ops(1).unwrap().remove(0);
    store
        .save_push_attempt(std::slice::from_ref(&op.op_id), "offline")
        .unwrap();
    let answer = |state| OpAnswer {
        op_id: op.op_id.clone(),
        state,
        reason: Some("replay".into()),
        result: None,
    };
    store
        .save_push(&[answer(OpState::Rejected)], &[], None, &[])
        .unwrap();
    store
        .save_push(&[answer(OpState::Applied)], &[], None, &[])
        .unwrap();
    let status = store
        .read(|c| outbox::status_of(c, "1", &[OpKind::EvidenceRecord]))
        .unwrap();
    let status = status.unwrap();
    assert_eq!((status.state, status.attempts), (OpState::Rejected, 1));
    assert_eq!(status.last_error.as_deref(), Some("offline"));
    assert!(store.ready_ops(10).unwrap().is_empty(), "never sent again");
}

#[test]
fn one_lease_at_a_time_until_released_or_expired() {
    let (dir, store) = store();
    let other = Store::open(dir.path().join("device.db")).unwrap();
    let now = now_ms();
    assert!(matches!(
        store.take_lease("a", now + 60_000).unwrap(),
        LeaseTake::Taken
    ));
    match other.take_lease("b", now + 60_000).unwrap() {
        LeaseTake::Busy { until_ms } => assert_eq!(until_ms, now + 60_000),
        LeaseTake::Taken => panic!("two holders"),
    }
    assert!(store.holds_lease("a").unwrap() && !other.holds_lease("b").unwrap());
    other.release_lease("b").unwrap();
    assert!(store.holds_lease("a").unwrap(), "only the holder releases");
    store.release_lease("a").unwrap();
    assert!(matches!(
        other.take_lease("b", now - 1).unwrap(),
        LeaseTake::Taken
    ));
    assert!(!other.holds_lease("b").unwrap(), "expired");
    assert!(matches!(
        store.take_lease("a", now + 60_000).unwrap(),
        LeaseTake::Taken
    ));
}

#[test]
fn a_pull_page_skips_what_it_cannot_use_and_moves_the_cursor() {
    let (_dir, store) = store();
    let mut changed = template_for("straw_burning").unwrap();
    changed.title = "another title under a published version".into();
    let items = [
        FeedItem::Unknown,
        FeedItem::Checklist {
            template: changed,
            matter: None,
        },
        FeedItem::Review(Review {
            inspection_id: crate::model::id::new_id(),
            decision: crate::model::inspection::Status::Accepted,
            comment: None,
            reviewed_ms: 1,
        }),
        FeedItem::Boundary {
            geojson: "{\"type\":\"FeatureCollection\",\"features\":[]}".into(),
            datum: crate::geo::datum::Datum::Wgs84,
        },
    ];
    let page = store.apply_pull_page(&items, "c9", None, &[]).unwrap();
    assert_eq!((page.applied, page.skipped), (0, 4));
    assert_eq!(
        store.sync_state().unwrap().pull_cursor.as_deref(),
        Some("c9")
    );
    let version = store.checklist_for_matter("straw_burning").unwrap();
    assert_eq!(version.title, template_for("straw_burning").unwrap().title);
}

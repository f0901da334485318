//! A device holds the bureau's custody log to what it saw before: each newer
//! checkpoint comes with a consistency proof the device checks, and a log
//! rewritten behind its back (by someone holding the bureau's database and key)
//! is caught as `log_inconsistent`, loudly and every time, while the device
//! keeps the checkpoint it held and loses nothing.

use fieldproof_core::sync::{ErrorClass, SyncReport};
use fieldproof_e2e::{sync_until_done, Device, TestBureau, Wire};
use std::time::{Duration, Instant};

fn note(device: &Device, text: &str) -> u64 {
    device.note(None, text)
}

fn sync(engine: &fieldproof_core::sync::SyncEngine) -> SyncReport {
    engine
        .sync_once(Instant::now() + Duration::from_secs(30))
        .unwrap()
}

/// Rewrites the first logged record's leaf in the bureau's database and drops
/// its signed checkpoints, as an insider covering a change would, then starts
/// the bureau again: it signs the rewritten tree afresh.
fn rewrite_history(bureau: &mut TestBureau) {
    bureau.crash();
    let db = rusqlite::Connection::open(bureau.data.path().join("bureau.sqlite3")).unwrap();
    db.execute_batch(
        "UPDATE custody_log SET leaf_hash = zeroblob(32) WHERE leaf_index = 0;
         DELETE FROM checkpoints;",
    )
    .unwrap();
    drop(db);
    bureau.start_again();
}

#[test]
fn checkpoints_move_only_along_one_log() {
    let mut bureau = TestBureau::start();
    let device = Device::new();
    device.enroll(&bureau);
    let wire = Wire::new();
    let engine = device.engine(wire.clone());

    // Two rounds of honest work: the second checkpoint is proven to extend the first.
    note(&device, "第一次巡查");
    sync_until_done(&engine, 5);
    let first = device.store.latest_checkpoint().unwrap().unwrap();
    note(&device, "第二次巡查");
    note(&device, "第三次巡查");
    wire.clear();
    sync_until_done(&engine, 5);
    let second = device.store.latest_checkpoint().unwrap().unwrap();
    assert_eq!((first.tree_size, second.tree_size), (1, 3));
    let asked: Vec<String> = wire
        .exchanges()
        .iter()
        .filter(|e| e.path.starts_with("/v1/custody/consistency"))
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(asked, ["/v1/custody/consistency?old_size=1&new_size=3"]);

    // History rewritten: the bureau now shows a tree of the same size with
    // another root. The device keeps its checkpoint and says so.
    rewrite_history(&mut bureau);
    let report = sync(&engine);
    let error = report.last_error.expect("the sync reports the rewrite");
    assert_eq!(
        (error.code.as_str(), error.class),
        ("log_inconsistent", ErrorClass::Custody)
    );
    assert!(error.message.contains("3 records"), "{}", error.message);
    assert_eq!(device.store.latest_checkpoint().unwrap().unwrap(), second);

    // New evidence still reaches the bureau (the op is answered and kept), but
    // the newer checkpoint cannot be proven to extend the held one: refused again.
    let seq = note(&device, "改写之后");
    let report = sync(&engine);
    assert_eq!(
        report.last_error.map(|e| e.code),
        Some("log_inconsistent".into())
    );
    assert_eq!(device.store.latest_checkpoint().unwrap().unwrap(), second);
    let pending = device.store.pending_outbox(100).unwrap();
    assert!(
        pending.iter().all(|op| op.entity_id != seq.to_string()),
        "the op was answered: {pending:?}"
    );
    let (_, entries) = bureau.admin("GET", "/v1/admin/custody/entries?limit=100", None);
    assert_eq!(entries.as_array().unwrap().len(), 4, "the bureau logged it");
    assert!(
        device.store.receipt(seq).unwrap().is_none(),
        "no receipt from a log the device cannot hold against its own"
    );
    // The bureau itself refuses to sign over a log that no longer holds what it
    // signed: here it signed the rewritten tree only because its checkpoints were
    // deleted too.
    let next = sync(&engine);
    assert_eq!(
        next.last_error.map(|e| e.code),
        Some("log_inconsistent".into()),
        "every call says it, until the bureau's log agrees again"
    );
}

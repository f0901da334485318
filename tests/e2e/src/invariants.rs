//! What must hold between a device and the bureau whatever went wrong on the way —
//! cut connections, lost answers, a slow link, a restarted bureau, a killed app —
//! once the faults stop and sync settles:
//!
//! - every outbox op was answered, `applied` or refused (`conflict`, `rejected`)
//!   with a reason, and the device holds the answer the bureau recorded (a
//!   `photo.upload` op whose photo the bureau refused for good is refused on the
//!   device with the upload's reason, and never sent);
//! - none is lost: the bureau recorded every op the device holds an answer for, and
//!   holds the effect of every applied one (the inspection, the logged record, the
//!   photo);
//! - none is applied twice: the bureau holds each op, inspection and evidence
//!   record once, and logs each record once;
//! - every photo the bureau holds is byte-identical to the device's (originals and
//!   previews), and nothing half-sent was taken for a photo.
//!
//! The device's database and the bureau's (SQLite or PostgreSQL) and photo store
//! (its folder or S3) are read directly, so the check does not depend on either
//! side's API telling the truth.
//!
//! Bytes re-sent after a cut are checked from a [`crate::Wire`] log by
//! [`assert_resent_at_most_in_flight`].

use crate::Exchange;
use fieldproof_bureau::params;
use fieldproof_bureau::storage::{Database, PhotoStore, Row};
use fieldproof_core::evidence::sha256;
use fieldproof_core::hex;
use fieldproof_core::store::Store;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What the check saw, for the test to report or check further.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub ops: usize,
    pub applied: usize,
    /// Answered `conflict` or `rejected`, each with a reason.
    pub refused: usize,
    /// Still waiting (only when the device cannot settle, e.g. revoked).
    pub pending: usize,
    /// Originals the bureau holds, byte-identical.
    pub photos: usize,
    /// Previews the bureau holds, byte-identical.
    pub previews: usize,
    /// Evidence records in the custody log.
    pub logged: usize,
}

/// The bureau's storage as the checks read it.
pub struct BureauView {
    pub db: Database,
    pub photos: PhotoStore,
}

/// A bureau the checks can look into: one in process, or several processes.
pub trait BureauUnderTest {
    fn view(&self) -> BureauView;
}

/// Every invariant, with every op answered: sync has settled.
pub fn assert_settled(device_db: &Path, bureau: &impl BureauUnderTest) -> Tally {
    check(device_db, &bureau.view(), true)
}

/// Every invariant, but ops may still wait (a device that cannot go on, e.g.
/// revoked): nothing is lost, nothing is applied twice, nothing is corrupt.
pub fn assert_consistent(device_db: &Path, bureau: &impl BureauUnderTest) -> Tally {
    check(device_db, &bureau.view(), false)
}

/// The rows of `sql` at the bureau.
fn query(server: &BureauView, sql: &str, params: &[fieldproof_bureau::storage::Value]) -> Vec<Row> {
    server
        .db
        .read(|tx| tx.query(sql, params))
        .unwrap_or_else(|e| panic!("the bureau's database answers {sql}: {e}"))
}

struct DeviceOp {
    op_id: String,
    kind: String,
    entity_id: String,
    payload: String,
    state: String,
    reason: Option<String>,
}

fn check(device_db: &Path, server: &BureauView, settled: bool) -> Tally {
    let store = Store::open(device_db).expect("the device database opens");
    let device = Connection::open_with_flags(device_db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("the device database opens read-only");
    let device_id = store
        .enrollment()
        .unwrap()
        .expect("the device is enrolled")
        .device_id;
    let mut tally = Tally::default();

    // --- Ops: every one answered once, the same on both sides. ---
    let ops: Vec<DeviceOp> = device
        .prepare("SELECT op_id, kind, entity_id, payload, state, reason FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |row| {
            Ok(DeviceOp {
                op_id: row.get(0)?,
                kind: row.get(1)?,
                entity_id: row.get(2)?,
                payload: row.get(3)?,
                state: row.get(4)?,
                reason: row.get(5)?,
            })
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let answers: BTreeMap<String, Value> = query(
        server,
        "SELECT op_id, result FROM applied_ops WHERE device_id = $1",
        params![&device_id],
    )
    .iter()
    .map(|row| {
        let result = row.text(1).unwrap();
        (row.text(0).unwrap(), serde_json::from_str(&result).unwrap())
    })
    .collect();
    tally.ops = ops.len();
    let held: BTreeSet<&String> = ops.iter().map(|op| &op.op_id).collect();
    assert_eq!(held.len(), ops.len(), "an op id twice in the outbox");
    for op_id in answers.keys() {
        assert!(
            held.contains(op_id),
            "the bureau applied op {op_id}, unknown to the device"
        );
    }
    for op in &ops {
        let answer = answers.get(&op.op_id);
        if op.state == "pending" {
            assert!(
                !settled,
                "op {} ({}) still pending after sync settled",
                op.op_id, op.kind
            );
            tally.pending += 1;
            continue;
        }
        let Some(answer) = answer else {
            // A photo the bureau refused for good (or the device lost) refuses its
            // photo.upload op on the device, without sending it.
            assert!(
                op.kind == "photo.upload"
                    && op.state == "rejected"
                    && upload_refusal(&device, &op.entity_id) == op.reason,
                "op {} ({}) is {} on the device, but the bureau never recorded it",
                op.op_id,
                op.kind,
                op.state
            );
            tally.refused += 1;
            continue;
        };
        assert_eq!(
            (answer["status"].as_str(), answer["reason"].as_str()),
            (Some(op.state.as_str()), op.reason.as_deref()),
            "op {} ({}): the device holds another answer than the bureau's",
            op.op_id,
            op.kind
        );
        if op.state == "applied" {
            tally.applied += 1;
        } else {
            assert!(
                op.reason.as_deref().is_some_and(|r| !r.is_empty()),
                "op {} refused without a reason",
                op.op_id
            );
            tally.refused += 1;
        }
    }

    // --- Inspections: each applied one held once, from this device. ---
    for op in ops.iter().filter(|op| {
        op.state == "applied"
            && matches!(op.kind.as_str(), "inspection.submit" | "inspection.amend")
    }) {
        let holders: Vec<String> = query(
            server,
            "SELECT device_id FROM inspections WHERE id = $1",
            params![&op.entity_id],
        )
        .iter()
        .map(|row| row.text(0).unwrap())
        .collect();
        assert_eq!(
            holders,
            std::slice::from_ref(&device_id),
            "inspection {} not held once",
            op.entity_id
        );
    }

    // --- Evidence records: each stored once, as signed; applied ones logged once. ---
    let stored: Vec<(i64, Vec<u8>)> = query(
        server,
        "SELECT seq, signed FROM evidence_records WHERE device_id = $1",
        params![&device_id],
    )
    .iter()
    .map(|row| (row.int(0).unwrap(), row.blob(1).unwrap()))
    .collect();
    let mut seen = BTreeSet::new();
    for (seq, signed) in &stored {
        assert!(seen.insert(*seq), "record {seq} stored twice");
        let mine = store.evidence_record(*seq as u64).unwrap();
        assert!(&mine == signed, "record {seq} differs from the device's");
    }
    let logged: Vec<i64> = query(
        server,
        "SELECT e.seq FROM custody_log c JOIN evidence_records e ON e.id = c.record_id
         WHERE e.device_id = $1 ORDER BY c.leaf_index",
        params![&device_id],
    )
    .iter()
    .map(|row| row.int(0).unwrap())
    .collect();
    let logged_once: BTreeSet<i64> = logged.iter().copied().collect();
    assert_eq!(logged_once.len(), logged.len(), "a record logged twice");
    let applied_records: BTreeSet<i64> = ops
        .iter()
        .filter(|op| op.kind == "evidence.record" && op.state == "applied")
        .map(|op| {
            let payload: Value = serde_json::from_str(&op.payload).unwrap();
            payload["seq"].as_i64().expect("a record op names its seq")
        })
        .collect();
    assert_eq!(
        logged_once, applied_records,
        "the custody log holds exactly the records the bureau applied"
    );
    tally.logged = logged.len();

    // --- Photos: what the bureau holds is exactly the device's bytes. ---
    let photo_ops: BTreeMap<&str, &DeviceOp> = ops
        .iter()
        .filter(|op| op.kind == "photo.upload")
        .map(|op| (op.entity_id.as_str(), op))
        .collect();
    let photos: Vec<(String, String)> = device
        .prepare("SELECT id, sha256 FROM photos")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (photo_id, sha) in &photos {
        let op = photo_ops
            .get(photo_id.as_str())
            .unwrap_or_else(|| panic!("photo {photo_id} has no photo.upload op"));
        if op.state != "applied" {
            continue;
        }
        let original = std::fs::read(store.original_path(photo_id).unwrap()).unwrap();
        let at_bureau = held_photo(server, sha)
            .unwrap_or_else(|| panic!("photo {photo_id} applied but not held"));
        assert!(
            original == at_bureau,
            "photo {photo_id} differs at the bureau"
        );
        assert!(
            holds_photo(server, sha, &device_id),
            "the bureau does not record photo {photo_id} from this device"
        );
        tally.photos += 1;
    }
    let previews: Vec<(String, String)> = device
        .prepare(
            "SELECT photo_id, sha256 FROM uploads WHERE role = 'preview' AND state = 'complete'",
        )
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (photo_id, sha) in &previews {
        let preview = store
            .preview(photo_id)
            .unwrap()
            .expect("a preview was sent");
        let at_bureau = held_photo(server, sha).expect("the preview is held");
        assert!(
            preview == at_bureau,
            "the preview of {photo_id} differs at the bureau"
        );
        tally.previews += 1;
    }
    // Nothing half-sent or damaged became a photo.
    for hash in server.photos.photo_hashes().unwrap() {
        let bytes = server.photos.photo_bytes(&hash).unwrap().expect("listed");
        assert_eq!(
            sha256(&bytes),
            hash,
            "photos/{} does not hold the bytes it names",
            hex::encode(&hash)
        );
    }
    tally
}

/// The photo the bureau's store holds under `sha` (hex), if any.
fn held_photo(server: &BureauView, sha: &str) -> Option<Vec<u8>> {
    let hash = hex::decode32(sha).expect("a SHA-256 in hex");
    server.photos.photo_bytes(&hash).unwrap()
}

/// Why the upload of a photo's original failed for good, if it did.
fn upload_refusal(device: &Connection, photo_id: &str) -> Option<String> {
    device
        .query_row(
            "SELECT reason FROM uploads WHERE photo_id = ?1 AND role = 'original' AND state = 'failed'",
            [photo_id],
            |row| row.get(0),
        )
        .ok()
        .flatten()
}

fn holds_photo(server: &BureauView, sha: &str, device_id: &str) -> bool {
    let held = query(
        server,
        "SELECT 1 FROM photos WHERE sha256 = $1 AND device_id = $2",
        params![&hex::decode32(sha).unwrap(), device_id],
    );
    !held.is_empty()
}

/// Upload requests that carried bytes (tus creations with data, chunks).
pub fn chunk_requests(exchanges: &[Exchange]) -> impl Iterator<Item = &Exchange> {
    exchanges.iter().filter(|e| e.tus && e.body_len > 0)
}

/// What was sent more than once is no more than what was in flight when the link
/// failed (requests that got no answer or were refused), and each of those is at
/// most one chunk:
/// every byte the bureau confirmed went once. `payload` is the bytes of the files
/// uploaded and confirmed (originals and previews, see
/// [`uploaded_payload`]). Returns how many chunks got no answer.
pub fn assert_resent_at_most_in_flight(exchanges: &[Exchange], payload: u64) -> usize {
    let sent: u64 = chunk_requests(exchanges).map(|e| e.body_len as u64).sum();
    // In flight at a failure: no answer at all, or a refusal (a token revoked
    // while the chunk was on its way is answered 403 once the bureau read it).
    let lost: Vec<u64> = chunk_requests(exchanges)
        .filter(|e| e.status.is_none_or(|status| status >= 400))
        .map(|e| e.body_len as u64)
        .collect();
    assert!(sent >= payload, "sent {sent} bytes of {payload}");
    let resent = sent - payload;
    assert!(
        resent <= lost.iter().sum(),
        "re-sent {resent} bytes, but only {lost:?} were in flight at failures"
    );
    assert!(
        lost.iter().all(|&n| n <= 2 * 1024 * 1024),
        "a chunk is at most 2 MiB"
    );
    lost.len()
}

/// Bytes of files a device uploaded that the bureau confirmed holding: of
/// originals and previews, complete or not.
pub fn uploaded_payload(device_db: &Path) -> u64 {
    let device = Connection::open_with_flags(device_db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    device
        .query_row(
            "SELECT coalesce(sum(confirmed), 0) FROM uploads",
            [],
            |row| row.get::<_, i64>(0),
        )
        .unwrap() as u64
}

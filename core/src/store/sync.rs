//! What the sync engine keeps in the database: the enrollment, the sync state (pull
//! cursor, checkpoint, consecutive failures, refused token, chunk size), the lease that
//! lets one sync call at a time talk to the bureau, photo uploads, the bureau's
//! answers to pushed ops, and receipts. The engine itself is `crate::sync`.

use super::{evidence, outbox, Store};
use crate::error::{Error, Result};
use crate::evidence::receipt::{Receipt, SignedCheckpoint};
use crate::evidence::record::CheckpointRef;
use crate::hex;
use crate::model::sync::{Enrollment, OpStatus, PhotoSync, UploadState};
use crate::model::verification::{EvidenceFailure, ReceiptReport};
use crate::store::outbox::{OpAnswer, OutboxOp};
use crate::time::now_ms;
use crate::wire::ops::OpKind;
use crate::wire::tus::PhotoRole;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::PathBuf;
use std::time::Instant;

/// What a sync call needs to talk to the bureau.
pub(crate) struct Credentials {
    pub server_url: String,
    pub token: String,
    pub bureau_public_key: Vec<u8>,
}

/// The sync state a call starts from.
pub(crate) struct SyncState {
    pub pull_cursor: Option<String>,
    pub failures: u32,
    /// The bureau's code when it refused the token: nothing is sent until the
    /// device enrolls again.
    pub auth_refused: Option<String>,
    /// The upload chunk size last used, and the link speed it was sized for
    /// (`sync::chunk_size` decides what they mean).
    pub chunk_bytes: u64,
    pub link_bytes_per_s: Option<u64>,
}

/// One file to upload, and how far the bureau confirmed holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UploadJob {
    pub photo_id: String,
    pub role: PhotoRole,
    pub sha256: String,
    pub size: u64,
    pub mime: String,
    pub path: PathBuf,
    /// Where the bureau keeps the upload, as its `Location` said; `None` until created.
    pub url: Option<String>,
    pub confirmed: u64,
}

impl FromSql for UploadState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "sending" => Ok(UploadState::Sending),
            "complete" => Ok(UploadState::Complete),
            "failed" => Ok(UploadState::Failed),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

/// Lease row outcome: taken, or held by another call until then (UTC ms).
pub(crate) enum LeaseTake {
    Taken,
    Busy { until_ms: i64 },
}

impl Store {
    // --- enrollment ---

    /// The bureau this device is enrolled with, if any.
    pub fn enrollment(&self) -> Result<Option<Enrollment>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT server_url, device_id, officer_id, jurisdiction, role,
                         token_expires_ms, certificate, bureau_public_key, enrolled_at_ms
                     FROM enrollment",
                )?
                .query_row([], |row| {
                    Ok(Enrollment {
                        server_url: row.get(0)?,
                        device_id: row.get(1)?,
                        officer_id: row.get(2)?,
                        jurisdiction: row.get(3)?,
                        role: row.get(4)?,
                        token_expires_ms: row.get(5)?,
                        certificate: row.get(6)?,
                        bureau_public_key: row.get(7)?,
                        enrolled_at_ms: row.get(8)?,
                    })
                })
                .optional()?)
        })
    }

    /// Stores a new enrollment, replacing any earlier one. The device has a new
    /// identity at the bureau: the feed is read again from its start, and a refused
    /// token no longer stops sync. A checkpoint of another bureau is dropped.
    pub(crate) fn save_enrollment(&self, e: &Enrollment, token: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO enrollment (id, server_url, device_id, officer_id,
                     jurisdiction, role, token, token_expires_ms, certificate,
                     bureau_public_key, enrolled_at_ms)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    e.server_url,
                    e.device_id,
                    e.officer_id,
                    e.jurisdiction,
                    e.role,
                    token,
                    e.token_expires_ms,
                    e.certificate,
                    e.bureau_public_key,
                    e.enrolled_at_ms
                ],
            )?;
            tx.execute(
                "UPDATE sync_state SET pull_cursor = NULL, failures = 0, auth_refused = NULL",
                [],
            )?;
            if let Some(checkpoint) = latest_checkpoint(tx)? {
                if !checkpoint.verify(&e.bureau_public_key) {
                    tx.execute(
                        "UPDATE sync_state SET checkpoint_tree_size = NULL, checkpoint_root = NULL,
                             checkpoint_time_ms = NULL, checkpoint_signature = NULL",
                        [],
                    )?;
                }
            }
            Ok(())
        })
    }

    pub(crate) fn credentials(&self) -> Result<Option<Credentials>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT server_url, token, bureau_public_key FROM enrollment")?
                .query_row([], |row| {
                    Ok(Credentials {
                        server_url: row.get(0)?,
                        token: row.get(1)?,
                        bureau_public_key: row.get(2)?,
                    })
                })
                .optional()?)
        })
    }

    // --- sync state ---

    pub(crate) fn sync_state(&self) -> Result<SyncState> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT pull_cursor, failures, auth_refused, chunk_bytes, link_bytes_per_s
                     FROM sync_state",
                )?
                .query_row([], |row| {
                    Ok(SyncState {
                        pull_cursor: row.get(0)?,
                        failures: row.get(1)?,
                        auth_refused: row.get(2)?,
                        chunk_bytes: row.get(3)?,
                        link_bytes_per_s: row.get(4)?,
                    })
                })?)
        })
    }

    /// Records how a sync call ended: a failure counts towards the backoff, success
    /// resets it; a refused token (its code) stops sync until the device enrolls again.
    pub(crate) fn save_sync_outcome(&self, failed: bool, auth_refused: Option<&str>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE sync_state SET
                     failures = CASE WHEN ?1 THEN failures + 1 ELSE 0 END,
                     auth_refused = coalesce(?2, auth_refused)",
                params![failed, auth_refused],
            )?;
            Ok(())
        })
    }

    pub(crate) fn save_chunk_size(
        &self,
        chunk_bytes: u64,
        link_bytes_per_s: Option<u64>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE sync_state SET chunk_bytes = ?1, link_bytes_per_s = ?2",
                params![chunk_bytes, link_bytes_per_s],
            )?;
            Ok(())
        })
    }

    /// The newest bureau checkpoint this device holds (it goes into the next
    /// evidence record).
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        self.read(latest_checkpoint)
    }

    // --- lease ---

    /// Takes the sync lease for `holder` until `until_ms`, unless another holder's
    /// lease is still running. One statement, so two processes cannot both win.
    pub(crate) fn take_lease(&self, holder: &str, until_ms: i64) -> Result<LeaseTake> {
        self.write(|tx| {
            let now = now_ms();
            let taken = tx.execute(
                "UPDATE sync_lease SET holder = ?1, expires_at_ms = ?2
                 WHERE holder IS NULL OR holder = ?1 OR expires_at_ms <= ?3",
                params![holder, until_ms, now],
            )?;
            if taken == 1 {
                return Ok(LeaseTake::Taken);
            }
            let until_ms = tx.query_row("SELECT expires_at_ms FROM sync_lease", [], |row| {
                row.get::<_, Option<i64>>(0)
            })?;
            Ok(LeaseTake::Busy {
                until_ms: until_ms.unwrap_or(now),
            })
        })
    }

    /// Whether `holder` still holds an unexpired lease.
    pub(crate) fn holds_lease(&self, holder: &str) -> Result<bool> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM sync_lease WHERE holder = ?1 AND expires_at_ms > ?2)",
                )?
                .query_row(params![holder, now_ms()], |row| row.get(0))?)
        })
    }

    pub(crate) fn release_lease(&self, holder: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE sync_lease SET holder = NULL, expires_at_ms = NULL WHERE holder = ?1",
                [holder],
            )?;
            Ok(())
        })
    }

    // --- push ---

    /// Pending ops that may go to the bureau now, in order (see `outbox::ready`).
    pub(crate) fn ready_ops(&self, limit: u32) -> Result<Vec<OutboxOp>> {
        self.read(|conn| outbox::ready(conn, limit))
    }

    /// Stores the bureau's answers to one push, with its receipts (`(record seq,
    /// receipt)`) and checkpoint, in one transaction; returns how many receipts
    /// were kept. A receipt or checkpoint that does not verify with `bureau_key`
    /// is not kept.
    pub(crate) fn save_push(
        &self,
        answers: &[OpAnswer],
        receipts: &[(u64, Receipt)],
        checkpoint: Option<&SignedCheckpoint>,
        bureau_key: &[u8],
    ) -> Result<u32> {
        self.write(|tx| {
            let now = now_ms();
            for answer in answers {
                outbox::record_answer(tx, answer, now)?;
            }
            let mut kept = 0;
            for (seq, receipt) in receipts {
                kept += u32::from(keep_receipt(tx, *seq, receipt, bureau_key, now)?);
            }
            if let Some(checkpoint) = checkpoint.filter(|c| c.verify(bureau_key)) {
                save_checkpoint(tx, checkpoint)?;
            }
            Ok(kept)
        })
    }

    /// Notes a push that got no answer for `op_ids`.
    pub(crate) fn save_push_attempt(&self, op_ids: &[String], error_code: &str) -> Result<()> {
        self.write(|tx| {
            for op_id in op_ids {
                outbox::record_attempt(tx, op_id, error_code)?;
            }
            Ok(())
        })
    }

    /// Ops and photo uploads still to do.
    pub(crate) fn work_left(&self) -> Result<(u32, u32)> {
        self.read(|conn| {
            let uploads: u32 =
                conn.query_row(&format!("SELECT count(*) {PENDING_ORIGINALS}"), [], |row| {
                    row.get(0)
                })?;
            Ok((outbox::count_pending(conn)?, uploads))
        })
    }

    /// The sync status of an inspection's submission or amendment, once submitted.
    pub fn inspection_sync(&self, inspection_id: &str) -> Result<Option<OpStatus>> {
        let id = crate::model::id::parse_id(inspection_id, "inspection id")?;
        self.read(|conn| {
            outbox::status_of(
                conn,
                &id,
                &[OpKind::InspectionSubmit, OpKind::InspectionAmend],
            )
        })
    }

    /// How far a photo got on its way to the bureau.
    pub fn photo_sync(&self, photo_id: &str) -> Result<PhotoSync> {
        let photo = self.photo(photo_id)?;
        self.read(|conn| {
            let upload = conn
                .prepare_cached(
                    "SELECT state, confirmed, reason FROM uploads
                     WHERE photo_id = ?1 AND role = 'original'",
                )?
                .query_row([&photo.id], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()?;
            let (upload, uploaded_bytes, upload_reason) =
                upload.unwrap_or((UploadState::NotStarted, 0, None));
            Ok(PhotoSync {
                upload,
                uploaded_bytes,
                size: photo.size,
                upload_reason,
                photo_op: outbox::status_of(conn, &photo.id, &[OpKind::PhotoUpload])?,
                record_op: outbox::status_of(
                    conn,
                    &photo.record_seq.to_string(),
                    &[OpKind::EvidenceRecord],
                )?,
            })
        })
    }

    // --- uploads ---

    /// Originals still to upload, in capture order (the order their records wait in).
    pub(crate) fn pending_originals(&self) -> Result<Vec<UploadJob>> {
        let media = self.media();
        self.read(|conn| {
            let sql = format!(
                "SELECT p.id, p.sha256, p.size, p.mime, u.url, coalesce(u.confirmed, 0)
                 {PENDING_ORIGINALS} ORDER BY o.seq"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([], |row| {
                let sha256: String = row.get(1)?;
                Ok(UploadJob {
                    photo_id: row.get(0)?,
                    role: PhotoRole::Original,
                    path: media.original(&sha256),
                    sha256,
                    size: row.get(2)?,
                    mime: row.get(3)?,
                    url: row.get(4)?,
                    confirmed: row.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Previews of the photos still to upload that the bureau does not have yet,
    /// made now if need be (and if `until` has not passed: making one takes a
    /// fraction of a second). Photos without a preview (HEIC, undecodable) have
    /// none to send.
    pub(crate) fn pending_previews(&self, until: Instant) -> Result<Vec<UploadJob>> {
        let media = self.media();
        let mut jobs = Vec::new();
        for original in self.pending_originals()? {
            let job = UploadJob {
                role: PhotoRole::Preview,
                path: media.preview(&original.sha256),
                mime: "image/jpeg".into(),
                url: None,
                confirmed: 0,
                ..original
            };
            let started = self.read(|conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT url, confirmed, sha256, size, state FROM uploads
                         WHERE photo_id = ?1 AND role = 'preview'",
                    )?
                    .query_row([&job.photo_id], |row| {
                        let started = UploadJob {
                            url: row.get(0)?,
                            confirmed: row.get(1)?,
                            sha256: row.get(2)?,
                            size: row.get(3)?,
                            ..job.clone()
                        };
                        Ok((started, row.get::<_, UploadState>(4)?))
                    })
                    .optional()?)
            })?;
            match started {
                Some((started, UploadState::Sending)) => jobs.push(started),
                Some(_) => {} // complete, or refused for good
                None if Instant::now() >= until => {}
                None => {
                    let Some(bytes) = self.preview(&job.photo_id)? else {
                        continue;
                    };
                    jobs.push(UploadJob {
                        sha256: hex::encode(&crate::evidence::sha256(&bytes)),
                        size: bytes.len() as u64,
                        ..job
                    });
                }
            }
        }
        Ok(jobs)
    }

    /// Records where the bureau keeps an upload and how much of it it confirmed.
    pub(crate) fn save_upload_progress(&self, job: &UploadJob) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO uploads (photo_id, role, sha256, size, url, confirmed, updated_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (photo_id, role) DO UPDATE SET url = excluded.url,
                     confirmed = excluded.confirmed, updated_at_ms = excluded.updated_at_ms",
                params![
                    job.photo_id,
                    job.role.as_str(),
                    job.sha256,
                    job.size,
                    job.url,
                    job.confirmed,
                    now_ms()
                ],
            )?;
            Ok(())
        })
    }

    /// Ends an upload: complete, or refused by the bureau for good (`reason`, its
    /// code). A refused original can never be confirmed, so its `photo.upload` op
    /// is refused with the same reason, and its record no longer waits for it.
    pub(crate) fn finish_upload(&self, job: &UploadJob, refused: Option<&str>) -> Result<()> {
        self.save_upload_progress(job)?;
        self.write(|tx| {
            let state = if refused.is_some() {
                "failed"
            } else {
                "complete"
            };
            tx.execute(
                "UPDATE uploads SET state = ?3, reason = ?4 WHERE photo_id = ?1 AND role = ?2",
                params![job.photo_id, job.role.as_str(), state, refused],
            )?;
            if let (Some(reason), PhotoRole::Original) = (refused, job.role) {
                outbox::reject_photo_op(tx, &job.photo_id, reason, now_ms())?;
            }
            Ok(())
        })
    }

    // --- receipts ---

    /// The bureau's receipt for evidence record `seq`, once received.
    pub fn receipt(&self, seq: u64) -> Result<Option<Receipt>> {
        self.read(|conn| {
            let text: Option<String> = conn
                .prepare_cached("SELECT receipt FROM receipts WHERE record_seq = ?1")?
                .query_row([seq], |row| row.get(0))
                .optional()?;
            text.map(|t| serde_json::from_str(&t).map_err(|_| crate::Error::DatabaseCorrupt))
                .transpose()
        })
    }

    /// Checks every stored receipt against its record and the enrolled bureau's key.
    pub fn verify_receipts(&self) -> Result<ReceiptReport> {
        let key = self.enrollment()?.map(|e| e.bureau_public_key);
        let stored = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.record_seq, r.receipt, e.signed FROM receipts r
                 LEFT JOIN evidence_records e ON e.seq = r.record_seq ORDER BY r.record_seq",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    row.get::<_, u64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<Vec<u8>>>(2)?,
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut report = ReceiptReport {
            receipts: stored.len() as u64,
            failures: Vec::new(),
        };
        let fail = |code: &str, seq: u64| EvidenceFailure {
            code: code.into(),
            detail: format!("receipt for record {seq}"),
        };
        for (seq, text, signed) in stored {
            let receipt: Receipt =
                serde_json::from_str(&text).map_err(|_| crate::Error::DatabaseCorrupt)?;
            let outcome = match (&key, signed) {
                (None, _) => Err("not_enrolled"),
                (_, None) => Err("record_missing"),
                (Some(key), Some(signed)) => receipt.verify(&signed, key).map_err(|f| f.code()),
            };
            if let Err(code) = outcome {
                report.failures.push(fail(code, seq));
            }
        }
        Ok(report)
    }
}

/// Photos whose `photo.upload` op is pending and whose original is neither
/// complete nor refused: the upload queue (a FROM clause; `o` is the op).
const PENDING_ORIGINALS: &str = "FROM outbox o
     JOIN photos p ON p.id = o.entity_id
     LEFT JOIN uploads u ON u.photo_id = p.id AND u.role = 'original'
     WHERE o.kind = 'photo.upload' AND o.state = 'pending'
       AND coalesce(u.state, 'sending') = 'sending'";

pub(super) fn latest_checkpoint(conn: &Connection) -> Result<Option<SignedCheckpoint>> {
    Ok(conn
        .prepare_cached(
            "SELECT checkpoint_tree_size, checkpoint_root, checkpoint_time_ms, checkpoint_signature
             FROM sync_state WHERE checkpoint_tree_size IS NOT NULL",
        )?
        .query_row([], |row| {
            Ok(SignedCheckpoint {
                tree_size: row.get(0)?,
                root: row.get(1)?,
                time_ms: row.get(2)?,
                signature: row.get(3)?,
            })
        })
        .optional()?)
}

/// The checkpoint a new evidence record carries: the newest one held.
pub(super) fn checkpoint_for_record(conn: &Connection) -> Result<Option<CheckpointRef>> {
    Ok(latest_checkpoint(conn)?.map(|c| CheckpointRef {
        tree_size: c.tree_size,
        root: c.root,
    }))
}

/// Keeps `checkpoint` if it is at least as new as the one held. The caller has
/// checked its signature.
pub(super) fn save_checkpoint(conn: &Connection, checkpoint: &SignedCheckpoint) -> Result<()> {
    conn.prepare_cached(
        "UPDATE sync_state SET checkpoint_tree_size = ?1, checkpoint_root = ?2,
             checkpoint_time_ms = ?3, checkpoint_signature = ?4
         WHERE checkpoint_tree_size IS NULL OR checkpoint_tree_size <= ?1",
    )?
    .execute(params![
        checkpoint.tree_size,
        checkpoint.root,
        checkpoint.time_ms,
        checkpoint.signature
    ])?;
    Ok(())
}

/// Keeps a receipt (a later one replaces the earlier) if it proves that the bureau
/// logged the record this device holds under `seq`; `false` when not kept. Its
/// checkpoint, verified with it, is kept too if it is the newest.
pub(super) fn keep_receipt(
    conn: &Connection,
    seq: u64,
    receipt: &Receipt,
    bureau_key: &[u8],
    now: i64,
) -> Result<bool> {
    let signed = match evidence::signed_record(conn, seq) {
        Ok(signed) => signed,
        Err(Error::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    if receipt.verify(&signed, bureau_key).is_err() {
        return Ok(false);
    }
    let text = serde_json::to_string(receipt).expect("receipts serialise");
    conn.prepare_cached(
        "INSERT OR REPLACE INTO receipts (record_seq, leaf_index, tree_size, receipt, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        seq,
        receipt.leaf_index,
        receipt.checkpoint.tree_size,
        text,
        now
    ])?;
    save_checkpoint(conn, &receipt.checkpoint)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::record::Event;
    use crate::model::checklist::defaults::template_for;
    use crate::model::inspection::Review;
    use crate::model::photo::{CaptureContext, CaptureSource, Photo};
    use crate::model::sync::OpState;
    use crate::store::{FeedItem, PhotoSource};

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
}

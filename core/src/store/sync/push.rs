//! Outbox ops on their way: which may go, the bureau's answers, and what the
//! app shows of an inspection's or a photo's sync.

use super::receipts::{keep_receipt, save_checkpoint};
use super::uploads::PENDING_ORIGINALS;
use crate::error::Result;
use crate::evidence::receipt::{Receipt, SignedCheckpoint};
use crate::model::sync::{OpStatus, PhotoSync, UploadState};
use crate::store::outbox::{OpAnswer, OutboxOp};
use crate::store::{outbox, Store};
use crate::time::now_ms;
use crate::wire::ops::OpKind;
use rusqlite::OptionalExtension;

impl Store {
    /// Pending ops that may go to the bureau now, in order (see `outbox::ready`).
    pub(crate) fn ready_ops(&self, limit: u32) -> Result<Vec<OutboxOp>> {
        self.read(|conn| outbox::ready(conn, limit))
    }

    /// Stores the bureau's answers to one push, with its receipts (`(record seq,
    /// receipt)`) and checkpoint, in one transaction; returns how many receipts
    /// were kept. A receipt that does not verify with `bureau_key` is not kept;
    /// the checkpoint is one `sync::log_view` admitted.
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
            if let Some(checkpoint) = checkpoint {
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
}

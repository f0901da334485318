//! Photo uploads: the queue of originals and previews, and how far each got.

use crate::error::Result;
use crate::hex;
use crate::model::sync::UploadState;
use crate::store::{outbox, Store};
use crate::time::now_ms;
use crate::wire::tus::PhotoRole;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{params, OptionalExtension};
use std::path::PathBuf;
use std::time::Instant;

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

impl Store {
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
}

/// Photos whose `photo.upload` op is pending and whose original is neither
/// complete nor refused: the upload queue (a FROM clause; `o` is the op).
pub(super) const PENDING_ORIGINALS: &str = "FROM outbox o
     JOIN photos p ON p.id = o.entity_id
     LEFT JOIN uploads u ON u.photo_id = p.id AND u.role = 'original'
     WHERE o.kind = 'photo.upload' AND o.state = 'pending'
       AND coalesce(u.state, 'sending') = 'sending'";

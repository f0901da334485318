//! The device's own check of its evidence: the whole record chain and every
//! stored photo against the record that vouches for it.

use crate::error::{Error, Result};
use crate::evidence::chain::{verify_history, verify_media, MediaCheck};
use crate::model::verification::{EvidenceFailure, EvidenceReport};
use crate::store::evidence as rows;
use crate::store::media::MediaScan;
use crate::store::Store;
use std::fs::File;

impl Store {
    /// Checks the whole device chain (signatures, continuity) and every stored
    /// photo against the record that vouches for it. Names every failure.
    pub fn verify_evidence(&self) -> Result<EvidenceReport> {
        let (records, photos, genesis_key) = self.read(|conn| {
            let records = rows::signed_records(conn)?;
            let photos = rows::all_photos(conn)?;
            let key = match rows::genesis_kid(conn)? {
                Some(kid) => rows::public_key(conn, &kid)?,
                None => None,
            };
            Ok((records, photos, key))
        })?;
        let mut report = EvidenceReport {
            records: records.len() as u64,
            photos: photos.len() as u64,
            failures: Vec::new(),
        };
        let fail = |code: &str, detail: String| EvidenceFailure {
            code: code.to_owned(),
            detail,
        };
        let Some(key) = genesis_key else {
            if !records.is_empty() {
                report.failures.push(fail(
                    "unknown_key",
                    "the key of the first record is not on file".into(),
                ));
            }
            return Ok(report);
        };
        let history = verify_history(records.iter().map(|(_, s)| s.as_slice()), &key);
        for failure in &history.failures {
            report
                .failures
                .push(fail(failure.kind.code(), failure.to_string()));
        }
        let verified = history.records;
        let media = self.media();
        for photo in photos {
            let verified = verified.iter().find(|r| r.payload.seq == photo.record_seq);
            let Some(record) = verified else {
                report.failures.push(fail(
                    "media_unvouched",
                    format!(
                        "photo {} has no valid record {}",
                        photo.id, photo.record_seq
                    ),
                ));
                continue;
            };
            let check = File::open(media.original(&photo.sha256))
                .map_err(Error::from)
                .and_then(|file| verify_media(&record.payload, file));
            match check {
                Ok(MediaCheck::Match) => {}
                Ok(MediaCheck::Mismatch { .. }) => report.failures.push(fail(
                    "media_mismatch",
                    format!(
                        "photo {} differs from record {}",
                        photo.id, photo.record_seq
                    ),
                )),
                Err(_) => report.failures.push(fail(
                    "media_missing",
                    format!("photo {} original is unreadable", photo.id),
                )),
            }
        }
        Ok(report)
    }

    /// Removes unfinished temp files of a killed process and lists originals no
    /// photo row names (kept, never deleted).
    pub fn scan_media(&self) -> Result<MediaScan> {
        self.media()
            .scan(|sha| self.read(|conn| rows::has_original(conn, sha)))
    }
}

//! The bureau this device is enrolled with, and the token its calls carry.

use super::receipts::latest_checkpoint;
use crate::error::Result;
use crate::model::sync::Enrollment;
use crate::store::Store;
use rusqlite::{params, OptionalExtension};

/// The officer this device is enrolled for, if it is enrolled. An enrolled
/// device works for that officer: the inspections it submits and the evidence
/// records it signs name them, whatever the platform passed (the bureau refuses
/// an inspection naming another officer, and keeps a record naming one apart).
pub(in crate::store) fn enrolled_officer(conn: &rusqlite::Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT officer_id FROM enrollment")?
        .query_row([], |row| row.get(0))
        .optional()?)
}

/// What a sync call needs to talk to the bureau.
pub(crate) struct Credentials {
    pub server_url: String,
    pub token: String,
    pub bureau_public_key: Vec<u8>,
    pub tls_pin: Option<String>,
}

impl Store {
    /// The bureau this device is enrolled with, if any.
    pub fn enrollment(&self) -> Result<Option<Enrollment>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT server_url, device_id, officer_id, jurisdiction, role,
                         token_expires_ms, certificate, bureau_public_key, enrolled_at_ms, tls_pin
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
                        tls_pin: row.get(9)?,
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
                     bureau_public_key, enrolled_at_ms, tls_pin)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
                    e.enrolled_at_ms,
                    e.tls_pin
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
                .prepare_cached(
                    "SELECT server_url, token, bureau_public_key, tls_pin FROM enrollment",
                )?
                .query_row([], |row| {
                    Ok(Credentials {
                        server_url: row.get(0)?,
                        token: row.get(1)?,
                        bureau_public_key: row.get(2)?,
                        tls_pin: row.get(3)?,
                    })
                })
                .optional()?)
        })
    }
}

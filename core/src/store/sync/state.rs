//! The state a sync call starts from and leaves: the pull cursor, consecutive
//! failures, a refused token, the upload chunk size.

use crate::error::Result;
use crate::store::Store;
use rusqlite::params;

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

impl Store {
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
}

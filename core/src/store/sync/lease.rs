//! The lease that lets one sync call at a time, in any process, talk to the bureau.

use crate::error::Result;
use crate::store::Store;
use crate::time::now_ms;
use rusqlite::params;

/// Lease row outcome: taken, or held by another call until then (UTC ms).
pub(crate) enum LeaseTake {
    Taken,
    Busy { until_ms: i64 },
}

impl Store {
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
}

//! Periodic work done once for all bureau processes over one database (the
//! fire fetch). Every process wakes on its own timer, but only the one whose
//! claim moves the job's next run forward does the work: three processes
//! behind a load balancer fetch FIRMS once a period, not three times. A
//! process killed during the work leaves the run done for that period.

use crate::error::Result;
use crate::params;
use crate::storage::Database;

/// Claims `job` if it is due at `now`, setting its next run to `next_ms`;
/// returns whether this process claimed it (and so does the work).
pub fn claim(db: &Database, job: &str, now: i64, next_ms: i64) -> Result<bool> {
    db.write(|tx| {
        tx.execute(
            "INSERT INTO scheduled_runs (job, next_run_ms) VALUES ($1, 0)
             ON CONFLICT (job) DO NOTHING",
            params![job],
        )?;
        let claimed = tx.execute(
            "UPDATE scheduled_runs SET next_run_ms = $1 WHERE job = $2 AND next_run_ms <= $3",
            params![next_ms, job, now],
        )?;
        Ok(claimed == 1)
    })
}

/// Moves `job`'s next run to `next_ms` (sooner, after a failed run).
pub fn reschedule(db: &Database, job: &str, next_ms: i64) -> Result<()> {
    db.write(|tx| {
        tx.execute(
            "UPDATE scheduled_runs SET next_run_ms = $1 WHERE job = $2",
            params![next_ms, job],
        )
    })?;
    Ok(())
}

/// When `job` is next due, whoever claimed it last.
pub fn next_run(db: &Database, job: &str) -> Result<Option<i64>> {
    db.read(|tx| {
        tx.query_opt(
            "SELECT next_run_ms FROM scheduled_runs WHERE job = $1",
            params![job],
        )?
        .map(|row| row.int(0))
        .transpose()
    })
}

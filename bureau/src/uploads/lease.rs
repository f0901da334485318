//! Who works on an upload right now, decided in the database so that it holds
//! across bureau processes: two PATCHes on one upload never interleave their
//! bytes, and HEAD never reports an offset that a PATCH in flight is about to
//! move, whichever processes behind a load balancer the requests reach.
//!
//! A request takes the upload's lease (a token of its own, valid until a time
//! in the database), renews it while it works, and gives it back when done. A
//! process killed while holding one lets it run out after [`LEASE`]. Offsets are
//! recorded only under the lease (`set_progress` checks the token), so a
//! request that lost its lease cannot move an upload another one now holds.

use crate::bureau::{blocking, Bureau};
use crate::error::{Error, Result};
use crate::{now_ms, params};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long a lease lasts unless renewed.
const LEASE: Duration = Duration::from_secs(10);
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How long a request waits for another one on the same upload before answering
/// 423 (tus clients retry that).
const WAIT: Duration = Duration::from_secs(15);
const FIRST_POLL: Duration = Duration::from_millis(20);
const LONGEST_POLL: Duration = Duration::from_millis(500);

/// The lease of one upload, held by this request until [`Lease::release`] (or
/// dropped, which gives it back in the background).
pub struct Lease {
    bureau: Arc<Bureau>,
    id: String,
    pub token: String,
    renewer: JoinHandle<()>,
    lost: Arc<AtomicBool>,
    released: bool,
}

/// Takes the lease of this device's upload `id`, waiting (up to [`WAIT`]) for
/// another request to give it back or a dead process's to run out.
pub async fn take(bureau: &Arc<Bureau>, device_id: &str, id: &str) -> Result<Lease> {
    let token = uuid::Uuid::now_v7().to_string();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut poll = FIRST_POLL;
    loop {
        let (device, upload, mine) = (device_id.to_owned(), id.to_owned(), token.clone());
        if blocking(bureau, move |b| try_take(b, &device, &upload, &mine)).await? {
            return Ok(Lease::start(bureau, id, token));
        }
        if tokio::time::Instant::now() + poll > deadline {
            return Err(Error::UploadLocked);
        }
        tokio::time::sleep(poll).await;
        poll = (poll * 2).min(LONGEST_POLL);
    }
}

/// Takes the lease if it is free or ran out. An upload that does not exist, or
/// is another device's, is not found.
fn try_take(bureau: &Bureau, device_id: &str, id: &str, token: &str) -> Result<bool> {
    let now = now_ms();
    bureau.db.write(|tx| {
        let taken = tx.execute(
            "UPDATE uploads SET lease_token = $1, lease_until_ms = $2
             WHERE id = $3 AND device_id = $4
               AND (lease_token IS NULL OR lease_until_ms <= $5)",
            params![token, until(now), id, device_id, now],
        )?;
        if taken == 1 {
            return Ok(true);
        }
        let exists = tx.query_opt(
            "SELECT 1 FROM uploads WHERE id = $1 AND device_id = $2",
            params![id, device_id],
        )?;
        exists.map(|_| false).ok_or(Error::UploadNotFound)
    })
}

fn until(now: i64) -> i64 {
    now + LEASE.as_millis() as i64
}

impl Lease {
    fn start(bureau: &Arc<Bureau>, id: &str, token: String) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(
            bureau.clone(),
            id.to_owned(),
            token.clone(),
            lost.clone(),
        ));
        Self {
            bureau: bureau.clone(),
            id: id.to_owned(),
            token,
            renewer,
            lost,
            released: false,
        }
    }

    /// Whether the lease ran out under this request (the database could not be
    /// reached to renew it): what it wrote since must not count.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Gives the lease back.
    pub async fn release(mut self) {
        self.released = true;
        self.renewer.abort();
        let (id, token) = (self.id.clone(), self.token.clone());
        // Should this fail, the lease runs out by itself.
        let _ = blocking(&self.bureau, move |b| give_back(b, &id, &token)).await;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.renewer.abort();
        let (bureau, id, token) = (self.bureau.clone(), self.id.clone(), self.token.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            drop(runtime.spawn_blocking(move || give_back(&bureau, &id, &token)));
        }
    }
}

fn give_back(bureau: &Bureau, id: &str, token: &str) -> Result<()> {
    bureau.db.write(|tx| {
        tx.execute(
            "UPDATE uploads SET lease_token = NULL, lease_until_ms = NULL
             WHERE id = $1 AND lease_token = $2",
            params![id, token],
        )
    })?;
    Ok(())
}

/// Extends the lease every [`RENEW_EVERY`] until aborted; says when it was lost.
async fn renew(bureau: Arc<Bureau>, id: String, token: String, lost: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let (upload, mine) = (id.clone(), token.clone());
        let renewed = blocking(&bureau, move |b| {
            b.db.write(|tx| {
                tx.execute(
                    "UPDATE uploads SET lease_until_ms = $1 WHERE id = $2 AND lease_token = $3",
                    params![until(now_ms()), &upload, &mine],
                )
            })
        })
        .await;
        if !matches!(renewed, Ok(1)) {
            lost.store(true, Ordering::SeqCst);
            return;
        }
    }
}

//! One sync call at a time per database, across processes: the app and a
//! background worker may open the same file and sync at once, and must never both
//! send the same op or chunk. A lease row in the database is taken in one
//! transaction and held until the call ends, or until it expires (a killed process
//! leaves it behind), never by an in-memory lock that another process cannot see.

use crate::error::{Error, Result};
use crate::model::id::new_id;
use crate::store::{LeaseTake, Store};

pub(crate) struct Lease<'a> {
    store: &'a Store,
    holder: String,
}

impl<'a> Lease<'a> {
    /// Takes the lease until `until_ms` (UTC), or says until when another call
    /// holds it.
    pub fn take(store: &'a Store, until_ms: i64) -> Result<std::result::Result<Self, i64>> {
        let holder = new_id();
        Ok(match store.take_lease(&holder, until_ms)? {
            LeaseTake::Taken => Ok(Lease { store, holder }),
            LeaseTake::Busy { until_ms } => Err(until_ms),
        })
    }

    /// Fails if the lease ran out and may have passed to another call: whatever
    /// this call would send next, that one may be sending.
    pub fn check(&self) -> Result<()> {
        if self.store.holds_lease(&self.holder)? {
            Ok(())
        } else {
            Err(Error::SyncInProgress)
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // Should the release fail (the disk), the lease still expires.
        let _ = self.store.release_lease(&self.holder);
    }
}

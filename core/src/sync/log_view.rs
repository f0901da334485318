//! The device's view of the bureau's custody log. The checkpoint a device holds
//! goes into every record it signs next and is what the bureau's later answers
//! are held against, so it only ever moves forward along one log: before taking a
//! newer checkpoint, the device asks the bureau for a consistency proof from the
//! one it holds (RFC 9162 §2.1.4) and checks it. A checkpoint of the same size
//! with another root, or a newer one the bureau cannot prove extends the held
//! one, means the log was rewritten or is shown differently to different
//! devices: the device keeps its checkpoint and the sync call fails with
//! `log_inconsistent`, every time, until the bureau's log agrees again.
//!
//! An older checkpoint than the held one (a receipt's, a page signed while a
//! concurrent push committed) is not taken, but the bureau must still prove that
//! its log reaches the held one: a bureau restored from a backup older than the
//! device's checkpoint cannot (`tree_size_too_large`), and that is
//! `log_inconsistent` too, never silently accepted.

use super::client::BureauClient;
use crate::error::{Error, Result};
use crate::evidence::merkle::verify_consistency;
use crate::evidence::receipt::SignedCheckpoint;
use crate::store::Store;
use crate::wire::custody::ConsistencyProof;

/// Judges `offered`, a checkpoint the bureau sent: `Some` when the device should
/// take it (newer than the one it holds, signed by the bureau, and proven to
/// extend it), `None` when there is nothing to take (none offered, a bad
/// signature, or not newer and consistent), [`Error::LogInconsistent`] when it
/// contradicts the held one.
pub(crate) fn admit<'c>(
    store: &Store,
    bureau: &BureauClient,
    bureau_key: &[u8],
    offered: Option<&'c SignedCheckpoint>,
) -> Result<Option<&'c SignedCheckpoint>> {
    let Some(offered) = offered.filter(|c| c.verify(bureau_key)) else {
        return Ok(None);
    };
    let Some(held) = store.latest_checkpoint()? else {
        // The first checkpoint since enrollment: nothing to hold it against.
        return Ok(Some(offered));
    };
    let inconsistent = || Error::LogInconsistent {
        held_size: held.tree_size,
        offered_size: offered.tree_size,
    };
    if offered.tree_size == held.tree_size {
        // The same size must be the same tree.
        return match offered.root == held.root {
            true => Ok(None),
            false => Err(inconsistent()),
        };
    }
    let (old, new) = match offered.tree_size < held.tree_size {
        true => (offered, &held),
        false => (&held, offered),
    };
    let path = ConsistencyProof::path(old.tree_size, new.tree_size);
    let answer: ConsistencyProof = match bureau.json("GET", &path, None) {
        Ok(answer) => answer,
        // The bureau's log is shorter than a checkpoint it signed.
        Err(Error::ServerError { code, .. }) if code == "tree_size_too_large" => {
            return Err(inconsistent())
        }
        Err(e) => return Err(e),
    };
    let proven = answer.old_size == old.tree_size
        && answer.new_size == new.tree_size
        && verify_consistency(
            old.tree_size,
            new.tree_size,
            &old.root,
            &new.root,
            &answer.proof,
        );
    match (proven, offered.tree_size > held.tree_size) {
        (false, _) => Err(inconsistent()),
        (true, newer) => Ok(newer.then_some(offered)),
    }
}

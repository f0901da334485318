//! The device's view of the bureau's custody log. The checkpoint a device holds
//! goes into every record it signs next and is what the bureau's later answers
//! are held against, so it only ever moves forward along one log: before taking a
//! newer checkpoint, the device asks the bureau for a consistency proof from the
//! one it holds (RFC 9162 §2.1.4) and checks it. A checkpoint of the same size
//! with another root, or a newer one the bureau cannot prove extends the held
//! one, means the log was rewritten or is shown differently to different
//! devices: the device keeps its checkpoint and the sync call fails with
//! `log_inconsistent`, every time, until the bureau's log agrees again.

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
    if offered.tree_size <= held.tree_size {
        // An older checkpoint (a receipt's, a page cut before a push) is not
        // taken; one of the same size must be the same tree.
        if offered.tree_size < held.tree_size || offered.root == held.root {
            return Ok(None);
        }
        return Err(inconsistent());
    }
    let path = ConsistencyProof::path(held.tree_size, offered.tree_size);
    let answer: ConsistencyProof = bureau.json("GET", &path, None)?;
    let proven = answer.old_size == held.tree_size
        && answer.new_size == offered.tree_size
        && verify_consistency(
            held.tree_size,
            offered.tree_size,
            &held.root,
            &offered.root,
            &answer.proof,
        );
    if !proven {
        return Err(inconsistent());
    }
    Ok(Some(offered))
}

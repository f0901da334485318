//! Verified ingest of evidence records (being written), and the media check that
//! runs when a photo upload completes.

use crate::error::Result;
use crate::params;
use crate::storage::Tx;

/// Called in the transaction that completes a verified photo upload: every record
/// of that device describing these exact bytes now has its media verified.
pub fn photo_received(tx: &mut Tx, device_id: &str, sha256: &[u8; 32], size: u64) -> Result<()> {
    let _ = size; // the record's declared size is checked in the ingest step (next)
    tx.execute(
        "UPDATE evidence_records SET media_status = 'verified'
         WHERE device_id = $1 AND media_sha256 = $2 AND media_status = 'pending'",
        params![device_id, sha256],
    )?;
    Ok(())
}

//! Enrollment challenges: a fresh nonce the device signs with its key, so that
//! enrolling proves possession of the private key, not knowledge of the public
//! one. A nonce serves one enrollment and lives a few minutes; expired ones are
//! swept whenever a new one is made.

use crate::error::{Error, Result};
use crate::storage::Tx;
use crate::{now_ms, params, secrets};
use fieldproof_core::hex;
use fieldproof_core::wire::enrollment::EnrollChallenge;

/// How long a challenge may be answered: enough for a phone on 2G to sign and send.
pub const CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;

/// Makes a challenge.
pub fn issue(tx: &mut Tx) -> Result<EnrollChallenge> {
    let now = now_ms();
    tx.execute(
        "DELETE FROM enrollment_challenges WHERE expires_ms <= $1",
        params![now],
    )?;
    let nonce = secrets::random_bytes::<32>()?;
    let expires_ms = now + CHALLENGE_TTL_MS;
    tx.execute(
        "INSERT INTO enrollment_challenges (nonce, expires_ms) VALUES ($1, $2)",
        params![&nonce, expires_ms],
    )?;
    Ok(EnrollChallenge {
        nonce: hex::encode(&nonce),
        expires_ms,
    })
}

/// Spends the challenge `nonce` (hex): it must have been issued here and not
/// have expired. Spent in the enrollment's transaction, so a refused enrollment
/// leaves it to be answered again until it expires.
pub fn spend(tx: &mut Tx, nonce: &str) -> Result<[u8; 32]> {
    let nonce = hex::decode32(nonce).ok_or(Error::UnknownChallenge)?;
    let row = tx
        .query_opt(
            "DELETE FROM enrollment_challenges WHERE nonce = $1 RETURNING expires_ms",
            params![&nonce],
        )?
        .ok_or(Error::UnknownChallenge)?;
    if row.int(0)? <= now_ms() {
        return Err(Error::ChallengeExpired);
    }
    Ok(nonce)
}

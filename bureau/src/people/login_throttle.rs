//! Slowing down password guessing, per account and per client address, in the
//! database so every bureau process sees the same counts.
//!
//! An account may fail [`ACCOUNT_FREE_FAILURES`] times, an address
//! [`ADDRESS_FREE_FAILURES`] times (an office behind one NAT shares it); after
//! that each further attempt waits 30 s, doubling with every failure, up to
//! 15 minutes. An attempt made while waiting is refused without checking the
//! password and counts for nothing. Counts are forgotten after an hour without
//! a failure, and an account's on a successful login. Waiting, not locking: an
//! attacker can slow an account down but never lock its owner out for good.

use crate::error::{Error, Result};
use crate::storage::Tx;
use crate::{params, secrets};
use fieldproof_core::hex;
use std::net::IpAddr;
use std::time::Duration;

pub const ACCOUNT_FREE_FAILURES: i64 = 5;
pub const ADDRESS_FREE_FAILURES: i64 = 20;
const FIRST_WAIT_MS: i64 = 30_000;
const LONGEST_WAIT_MS: i64 = 15 * 60_000;
const FORGET_AFTER_MS: i64 = 60 * 60_000;

/// What failures are counted against: the account (by the SHA-256 of its
/// normalised username, so the table names no one) and the client's address.
#[derive(Debug, Clone)]
pub struct Attempt {
    account: String,
    address: Option<String>,
}

impl Attempt {
    pub fn new(username: &str, address: Option<IpAddr>) -> Self {
        let username = super::accounts::normalise_username(username);
        Self {
            account: format!(
                "account:{}",
                hex::encode(&secrets::sha256(username.as_bytes()))
            ),
            address: address.map(|ip| format!("address:{ip}")),
        }
    }

    fn subjects(&self) -> impl Iterator<Item = (&str, i64)> {
        std::iter::once((self.account.as_str(), ACCOUNT_FREE_FAILURES)).chain(
            self.address
                .as_deref()
                .map(|address| (address, ADDRESS_FREE_FAILURES)),
        )
    }
}

/// `login_throttled` with the longest wait, if the account or the address
/// must wait before trying again.
pub fn check(tx: &mut Tx, attempt: &Attempt, now_ms: i64) -> Result<()> {
    let mut wait_ms = 0;
    for (subject, free) in attempt.subjects() {
        let Some((failures, last_ms)) = failures(tx, subject, now_ms)? else {
            continue;
        };
        if failures >= free {
            let until = last_ms + wait_after(failures - free);
            wait_ms = wait_ms.max(until - now_ms);
        }
    }
    if wait_ms > 0 {
        return Err(Error::LoginThrottled {
            retry_after_s: Duration::from_millis(wait_ms as u64).as_secs().max(1),
        });
    }
    Ok(())
}

/// Counts a failed login against the account and the address.
pub fn record_failure(tx: &mut Tx, attempt: &Attempt, now_ms: i64) -> Result<()> {
    for (subject, _) in attempt.subjects() {
        let failures = failures(tx, subject, now_ms)?.map_or(0, |(n, _)| n) + 1;
        tx.execute(
            "INSERT INTO login_failures (subject, failures, last_failure_ms) VALUES ($1, $2, $3)
             ON CONFLICT (subject) DO UPDATE SET failures = $2, last_failure_ms = $3",
            params![subject, failures, now_ms],
        )?;
    }
    Ok(())
}

/// A successful login clears the account's count (not the address's: one
/// right password must not reset a guesser's count for everyone behind it).
pub fn record_success(tx: &mut Tx, attempt: &Attempt) -> Result<()> {
    tx.execute(
        "DELETE FROM login_failures WHERE subject = $1",
        params![&attempt.account],
    )?;
    Ok(())
}

/// The failures counted against `subject` and the last one's time, unless forgotten.
fn failures(tx: &mut Tx, subject: &str, now_ms: i64) -> Result<Option<(i64, i64)>> {
    let row = tx.query_opt(
        "SELECT failures, last_failure_ms FROM login_failures WHERE subject = $1",
        params![subject],
    )?;
    Ok(match row {
        Some(row) if now_ms - row.int(1)? < FORGET_AFTER_MS => Some((row.int(0)?, row.int(1)?)),
        _ => None,
    })
}

/// The wait after `beyond` failures past the free ones (0 → 30 s, 1 → 60 s, …).
fn wait_after(beyond: i64) -> i64 {
    let doublings = beyond.clamp(0, 20) as u32;
    FIRST_WAIT_MS
        .saturating_mul(1 << doublings)
        .min(LONGEST_WAIT_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_a_quarter_hour() {
        assert_eq!(wait_after(0), 30_000);
        assert_eq!(wait_after(1), 60_000);
        assert_eq!(wait_after(4), 480_000);
        assert_eq!(wait_after(5), LONGEST_WAIT_MS);
        assert_eq!(wait_after(i64::MAX), LONGEST_WAIT_MS);
    }

    #[test]
    fn the_account_subject_names_no_one() {
        let attempt = Attempt::new(" Zhang.Wei", Some("127.0.0.1".parse().unwrap()));
        assert!(!attempt.account.contains("zhang"));
        assert_eq!(attempt.account, Attempt::new("zhang.wei", None).account);
        assert_eq!(attempt.address.as_deref(), Some("address:127.0.0.1"));
    }
}

//! The people at the bureau: accounts with roles scoped to a jurisdiction
//! ([`accounts`]), who is asking and what they may see and do ([`access`]),
//! signed-in browsers ([`sessions`]), slowing down password guessing
//! ([`login_throttle`]), and the append-only record of who did what ([`audit`]).
//! The admin token stays beside them, for automation and the first admin.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod login_throttle;
pub mod sessions;

pub use access::{Actor, Grant, Scope, StaffRole};
pub use accounts::{NewStaffUser, StaffUser};

use crate::error::{Error, Result};
use crate::storage::{Database, Tx};
use login_throttle::Attempt;
use serde_json::json;
use sessions::{Lifetime, Session};

/// Disables an account and ends its sessions, in one transaction.
pub fn disable_account(tx: &mut Tx, user_id: &str, now_ms: i64) -> Result<StaffUser> {
    let user = accounts::disable(tx, user_id, now_ms)?;
    sessions::end_all(tx, user_id, now_ms)?;
    Ok(user)
}

/// Signs `username` in: checks the throttle, the password (argon2, outside any
/// transaction), then starts a session and records it in the audit log. A
/// wrong password (or unknown or disabled account) is counted and answered
/// `login_failed`; while the account or address must wait, `login_throttled`
/// without checking the password. Returns the session's token and the session.
pub fn sign_in(
    db: &Database,
    attempt: &Attempt,
    username: &str,
    password: &str,
    lifetime: Lifetime,
    now_ms: i64,
) -> Result<(String, Session)> {
    db.read(|tx| login_throttle::check(tx, attempt, now_ms))?;
    let found = db.read(|tx| accounts::find_for_login(tx, username))?;
    let stored = found.as_ref().map(|(_, hash)| hash.as_str());
    match found.as_ref() {
        Some((user_id, _)) if accounts::verify_password(stored, password) => db.write(|tx| {
            login_throttle::record_success(tx, attempt)?;
            let (token, session) = sessions::start(tx, user_id, lifetime, now_ms)?;
            audit::record(
                tx,
                &session.actor(),
                audit::action::LOGIN,
                user_id,
                None,
                json!({}),
            )?;
            Ok((token, session))
        }),
        _ => {
            db.write(|tx| login_throttle::record_failure(tx, attempt, now_ms))?;
            Err(Error::LoginFailed)
        }
    }
}

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

use crate::error::Result;
use crate::storage::Tx;

/// Disables an account and ends its sessions, in one transaction.
pub fn disable_account(tx: &mut Tx, user_id: &str, now_ms: i64) -> Result<StaffUser> {
    let user = accounts::disable(tx, user_id, now_ms)?;
    sessions::end_all(tx, user_id, now_ms)?;
    Ok(user)
}

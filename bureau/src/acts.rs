//! What staff do, each act checked against the actor's grants and written to
//! the audit log in the same transaction as the change: it is recorded if and
//! only if it happened. The API and the console both call these, so who may
//! do what is decided here once, not per screen.
//!
//! Checks come before the first write; a refused act changes nothing.

use crate::cases::inspections::{self, Decision, InspectionCase};
use crate::cases::legal_review::{self, LegalDecision};
use crate::cases::tasks::{self, NewTask, Task};
use crate::config::FireSettings;
use crate::enrollment::{self, Device, EnrollmentCode, Role};
use crate::error::{Error, Result};
use crate::people::accounts::{self, NewStaffUser, StaffUser};
use crate::people::audit::{self, action};
use crate::people::{Actor, Scope, StaffRole};
use crate::storage::Tx;
use serde_json::{json, Value};

/// Checks that `actor` holds `role` over inspection `id` and records `what`.
fn on_inspection(
    tx: &mut Tx,
    actor: &Actor,
    role: StaffRole,
    id: &str,
    what: &str,
    detail: Value,
) -> Result<()> {
    let jurisdiction = inspections::jurisdiction_of(tx, id)?;
    actor.require(role, &jurisdiction, "inspection")?;
    audit::record(tx, actor, what, id, Some(&jurisdiction), detail)
}

/// A reviewer accepts (perhaps marking for penalty) or returns an inspection.
pub fn review(
    tx: &mut Tx,
    actor: &Actor,
    id: &str,
    decision: Decision,
    comment: Option<&str>,
    penalty: bool,
    fires: &FireSettings,
) -> Result<InspectionCase> {
    let detail = json!({ "decision": decision.status().code(), "penalty": penalty });
    on_inspection(tx, actor, StaffRole::Reviewer, id, action::REVIEW, detail)?;
    inspections::review(tx, id, decision, comment, penalty, fires)
}

/// A legal reviewer approves or sends back a case marked for penalty.
pub fn legal_review(
    tx: &mut Tx,
    actor: &Actor,
    id: &str,
    decision: LegalDecision,
    comment: Option<&str>,
    fires: &FireSettings,
) -> Result<InspectionCase> {
    let detail = json!({ "decision": decision.status().code() });
    on_inspection(
        tx,
        actor,
        StaffRole::LegalReviewer,
        id,
        action::LEGAL_REVIEW,
        detail,
    )?;
    legal_review::legal_review(tx, id, decision, comment, fires)
}

/// A reviewer adds an officer to a case (a joint inspection).
pub fn assign_officer(
    tx: &mut Tx,
    actor: &Actor,
    id: &str,
    officer_id: &str,
    fires: &FireSettings,
) -> Result<InspectionCase> {
    let detail = json!({ "officer_id": officer_id });
    on_inspection(
        tx,
        actor,
        StaffRole::Reviewer,
        id,
        action::ASSIGN_OFFICER,
        detail,
    )?;
    inspections::assign_officer(tx, id, officer_id, fires)
}

/// A dispatcher sends a task to a jurisdiction they dispatch for.
pub fn create_task(tx: &mut Tx, actor: &Actor, new: &NewTask) -> Result<Task> {
    enrollment::check_jurisdiction(&new.jurisdiction)?;
    actor.require(StaffRole::Dispatcher, &new.jurisdiction, "jurisdiction")?;
    let task = tasks::create(tx, new)?;
    audit::record(
        tx,
        actor,
        action::TASK_CREATE,
        &task.id,
        Some(&new.jurisdiction),
        json!({}),
    )?;
    Ok(task)
}

/// Who an enrollment code is for: an officer by id, or by name (created if new).
pub enum OfficerRef<'a> {
    Id(&'a str),
    Name(&'a str),
}

/// An admin issues a one-time enrollment code for a device in their jurisdiction.
/// The entry names the officer and expiry, never the code.
pub fn issue_enrollment_code(
    tx: &mut Tx,
    actor: &Actor,
    officer: OfficerRef,
    jurisdiction: &str,
    role: Role,
    ttl_ms: i64,
) -> Result<EnrollmentCode> {
    enrollment::check_jurisdiction(jurisdiction)?;
    actor.require(StaffRole::Admin, jurisdiction, "jurisdiction")?;
    let officer_id = match officer {
        OfficerRef::Id(id) => id.to_owned(),
        OfficerRef::Name(name) => enrollment::find_or_create_officer(tx, name)?.id,
    };
    let code = enrollment::create_enrollment_code(tx, &officer_id, jurisdiction, role, ttl_ms)?;
    let detail =
        json!({ "officer_id": code.officer_id, "role": code.role, "expires_ms": code.expires_ms });
    audit::record(
        tx,
        actor,
        action::ENROLLMENT_CODE,
        &code.officer_id,
        Some(jurisdiction),
        detail,
    )?;
    Ok(code)
}

/// An admin revokes a device of their jurisdiction. Revoking twice changes
/// nothing and records nothing.
pub fn revoke_device(tx: &mut Tx, actor: &Actor, id: &str) -> Result<Device> {
    let device = enrollment::find_device(tx, id)?;
    actor.require(StaffRole::Admin, &device.jurisdiction, "device")?;
    if device.revoked_ms.is_some() {
        return Ok(device);
    }
    audit::record(
        tx,
        actor,
        action::DEVICE_REVOKE,
        id,
        Some(&device.jurisdiction),
        json!({}),
    )?;
    enrollment::revoke_device(tx, id)
}

/// Whether an admin over `scope` manages `user`: every role it holds is within.
pub fn manages(scope: &Scope, user: &StaffUser) -> bool {
    user.grants.iter().all(|g| scope.covers(&g.jurisdiction))
}

/// An admin creates an account with roles only where they are admin. The
/// password was hashed beforehand ([`accounts::hash_password`]: slow, so
/// outside the transaction).
pub fn create_user(
    tx: &mut Tx,
    actor: &Actor,
    new: &NewStaffUser,
    password_hash: &str,
) -> Result<StaffUser> {
    check_new_user(actor, new)?;
    let user = accounts::create(tx, new, password_hash)?;
    let place = user.grants.first().map(|g| g.jurisdiction.clone());
    let detail = json!({ "grants": user.grants });
    audit::record(
        tx,
        actor,
        action::USER_CREATE,
        &user.id,
        place.as_deref(),
        detail,
    )?;
    Ok(user)
}

/// The checks of [`create_user`] that need no database: run them before
/// spending the time to hash the password.
pub fn check_new_user(actor: &Actor, new: &NewStaffUser) -> Result<()> {
    actor.require_role(StaffRole::Admin)?;
    accounts::check_grants(&new.grants)?;
    let admin_over = actor.scope_for(StaffRole::Admin);
    if new
        .grants
        .iter()
        .all(|g| admin_over.covers(&g.jurisdiction))
    {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// An admin disables an account they manage; its sessions end.
pub fn disable_user(tx: &mut Tx, actor: &Actor, id: &str, now_ms: i64) -> Result<StaffUser> {
    actor.require_role(StaffRole::Admin)?;
    let user = accounts::get(tx, id)?;
    if !manages(&actor.scope_for(StaffRole::Admin), &user) {
        return Err(Error::NotFound { what: "user" });
    }
    let place = user.grants.first().map(|g| g.jurisdiction.clone());
    audit::record(
        tx,
        actor,
        action::USER_DISABLE,
        id,
        place.as_deref(),
        json!({}),
    )?;
    crate::people::disable_account(tx, id, now_ms)
}

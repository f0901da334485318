//! Admin API, officers and devices: officers, enrollment codes, device
//! revocation. Each takes an admin over the jurisdiction concerned (or the
//! admin token); codes and revocations go in the audit log.

use super::{blocking, ApiResult, Json, Staff, State};
use crate::acts::{self, OfficerRef};
use crate::enrollment::{self, Device, EnrollmentCode, Officer};
use crate::error::Error;
use crate::parse_id;
use crate::people::StaffRole;
use axum::extract::{Path, State as Extract};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use fieldproof_core::wire::admin::{NewEnrollmentCode, NewOfficer};

pub fn routes() -> Router<State> {
    Router::new()
        .route(
            "/v1/admin/officers",
            get(list_officers).post(create_officer),
        )
        .route("/v1/admin/enrollment-codes", post(create_enrollment_code))
        .route("/v1/admin/devices", get(list_devices))
        .route("/v1/admin/devices/{id}/revoke", post(revoke_device))
}

async fn create_officer(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Json(new): Json<NewOfficer>,
) -> ApiResult<(StatusCode, axum::Json<Officer>)> {
    actor.require_role(StaffRole::Admin)?;
    let officer = blocking(&state, move |b| {
        b.db.write(|tx| enrollment::create_officer(tx, &new.name))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(officer)))
}

async fn list_officers(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
) -> ApiResult<axum::Json<Vec<Officer>>> {
    actor.require_role(StaffRole::Admin)?;
    let officers = blocking(&state, |b| b.db.read(enrollment::list_officers)).await?;
    Ok(axum::Json(officers))
}

async fn create_enrollment_code(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Json(new): Json<NewEnrollmentCode>,
) -> ApiResult<(StatusCode, axum::Json<EnrollmentCode>)> {
    let role = enrollment::parse_role(&new.role)?;
    let officer_id = new
        .officer_id
        .as_deref()
        .map(|id| parse_id(id, "officer id"))
        .transpose()?;
    let code = blocking(&state, move |b| {
        let ttl_ms = b.limits.enrollment_code_ttl_s as i64 * 1000;
        let officer = match (&officer_id, &new.officer_name) {
            (Some(id), None) => OfficerRef::Id(id),
            (None, Some(name)) => OfficerRef::Name(name),
            _ => {
                return Err(Error::InvalidRequest {
                    reason: "give exactly one of officer_id and officer_name".into(),
                })
            }
        };
        b.db.write(|tx| {
            acts::issue_enrollment_code(tx, &actor, officer, &new.jurisdiction, role, ttl_ms)
        })
    })
    .await?;
    let code = EnrollmentCode {
        tls_pin: state.tls.as_ref().map(|tls| tls.pin().to_owned()),
        ..code
    };
    Ok((StatusCode::CREATED, axum::Json(code)))
}

/// The devices of the jurisdictions the asker is admin of.
async fn list_devices(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
) -> ApiResult<axum::Json<Vec<Device>>> {
    actor.require_role(StaffRole::Admin)?;
    let admin_over = actor.scope_for(StaffRole::Admin);
    let devices = blocking(&state, |b| b.db.read(enrollment::list_devices)).await?;
    Ok(axum::Json(
        devices
            .into_iter()
            .filter(|d| admin_over.covers(&d.jurisdiction))
            .collect(),
    ))
}

async fn revoke_device(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Device>> {
    let id = parse_id(&id, "device id")?;
    let device = blocking(&state, move |b| {
        b.db.write(|tx| acts::revoke_device(tx, &actor, &id))
    })
    .await?;
    Ok(axum::Json(device))
}

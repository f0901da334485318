//! Admin API, people and devices: officers, enrollment codes, device revocation.
//! Every route takes the admin token.

use super::{blocking, AdminAuth, ApiResult, Json, State};
use crate::enrollment::{self, Device, EnrollmentCode, Officer};
use crate::error::Error;
use crate::parse_id;
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
    _: AdminAuth,
    Extract(state): Extract<State>,
    Json(new): Json<NewOfficer>,
) -> ApiResult<(StatusCode, axum::Json<Officer>)> {
    let officer = blocking(&state, move |b| {
        b.db.write(|tx| enrollment::create_officer(tx, &new.name))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(officer)))
}

async fn list_officers(
    _: AdminAuth,
    Extract(state): Extract<State>,
) -> ApiResult<axum::Json<Vec<Officer>>> {
    let officers = blocking(&state, |b| b.db.read(enrollment::list_officers)).await?;
    Ok(axum::Json(officers))
}

async fn create_enrollment_code(
    _: AdminAuth,
    Extract(state): Extract<State>,
    Json(new): Json<NewEnrollmentCode>,
) -> ApiResult<(StatusCode, axum::Json<EnrollmentCode>)> {
    let role = enrollment::parse_role(&new.role)?;
    let code = blocking(&state, move |b| {
        let ttl_ms = b.limits.enrollment_code_ttl_s as i64 * 1000;
        b.db.write(|tx| {
            let officer_id = match (new.officer_id, new.officer_name) {
                (Some(id), None) => parse_id(&id, "officer id")?,
                (None, Some(name)) => enrollment::find_or_create_officer(tx, &name)?.id,
                _ => {
                    return Err(Error::InvalidRequest {
                        reason: "give exactly one of officer_id and officer_name".into(),
                    })
                }
            };
            enrollment::create_enrollment_code(tx, &officer_id, &new.jurisdiction, role, ttl_ms)
        })
    })
    .await?;
    let code = EnrollmentCode {
        tls_pin: state.tls.as_ref().map(|tls| tls.pin().to_owned()),
        ..code
    };
    Ok((StatusCode::CREATED, axum::Json(code)))
}

async fn list_devices(
    _: AdminAuth,
    Extract(state): Extract<State>,
) -> ApiResult<axum::Json<Vec<Device>>> {
    let devices = blocking(&state, |b| b.db.read(enrollment::list_devices)).await?;
    Ok(axum::Json(devices))
}

async fn revoke_device(
    _: AdminAuth,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Device>> {
    let id = parse_id(&id, "device id")?;
    let device = blocking(&state, move |b| {
        b.db.write(|tx| enrollment::revoke_device(tx, &id))
    })
    .await?;
    Ok(axum::Json(device))
}

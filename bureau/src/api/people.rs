//! Staff API: signing in and out (`/v1/session`), accounts (`/v1/admin/users`)
//! and the audit log (`/v1/admin/audit`). The checks are the domain's
//! ([`crate::people`]); this maps them to HTTP, cookies included.

use super::auth::{check_csrf, failed, session_cookie, ClientIp, SignedIn, Staff};
use super::cases::query;
use super::{blocking, ApiResult, Json, State};
use crate::acts;
use crate::cases::page_size;
use crate::error::Error;
use crate::now_ms;
use crate::parse_id;
use crate::people::accounts::{self, NewStaffUser, StaffUser};
use crate::people::audit::{self, AuditEntry};
use crate::people::login_throttle::Attempt;
use crate::people::sessions::{self, Session};
use crate::people::StaffRole;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fieldproof_core::wire::admin::{Login, Page, SessionInfo};
use serde::Deserialize;
use serde_json::json;

/// The most entries one CSV export holds; continue with `cursor`.
const MAX_CSV_ENTRIES: usize = 10_000;

pub fn routes() -> Router<State> {
    Router::new()
        .route(
            "/v1/session",
            get(current_session).post(login).delete(logout),
        )
        .route("/v1/admin/users", get(list_users).post(create_user))
        .route("/v1/admin/users/{id}/disable", post(disable_user))
        .route("/v1/admin/audit", get(list_audit))
        .route("/v1/admin/audit/verify", get(verify_audit))
}

/// `POST /v1/session`: the session cookie and the CSRF token, or
/// `login_failed` (one answer for an unknown user, a wrong password and a
/// disabled account) or `login_throttled`.
async fn login(
    Extract(state): Extract<State>,
    ClientIp(address): ClientIp,
    Json(login): Json<Login>,
) -> ApiResult<Response> {
    let attempt = Attempt::new(&login.username, address);
    let lifetime = state.session_lifetime();
    let signed_in = blocking(&state, move |b| {
        let (username, password) = (&login.username, &login.password);
        crate::people::sign_in(&b.db, &attempt, username, password, lifetime, now_ms())
    })
    .await;
    let (token, session) = match signed_in {
        Ok(signed_in) => signed_in,
        // Failed logins also count towards the address's failed authentications.
        Err(Error::LoginFailed) => return Err(failed(&state, address, Error::LoginFailed)),
        Err(other) => return Err(other.into()),
    };
    let cookie = session_cookie(&state, Some(&token));
    let mut response = axum::Json(session_info(session)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `GET /v1/session`: who is signed in, and the CSRF token (for a page that
/// was loaded before).
async fn current_session(signed_in: SignedIn) -> axum::Json<SessionInfo> {
    axum::Json(session_info(signed_in.session))
}

/// `DELETE /v1/session`: logout; the cookie is cleared and its token opens
/// nothing any more.
async fn logout(
    Extract(state): Extract<State>,
    signed_in: SignedIn,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_csrf(&headers, &signed_in.session)?;
    let token = signed_in.token;
    blocking(&state, move |b| {
        b.db.write(|tx| sessions::end(tx, &token, now_ms()))
    })
    .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cleared = session_cookie(&state, None);
    response.headers_mut().insert(header::SET_COOKIE, cleared);
    Ok(response)
}

fn session_info(session: Session) -> SessionInfo {
    SessionInfo {
        user: session.user,
        csrf_token: session.csrf_token,
        expires_ms: session.expires_ms,
    }
}

/// `POST /v1/admin/users`: an admin may grant roles only where they are admin.
async fn create_user(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Json(new): Json<NewStaffUser>,
) -> ApiResult<(StatusCode, axum::Json<StaffUser>)> {
    acts::check_new_user(&actor, &new)?;
    let user = blocking(&state, move |b| {
        let hash = accounts::hash_password(&new.password)?;
        b.db.write(|tx| acts::create_user(tx, &actor, &new, &hash))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// `GET /v1/admin/users`: the accounts holding a role where the asker is admin.
async fn list_users(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
) -> ApiResult<axum::Json<Vec<StaffUser>>> {
    actor.require_role(StaffRole::Admin)?;
    let admin_over = actor.scope_for(StaffRole::Admin);
    let users = blocking(&state, |b| b.db.read(accounts::list)).await?;
    Ok(axum::Json(
        users
            .into_iter()
            .filter(|user| acts::manages(&admin_over, user))
            .collect(),
    ))
}

/// `POST /v1/admin/users/{id}/disable`: the account's sessions end at once.
async fn disable_user(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<StaffUser>> {
    let id = parse_id(&id, "user id")?;
    let user = blocking(&state, move |b| {
        b.db.write(|tx| acts::disable_user(tx, &actor, &id, now_ms()))
    })
    .await?;
    Ok(axum::Json(user))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    cursor: Option<String>,
    limit: Option<usize>,
    format: Option<String>,
}

/// `GET /v1/admin/audit`: newest first, a page at a time (`cursor` is the
/// previous page's `next_cursor`); `format=csv` answers a CSV file of up to
/// 10,000 entries.
async fn list_audit(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    params: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let q = query(params, "cursor, limit (a number), format (json or csv)")?;
    actor.require_role(StaffRole::Admin)?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(Error::InvalidRequest {
                reason: "format: json or csv".into(),
            }
            .into())
        }
    };
    let limit = match (csv, q.limit) {
        (true, None) => MAX_CSV_ENTRIES,
        (true, Some(n)) if (1..=MAX_CSV_ENTRIES).contains(&n) => n,
        (true, Some(_)) => {
            return Err(Error::InvalidRequest {
                reason: format!("limit must be 1 to {MAX_CSV_ENTRIES}"),
            }
            .into())
        }
        (false, limit) => page_size(limit)?,
    };
    let scope = actor.scope_for(StaffRole::Admin);
    let page: Page<AuditEntry> = blocking(&state, move |b| {
        b.db.read(|tx| audit::list(tx, &scope, q.cursor.as_deref(), limit))
    })
    .await?;
    if !csv {
        return Ok(axum::Json(page).into_response());
    }
    let mut body = Vec::new();
    audit::write_csv(&page.items, &mut body)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit-log.csv\""),
    );
    Ok(response)
}

/// `GET /v1/admin/audit/verify`: the whole chain recomputed; `{entries}`, or
/// `audit_log_inconsistent` naming the first entry that no longer matches.
async fn verify_audit(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    actor.require_everywhere(StaffRole::Admin)?;
    let entries = blocking(&state, |b| b.db.read(audit::verify)).await?;
    Ok(axum::Json(json!({ "entries": entries })))
}

//! Admin API, cases: received inspections and their review, tasks, and reference
//! data (jurisdiction boundaries, checklist templates). Staff see what lies
//! within their grants and act where they hold the role (`crate::people`);
//! bureau-wide reference data takes the admin token.

use super::{blocking, parse_json, read_json_body, ApiResult, Json, Staff, State};
use crate::acts;
use crate::cases::inspections::{
    self, Decision, InspectionCase, InspectionFilter, InspectionSummary, ReviewStatus,
};
use crate::cases::legal_review::LegalDecision;
use crate::cases::reference_data::{
    self, BoundaryLoad, ChecklistPublication, PublishedChecklist, StoredBoundary,
};
use crate::cases::tasks::{self, NewTask, Task, TaskFilter};
use crate::cases::Page;
use crate::error::Error;
use crate::parse_id;
use crate::people::StaffRole;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State as Extract};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::wire::admin::{LegalReviewRequest, OfficerAssignment, ReviewRequest};
use fieldproof_core::wire::fires::DispatchedTask;
use serde::de::DeserializeOwned;
use serde::Deserialize;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/v1/admin/inspections", get(list_inspections))
        .route("/v1/admin/inspections/{id}", get(get_inspection))
        .route("/v1/admin/inspections/{id}/review", post(review_inspection))
        .route(
            "/v1/admin/inspections/{id}/legal-review",
            post(legal_review),
        )
        .route("/v1/admin/inspections/{id}/officers", post(assign_officer))
        .route("/v1/admin/tasks", get(list_tasks).post(create_task))
        .route(
            "/v1/admin/boundaries",
            get(list_boundaries).post(load_boundaries),
        )
        .route(
            "/v1/admin/checklists",
            get(list_checklists).post(publish_checklist),
        )
}

/// Query parameters, unknown ones refused with our own error body (axum's
/// rejection would answer in plain text).
pub(super) fn query<T>(query: Result<Query<T>, QueryRejection>, allowed: &str) -> Result<T, Error> {
    query.map(|Query(q)| q).map_err(|_| Error::InvalidRequest {
        reason: format!("query parameters: {allowed}"),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectionQuery {
    jurisdiction: Option<String>,
    status: Option<String>,
    legal_status: Option<String>,
    matter: Option<String>,
    evidence: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    q: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list_inspections(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    params: Result<Query<InspectionQuery>, QueryRejection>,
) -> ApiResult<axum::Json<Page<InspectionSummary>>> {
    let q = query(
        params,
        "jurisdiction, status, legal_status, matter, evidence, from and to (UTC ms), q, limit (a number), cursor",
    )?;
    let filter = InspectionFilter {
        jurisdiction: q.jurisdiction,
        status: q.status.as_deref().map(ReviewStatus::parse).transpose()?,
        legal_status: q.legal_status,
        matter: q.matter,
        evidence: q
            .evidence
            .as_deref()
            .map(inspections::parse_evidence)
            .transpose()?,
        received_from_ms: q.from,
        received_to_ms: q.to,
        text: q.q,
        limit: q.limit,
        cursor: q.cursor,
        ..InspectionFilter::within(actor.scope())
    };
    let page = blocking(&state, move |b| {
        b.db.read(|tx| inspections::list(tx, &filter))
    })
    .await?;
    Ok(axum::Json(page))
}

/// The responsible party is left out for readers whose role does not decide on
/// the case.
async fn get_inspection(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<InspectionCase>> {
    let id = parse_id(&id, "inspection id")?;
    let case = blocking(&state, move |b| {
        b.db.read(|tx| {
            let jurisdiction = inspections::jurisdiction_of(tx, &id)?;
            if !actor.may_see(&jurisdiction) {
                return Err(Error::NotFound { what: "inspection" });
            }
            let case = inspections::get(tx, &id, &b.fires)?;
            Ok(match actor.may_see_personal_data(&jurisdiction) {
                true => case,
                false => inspections::without_personal_data(case),
            })
        })
    })
    .await?;
    Ok(axum::Json(case))
}

async fn review_inspection(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
    Json(request): Json<ReviewRequest>,
) -> ApiResult<axum::Json<InspectionCase>> {
    let id = parse_id(&id, "inspection id")?;
    let decision = Decision::parse(&request.decision)?;
    let case = blocking(&state, move |b| {
        let comment = request.comment.as_deref();
        b.db.write(|tx| {
            acts::review(
                tx,
                &actor,
                &id,
                decision,
                comment,
                request.penalty,
                &b.fires,
            )
        })
    })
    .await?;
    Ok(axum::Json(case))
}

/// Only a legal reviewer of the case's jurisdiction decides.
async fn legal_review(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
    Json(request): Json<LegalReviewRequest>,
) -> ApiResult<axum::Json<InspectionCase>> {
    let id = parse_id(&id, "inspection id")?;
    let decision = LegalDecision::parse(&request.decision)?;
    let case = blocking(&state, move |b| {
        let comment = request.comment.as_deref();
        b.db.write(|tx| acts::legal_review(tx, &actor, &id, decision, comment, &b.fires))
    })
    .await?;
    Ok(axum::Json(case))
}

async fn assign_officer(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
    Json(request): Json<OfficerAssignment>,
) -> ApiResult<axum::Json<InspectionCase>> {
    let id = parse_id(&id, "inspection id")?;
    let officer_id = parse_id(&request.officer_id, "officer_id")?;
    let case = blocking(&state, move |b| {
        b.db.write(|tx| acts::assign_officer(tx, &actor, &id, &officer_id, &b.fires))
    })
    .await?;
    Ok(axum::Json(case))
}

async fn create_task(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    Json(new): Json<NewTask>,
) -> ApiResult<(StatusCode, axum::Json<Task>)> {
    let task = blocking(&state, move |b| {
        b.db.write(|tx| acts::create_task(tx, &actor, &new))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(task)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskQuery {
    jurisdiction: Option<String>,
    state: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list_tasks(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    params: Result<Query<TaskQuery>, QueryRejection>,
) -> ApiResult<axum::Json<Page<DispatchedTask>>> {
    let q = query(params, "jurisdiction, state, limit (a number), cursor")?;
    let filter = TaskFilter {
        scope: actor.scope(),
        jurisdiction: q.jurisdiction,
        state: q.state.as_deref().map(tasks::parse_state).transpose()?,
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = blocking(&state, move |b| {
        b.db.read(|tx| tasks::list(tx, &filter, &b.fires))
    })
    .await?;
    Ok(axum::Json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoundaryQuery {
    datum: Option<String>,
}

/// The body is the GeoJSON document itself (up to `max_reference_bytes`); its
/// datum is a required query parameter, never guessed.
async fn load_boundaries(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    params: Result<Query<BoundaryQuery>, QueryRejection>,
    request: Request,
) -> ApiResult<axum::Json<BoundaryLoad>> {
    actor.require_everywhere(StaffRole::Admin)?;
    let q = query(params, "datum (wgs84, gcj02 or bd09)")?;
    let datum = q.datum.ok_or_else(|| Error::InvalidRequest {
        reason: "say which datum the boundaries are in: ?datum=wgs84, gcj02 or bd09".into(),
    })?;
    let datum = Datum::from_code(&datum).ok_or(Error::UnknownDatum)?;
    let bytes = read_json_body(request, state.limits.max_reference_bytes).await?;
    let load = blocking(&state, move |b| {
        let boundaries = reference_data::parse_boundaries(&bytes, datum)?;
        drop(bytes);
        b.db.write(|tx| reference_data::store_boundaries(tx, datum, &boundaries))
    })
    .await?;
    Ok(axum::Json(load))
}

/// Boundaries are public reference data: any staff member may read them (the map).
async fn list_boundaries(
    _: Staff,
    Extract(state): Extract<State>,
) -> ApiResult<axum::Json<Vec<StoredBoundary>>> {
    let list = blocking(&state, |b| b.db.read(reference_data::list_boundaries)).await?;
    Ok(axum::Json(list))
}

/// `{template, matter?, jurisdiction?}`, up to `max_reference_bytes`. JSON that
/// does not parse is `malformed_json`; JSON that is not a checklist template is
/// `invalid_template`.
async fn publish_checklist(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    request: Request,
) -> ApiResult<(StatusCode, axum::Json<PublishedChecklist>)> {
    actor.require_role(StaffRole::Admin)?;
    let bytes = read_json_body(request, state.limits.max_reference_bytes).await?;
    let publication: ChecklistPublication = parse_template(&bytes)?;
    // A checklist for one jurisdiction takes its admin; one for all, the admin token.
    match &publication.jurisdiction {
        Some(code) => actor.require(StaffRole::Admin, code, "jurisdiction")?,
        None => actor.require_everywhere(StaffRole::Admin)?,
    }
    let published = blocking(&state, move |b| {
        b.db.write(|tx| reference_data::publish_checklist(tx, &publication))
    })
    .await?;
    let status = if published.unchanged {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(published)))
}

fn parse_template<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(e) if e.is_data() => Err(Error::InvalidTemplate {
            // Position only: serde's message can quote the offending input.
            reason: format!(
                "not a checklist publication {{template, matter?, jurisdiction?}} (line {} column {})",
                e.line(),
                e.column()
            ),
        }),
        Err(_) => parse_json(bytes),
    }
}

async fn list_checklists(
    _: Staff,
    Extract(state): Extract<State>,
) -> ApiResult<axum::Json<Vec<PublishedChecklist>>> {
    let list = blocking(&state, |b| b.db.read(reference_data::list_checklists)).await?;
    Ok(axum::Json(list))
}

//! Admin API, satellite fire points: FIRMS files in, the reference data the
//! filters use (static heat sources, key zones), and the figures. Imports and
//! reference data are bureau-wide (the admin token); the figures are for any
//! staff member, within what they may see.

use super::cases::query;
use super::{blocking, read_json_body, ApiResult, Staff, State};
use crate::cases::fire_reference;
use crate::error::{Error, Result};
use crate::fires::spool::SpoolFile;
use crate::fires::stats;
use crate::now_ms;
use crate::people::StaffRole;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State as Extract};
use axum::http::header;
use axum::routing::{get, post};
use axum::Router;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::wire::fires::{FireImport, FireStats, ReferenceLoad, StaticSourceList};
use http_body_util::BodyExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

/// The figures cover the last 30 days when the request names no period.
const DEFAULT_STATS_DAYS: i64 = 30;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/v1/admin/fires", post(import_fires))
        .route("/v1/admin/fires/stats", get(fire_stats))
        .route("/v1/admin/fires/static-sources", post(load_static_sources))
        .route("/v1/admin/fires/key-zones", post(load_key_zones))
}

/// The body is the FIRMS CSV itself (`text/csv`, up to `max_reference_bytes`),
/// spooled to disk as it arrives and imported from there in one transaction.
async fn import_fires(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    request: Request,
) -> ApiResult<axum::Json<FireImport>> {
    actor.require_everywhere(StaffRole::Admin)?;
    let is_csv = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/csv"));
    if !is_csv {
        return Err(Error::UnsupportedContentType {
            expected: "text/csv",
        }
        .into());
    }
    let spooled = spool(&state, request.into_body()).await?;
    let import = blocking(&state, move |b| spooled.import(b)).await?;
    Ok(axum::Json(import))
}

/// Writes a request body to a spool file, refusing it past the limit.
async fn spool(state: &State, mut body: Body) -> Result<SpoolFile> {
    let limit = state.limits.max_reference_bytes;
    let (spooled, file) = blocking(state, SpoolFile::create).await?;
    let mut file = tokio::fs::File::from_std(file);
    let mut written = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if super::caused_by::<tower_http::timeout::TimeoutError>(&e) {
                Error::BodyTimeout
            } else {
                Error::InvalidRequest {
                    reason: "the request body could not be read".into(),
                }
            }
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        written += data.len() as u64;
        if written > limit {
            return Err(Error::BodyTooLarge { limit });
        }
        file.write_all(&data).await?;
    }
    file.flush().await?;
    Ok(spooled)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsQuery {
    jurisdiction: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

/// `from` and `to` are UTC milliseconds; by default the last 30 days.
async fn fire_stats(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    params: Result<Query<StatsQuery>, QueryRejection>,
) -> ApiResult<axum::Json<FireStats>> {
    let q = query(params, "jurisdiction, from and to (UTC milliseconds)")?;
    let now = now_ms();
    let to = q.to.unwrap_or(now);
    let from = q.from.unwrap_or(to - DEFAULT_STATS_DAYS * 86_400_000);
    let jurisdiction = actor.figures_for(q.jurisdiction)?;
    let figures = blocking(&state, move |b| {
        b.db.read(|tx| stats::stats(tx, jurisdiction.as_deref(), from, to, now))
    })
    .await?;
    Ok(axum::Json(figures))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatumQuery {
    datum: Option<String>,
}

/// The datum of reference data: required, never guessed.
fn datum(params: Result<Query<DatumQuery>, QueryRejection>) -> Result<Datum> {
    let q = query(params, "datum (wgs84, gcj02 or bd09)")?;
    let datum = q.datum.ok_or_else(|| Error::InvalidRequest {
        reason: "say which datum the places are in: ?datum=wgs84, gcj02 or bd09".into(),
    })?;
    Datum::from_code(&datum).ok_or(Error::UnknownDatum)
}

/// `{"sources": [{id, name, lat, lon, radius_m}]}`.
async fn load_static_sources(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    params: Result<Query<DatumQuery>, QueryRejection>,
    request: Request,
) -> ApiResult<axum::Json<ReferenceLoad>> {
    actor.require_everywhere(StaffRole::Admin)?;
    let datum = datum(params)?;
    let bytes = read_json_body(request, state.limits.max_reference_bytes).await?;
    let list: StaticSourceList = super::parse_json(&bytes)?;
    let load = blocking(&state, move |b| {
        let sources = fire_reference::parse_static_sources(&list, datum)?;
        b.db.write(|tx| fire_reference::store_static_sources(tx, &sources))
    })
    .await?;
    Ok(axum::Json(load))
}

/// A GeoJSON FeatureCollection of key zones (see `fire_reference`).
async fn load_key_zones(
    Staff(actor): Staff,
    Extract(state): Extract<State>,
    params: Result<Query<DatumQuery>, QueryRejection>,
    request: Request,
) -> ApiResult<axum::Json<ReferenceLoad>> {
    actor.require_everywhere(StaffRole::Admin)?;
    let datum = datum(params)?;
    let bytes = read_json_body(request, state.limits.max_reference_bytes).await?;
    let load = blocking(&state, move |b| {
        let zones = fire_reference::parse_key_zones(&bytes, datum)?;
        b.db.write(|tx| fire_reference::store_key_zones(tx, &zones))
    })
    .await?;
    Ok(axum::Json(load))
}

//! What the console's map shows within a reader's scope: received inspections
//! at their sites, tasks with a place, and recent patrol tracks. Read in a few
//! bounded queries: the map is a picture of the newest work, not an archive.

use super::{jurisdiction_conditions, where_clause};
use crate::error::Result;
use crate::people::Scope;
use crate::storage::{Tx, Value};
use fieldproof_core::evidence::track_seal::SealedFix;
use fieldproof_core::geo::datum::LatLon;

/// A place on the map and what is there.
#[derive(Debug, Clone)]
pub struct MapPoint {
    pub id: String,
    pub at: LatLon,
    /// `inspection` or `task`.
    pub kind: &'static str,
    /// A status code (review status, task state).
    pub status: String,
    pub jurisdiction: String,
}

/// The newest `limit` inspections and open tasks with a place, within `scope`.
pub fn points(tx: &mut Tx, scope: &Scope, limit: usize) -> Result<Vec<MapPoint>> {
    let mut points = Vec::new();
    for (kind, sql) in [
        (
            "inspection",
            "SELECT id, body, status, jurisdiction FROM inspections {where} ORDER BY received_ms DESC LIMIT {limit}",
        ),
        (
            "task",
            "SELECT id, body, state, jurisdiction FROM tasks {where} ORDER BY created_ms DESC LIMIT {limit}",
        ),
    ] {
        let (mut conditions, mut values) = (Vec::new(), Vec::<Value>::new());
        jurisdiction_conditions("jurisdiction", None, scope, &mut conditions, &mut values)?;
        if kind == "task" {
            conditions.push("state <> 'closed'".to_owned());
        }
        let sql = sql
            .replace("{where}", &where_clause(&conditions))
            .replace("{limit}", &limit.to_string());
        for row in tx.query(&sql, &values)? {
            let body: serde_json::Value = serde_json::from_str(&row.text(1)?).unwrap_or_default();
            let place = if kind == "task" { &body["location"] } else { &body["site"] };
            let (Some(lat), Some(lon)) = (place["lat"].as_f64(), place["lon"].as_f64()) else {
                continue;
            };
            points.push(MapPoint {
                id: row.text(0)?,
                at: LatLon { lat, lon },
                kind,
                status: row.text(2)?,
                jurisdiction: row.text(3)?,
            });
        }
    }
    Ok(points)
}

/// Patrol track segments received since `since_ms` from devices enrolled
/// within `scope`, at most `limit`, each as its points.
pub fn recent_tracks(
    tx: &mut Tx,
    scope: &Scope,
    since_ms: i64,
    limit: usize,
) -> Result<Vec<Vec<LatLon>>> {
    let (mut conditions, mut values) = (Vec::new(), vec![Value::from(since_ms)]);
    conditions.push("p.last_ms >= $1".to_owned());
    jurisdiction_conditions("d.jurisdiction", None, scope, &mut conditions, &mut values)?;
    let rows = tx.query(
        &format!(
            "SELECT p.points FROM track_points p JOIN devices d ON d.id = p.device_id {}
             ORDER BY p.last_ms DESC LIMIT {limit}",
            where_clause(&conditions)
        ),
        &values,
    )?;
    Ok(rows
        .iter()
        .filter_map(|row| SealedFix::decode_all(&row.blob(0).ok()?))
        .map(|fixes| fixes.iter().map(SealedFix::lat_lon).collect())
        .collect())
}

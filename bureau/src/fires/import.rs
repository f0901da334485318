//! Importing a FIRMS file, in one transaction: every row is read, checked,
//! placed in the territory and filtered, and stored (a detection already held
//! is counted as a duplicate, never stored twice); then the new detections
//! that passed the filters are clustered with the open events near them in
//! time, and each new event gets a task for its jurisdiction while each event
//! that grew has its task sent again. A refused row is reported with its line;
//! a refused file (not FIRMS, a missing column, unreadable CSV) stores nothing.
//!
//! Rows are stored 500 to a statement as they are read, so a global daily
//! file is never held whole; only the new detections to dispatch (inside the
//! territory, past the filters) are kept until the clustering.

use super::clustering::{Cluster, Clustering, Point};
use super::firms::{viirs_level, Detection, FirmsReader};
use super::territory::Territory;
use crate::cases::hours_ms;
use crate::cases::tasks;
use crate::config::FireSettings;
use crate::error::{Error, Result};
use crate::storage::{parameters, value_rows, Tx, Value};
use crate::{now_ms, params};
use fieldproof_core::geo::datum::LatLon;
use fieldproof_core::model::fire::{FireDetection, FireEvent, FireProduct};
use fieldproof_core::wire::fires::{FireImport, MAX_REJECTED_LISTED};
use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

/// Rows stored by one statement.
const BATCH: usize = 500;
const COLUMNS: usize = 13;

/// A detection with what the territory and the filters made of it.
struct Placed {
    detection: Detection,
    jurisdiction: Option<String>,
    /// Why it is not dispatched: `outside`, `low_confidence`, `static_source`,
    /// `daynight`, `volcano`, `offshore`.
    filter: Option<&'static str>,
    key_zone: Option<String>,
}

/// A new detection to dispatch: its row id and what the event needs.
struct Fresh {
    id: i64,
    point: Point,
    jurisdiction: String,
    key_zone: Option<String>,
    detection: FireDetection,
}

/// Imports the FIRMS CSV `input` within `tx`.
pub fn import(tx: &mut Tx, input: impl Read, fires: &FireSettings) -> Result<FireImport> {
    let territory = Territory::load(tx)?;
    let now = now_ms();
    let mut reader = FirmsReader::new(input, now)?;
    let mut answer = FireImport {
        product: Some(reader.product),
        ..FireImport::default()
    };
    let mut batch = Vec::with_capacity(BATCH);
    let mut fresh = Vec::new();
    while let Some(row) = reader.next_row()? {
        answer.rows += 1;
        match row {
            Ok(detection) => {
                batch.push(place(&territory, detection, fires));
                if batch.len() == BATCH {
                    store(tx, &mut batch, now, &mut answer, &mut fresh)?;
                }
            }
            Err(rejected) => {
                answer.rejected_total += 1;
                if answer.rejected.len() < MAX_REJECTED_LISTED {
                    answer.rejected.push(rejected);
                }
            }
        }
    }
    store(tx, &mut batch, now, &mut answer, &mut fresh)?;
    if !fresh.is_empty() {
        dispatch(tx, fresh, &territory, fires, &mut answer)?;
    }
    Ok(answer)
}

/// Where a detection lies and whether it is dispatched; every check recorded.
fn place(territory: &Territory, detection: Detection, fires: &FireSettings) -> Placed {
    let p = LatLon {
        lat: f64::from(detection.lat_e6) / 1e6,
        lon: f64::from(detection.lon_e6) / 1e6,
    };
    let jurisdiction = territory.place(p);
    let key_zone = territory
        .key_zone(p, detection.time_ms)
        .map(|zone| zone.id.clone());
    let filter = if jurisdiction.is_none() {
        Some("outside")
    } else {
        match detection.fire_type {
            Some(1) => Some("volcano"),
            Some(2) => Some("static_source"),
            Some(3) => Some("offshore"),
            _ if territory.static_source(p).is_some() => Some("static_source"),
            _ if !confident(&detection, fires) => Some("low_confidence"),
            _ if !wanted_daynight(&detection, fires) => Some("daynight"),
            _ => None,
        }
    };
    Placed {
        detection,
        jurisdiction,
        filter,
        key_zone,
    }
}

fn confident(detection: &Detection, fires: &FireSettings) -> bool {
    match detection.product {
        FireProduct::Modis => {
            detection.confidence.parse::<u8>().unwrap_or(0) >= fires.modis_min_confidence
        }
        FireProduct::Viirs => {
            viirs_level(&detection.confidence) >= viirs_level(&fires.viirs_min_confidence)
        }
    }
}

fn wanted_daynight(detection: &Detection, fires: &FireSettings) -> bool {
    match fires.daynight.as_str() {
        "day" => detection.day,
        "night" => !detection.day,
        _ => true,
    }
}

/// The identity of a detection: product, satellite, time, position.
type Identity = (String, String, i64, i64, i64);

fn identity(d: &Detection) -> Identity {
    (
        d.product.code().to_owned(),
        d.satellite.clone(),
        d.time_ms,
        i64::from(d.lat_e6),
        i64::from(d.lon_e6),
    )
}

/// Stores a batch, counts what was new, and keeps the new ones to dispatch.
fn store(
    tx: &mut Tx,
    batch: &mut Vec<Placed>,
    now: i64,
    answer: &mut FireImport,
    fresh: &mut Vec<Fresh>,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::with_capacity(batch.len() * COLUMNS);
    for placed in batch.iter() {
        let d = &placed.detection;
        values.extend([
            Value::from(d.product.code()),
            Value::from(&d.satellite),
            Value::from(d.time_ms),
            Value::from(i64::from(d.lat_e6)),
            Value::from(i64::from(d.lon_e6)),
            Value::from(&d.confidence),
            Value::from(d.frp_cmw),
            Value::from(if d.day { "D" } else { "N" }),
            Value::from(d.fire_type.map(i64::from)),
            Value::from(placed.jurisdiction.clone()),
            Value::from(placed.filter),
            Value::from(placed.key_zone.clone()),
            Value::from(now),
        ]);
    }
    // Every full batch has the same statement: built once, prepared once.
    static FULL_BATCH: OnceLock<String> = OnceLock::new();
    let sql = if batch.len() == BATCH {
        FULL_BATCH.get_or_init(|| insert_sql(BATCH)).as_str()
    } else {
        &insert_sql(batch.len())
    };
    let inserted = tx.query(sql, &values)?;
    let positions: HashMap<Identity, usize> = batch
        .iter()
        .enumerate()
        .map(|(i, p)| (identity(&p.detection), i))
        .collect();
    answer.duplicates += (batch.len() - inserted.len()) as u64;
    answer.imported += inserted.len() as u64;
    for row in inserted {
        let key: Identity = (
            row.text(1)?,
            row.text(2)?,
            row.int(3)?,
            row.int(4)?,
            row.int(5)?,
        );
        let placed = &batch[*positions.get(&key).ok_or_else(|| Error::Storage {
            reason: "an inserted fire detection is not in its batch".into(),
        })?];
        match (placed.filter, &placed.jurisdiction) {
            (None, Some(jurisdiction)) => fresh.push(Fresh {
                id: row.int(0)?,
                point: point_of(&placed.detection),
                jurisdiction: jurisdiction.clone(),
                key_zone: placed.key_zone.clone(),
                detection: event_detection(&placed.detection),
            }),
            (Some("outside") | None, _) => answer.outside += 1,
            (Some(_), _) => answer.filtered += 1,
        }
    }
    batch.clear();
    Ok(())
}

/// The statement storing `rows` detections.
fn insert_sql(rows: usize) -> String {
    format!(
        "INSERT INTO fire_detections (product, satellite, time_ms, lat_e6, lon_e6, confidence,
             frp_cmw, daynight, fire_type, jurisdiction, filter, key_zone, imported_ms)
         VALUES {}
         ON CONFLICT (product, satellite, time_ms, lat_e6, lon_e6) DO NOTHING
         RETURNING id, product, satellite, time_ms, lat_e6, lon_e6",
        value_rows(rows, COLUMNS)
    )
}

fn point_of(d: &Detection) -> Point {
    Point {
        lat_e6: d.lat_e6,
        lon_e6: d.lon_e6,
        time_ms: d.time_ms,
        product: d.product,
    }
}

fn event_detection(d: &Detection) -> FireDetection {
    FireDetection {
        product: d.product,
        satellite: d.satellite.clone(),
        time_ms: d.time_ms,
        lat: f64::from(d.lat_e6) / 1e6,
        lon: f64::from(d.lon_e6) / 1e6,
        confidence: d.confidence.clone(),
        frp_mw: d.frp_cmw.map(|c| c as f64 / 100.0),
        daynight: if d.day { "D" } else { "N" }.to_owned(),
    }
}

/// An event held, with its detections as its task carries them.
struct Held {
    cluster: Cluster,
    detections: Vec<FireDetection>,
    key_zone: Option<String>,
}

/// Clusters the new detections with the open events near them in time, and
/// makes or updates their events and tasks.
fn dispatch(
    tx: &mut Tx,
    mut fresh: Vec<Fresh>,
    territory: &Territory,
    fires: &FireSettings,
    answer: &mut FireImport,
) -> Result<()> {
    fresh.sort_by_key(|f| (f.point.time_ms, f.id));
    let window = hours_ms(fires.cluster_window_h);
    let from = fresh.first().map_or(0, |f| f.point.time_ms) - window;
    let to = fresh.last().map_or(0, |f| f.point.time_ms) + window;
    let mut held = open_events(tx, from, to)?;
    let mut clustering = Clustering::new(window);
    for h in &held {
        clustering.add_existing(h.cluster.clone());
    }
    for (i, f) in fresh.iter().enumerate() {
        clustering.add(f.point, &f.jurisdiction, i);
    }
    let now = now_ms();
    let mut members = Vec::with_capacity(fresh.len());
    let mut announcements = tasks::Announcements::default();
    for (index, cluster) in clustering.clusters.iter().enumerate() {
        if cluster.joined.is_empty() {
            continue;
        }
        let joined: Vec<&Fresh> = cluster.joined.iter().map(|&i| &fresh[i]).collect();
        let (mut detections, held_zone) = match held.get_mut(index) {
            Some(h) => (std::mem::take(&mut h.detections), h.key_zone.clone()),
            None => (Vec::new(), None),
        };
        detections.extend(joined.iter().map(|f| f.detection.clone()));
        detections.sort_by_key(|d| d.time_ms);
        let zone_id = held_zone.or_else(|| joined.iter().find_map(|f| f.key_zone.clone()));
        let zone = zone_id.as_deref().and_then(|id| territory.zone(id));
        let event = FireEvent {
            id: cluster
                .event_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            first_detected_ms: cluster.first_ms,
            last_detected_ms: cluster.last_ms,
            lat: detections.iter().map(|d| d.lat).sum::<f64>() / detections.len() as f64,
            lon: detections.iter().map(|d| d.lon).sum::<f64>() / detections.len() as f64,
            key_zone: zone.map(|z| z.name.clone()),
            detections,
        };
        let due_hours = match zone.and_then(|z| z.due_h) {
            Some(h) => h.min(fires.due_h),
            None => fires.due_h,
        };
        let due_ms = cluster.first_ms + hours_ms(due_hours);
        let jurisdiction = &cluster.jurisdiction;
        match &cluster.task_id {
            Some(task_id) => {
                update_event(tx, &event, zone_id.as_deref(), now)?;
                tasks::update_event(tx, &mut announcements, task_id, event.clone(), due_ms)?;
                answer.events_updated += 1;
            }
            None => {
                let task_id = tasks::create_for_event(
                    tx,
                    &mut announcements,
                    jurisdiction,
                    event.clone(),
                    due_ms,
                )?;
                insert_event(tx, &event, jurisdiction, zone_id.as_deref(), &task_id, now)?;
                answer.events_new += 1;
                answer.tasks_created += 1;
            }
        }
        members.extend(joined.iter().map(|f| (f.id, event.id.clone())));
    }
    join_events(tx, members)?;
    announcements.finish(tx)
}

/// Records each new detection's event, in detection order (the table's own
/// order, so its pages are visited once), `BATCH` to a statement.
fn join_events(tx: &mut Tx, mut members: Vec<(i64, String)>) -> Result<()> {
    members.sort_unstable();
    static FULL_BATCH: OnceLock<String> = OnceLock::new();
    for chunk in members.chunks(BATCH) {
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|(id, event)| [Value::from(*id), Value::from(event)])
            .collect();
        let sql = |rows| {
            // CAST: PostgreSQL types a VALUES column by its first row's parameter.
            format!(
                "WITH member (id, event_id) AS (VALUES {})
                 UPDATE fire_detections SET event_id = member.event_id
                 FROM member WHERE fire_detections.id = member.id",
                value_rows(rows, 2).replacen("($1,", "(CAST($1 AS BIGINT),", 1)
            )
        };
        if chunk.len() == BATCH {
            tx.execute(FULL_BATCH.get_or_init(|| sql(BATCH)), &values)?;
        } else {
            tx.execute(&sql(chunk.len()), &values)?;
        }
    }
    Ok(())
}

fn e6(degrees: f64) -> i64 {
    (degrees * 1e6).round() as i64
}

fn insert_event(
    tx: &mut Tx,
    event: &FireEvent,
    jurisdiction: &str,
    key_zone: Option<&str>,
    task_id: &str,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO fire_events (id, jurisdiction, first_ms, last_ms, lat_e6, lon_e6, detections,
             key_zone, task_id, created_ms, updated_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        params![
            &event.id,
            jurisdiction,
            event.first_detected_ms,
            event.last_detected_ms,
            e6(event.lat),
            e6(event.lon),
            event.detections.len() as i64,
            key_zone,
            task_id,
            now
        ],
    )?;
    Ok(())
}

fn update_event(tx: &mut Tx, event: &FireEvent, key_zone: Option<&str>, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE fire_events SET first_ms = $1, last_ms = $2, lat_e6 = $3, lon_e6 = $4,
             detections = $5, key_zone = $6, updated_ms = $7
         WHERE id = $8",
        params![
            event.first_detected_ms,
            event.last_detected_ms,
            e6(event.lat),
            e6(event.lon),
            event.detections.len() as i64,
            key_zone,
            now,
            &event.id
        ],
    )?;
    Ok(())
}

/// The events held whose span comes within `[from, to]` and whose task is
/// not closed, with their detections.
fn open_events(tx: &mut Tx, from: i64, to: i64) -> Result<Vec<Held>> {
    let events = tx.query(
        "SELECT e.id, e.task_id, e.jurisdiction, e.first_ms, e.last_ms, e.key_zone
         FROM fire_events e JOIN tasks t ON t.id = e.task_id
         WHERE e.last_ms >= $1 AND e.first_ms <= $2 AND t.state <> 'closed'
         ORDER BY e.first_ms, e.id",
        params![from, to],
    )?;
    let mut held = Vec::with_capacity(events.len());
    let mut by_id = HashMap::new();
    for row in &events {
        by_id.insert(row.text(0)?, held.len());
        held.push(Held {
            cluster: Cluster {
                event_id: Some(row.text(0)?),
                task_id: Some(row.text(1)?),
                jurisdiction: row.text(2)?,
                first_ms: row.int(3)?,
                last_ms: row.int(4)?,
                points: Vec::new(),
                joined: Vec::new(),
            },
            detections: Vec::new(),
            key_zone: row.opt_text(5)?,
        });
    }
    let ids: Vec<String> = by_id.keys().cloned().collect();
    for chunk in ids.chunks(BATCH) {
        let values: Vec<Value> = chunk.iter().map(Value::from).collect();
        let rows = tx.query(
            &format!(
                "SELECT event_id, product, satellite, time_ms, lat_e6, lon_e6, confidence, frp_cmw,
                        daynight
                 FROM fire_detections WHERE event_id IN ({}) ORDER BY time_ms, id",
                parameters(1, values.len())
            ),
            &values,
        )?;
        for row in rows {
            let Some(&index) = by_id.get(&row.text(0)?) else {
                continue;
            };
            let product = FireProduct::from_code(&row.text(1)?).ok_or_else(|| Error::Storage {
                reason: "a stored fire detection has an unknown product".into(),
            })?;
            let (lat_e6, lon_e6) = (row.int(4)? as i32, row.int(5)? as i32);
            let h = &mut held[index];
            h.cluster.points.push(Point {
                lat_e6,
                lon_e6,
                time_ms: row.int(3)?,
                product,
            });
            h.detections.push(FireDetection {
                product,
                satellite: row.text(2)?,
                time_ms: row.int(3)?,
                lat: f64::from(lat_e6) / 1e6,
                lon: f64::from(lon_e6) / 1e6,
                confidence: row.text(6)?,
                frp_mw: row.opt_int(7)?.map(|c| c as f64 / 100.0),
                daynight: row.text(8)?,
            });
        }
    }
    Ok(held)
}

//! Proof of visit: whether the signed fixes of the team that answered a fire
//! task put them at the fire in time. The fixes are those the bureau holds
//! signed — the points of their accepted patrol track segments, and the fix
//! in each accepted evidence record of the answering inspection's amendment
//! line (photos, notes, acknowledgements) — from the devices of the case's
//! officers.
//!
//! A fix counts when it lies in the window (first detection to due time, by
//! its GNSS time), its accuracy is known and no worse than the radius, and it
//! is not mocked — unless its device declared an external GNSS receiver at
//! enrollment (those reach Android as a mock provider): then it counts, and
//! the proof says how many such fixes there were. The visit is proven when
//! the closest counted fix lies within the radius of any of the event's
//! detections.

use super::{amended_revisions, hours_ms, RECORDS_OF_CASES, REFUSAL};
use crate::config::FireSettings;
use crate::error::Result;
use crate::params;
use crate::storage::{parameters, Tx, Value};
use fieldproof_core::evidence::cose::parse_sign1;
use fieldproof_core::evidence::record::EvidencePayload;
use fieldproof_core::evidence::track_seal::SealedFix;
use fieldproof_core::geo::datum::LatLon;
use fieldproof_core::geo::geodesy::distance_m;
use fieldproof_core::model::fire::FireEvent;
use fieldproof_core::wire::fires::{ExcludedFixes, Visit, VisitFix};
use std::collections::{BTreeMap, HashMap};

/// One fix as the proof weighs it.
struct Candidate {
    lat_e7: i32,
    lon_e7: i32,
    time_ms: i64,
    accuracy_m: Option<f64>,
    mock: bool,
    device_id: String,
    source: &'static str,
    seq: i64,
}

/// Judges the visit to `event` that inspection `inspection_id` answers,
/// within the window from its first detection to `due_ms` (or the configured
/// due time when the task has none).
pub fn judge(
    tx: &mut Tx,
    event: &FireEvent,
    due_ms: Option<i64>,
    inspection_id: &str,
    fires: &FireSettings,
) -> Result<Visit> {
    let radius_m = fires.visit_radius_m as f64;
    let from = event.first_detected_ms;
    let to = due_ms.unwrap_or(from + hours_ms(fires.due_h));
    let devices = case_devices(tx, inspection_id)?;
    let mut candidates = track_fixes(tx, &devices, from, to)?;
    candidates.extend(record_fixes(tx, inspection_id)?);

    let detections: Vec<LatLon> = event
        .detections
        .iter()
        .map(|d| LatLon {
            lat: d.lat,
            lon: d.lon,
        })
        .collect();
    let mut excluded: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut counted, mut external_gnss_fixes) = (0u64, 0u64);
    let mut closest: Option<VisitFix> = None;
    for fix in candidates {
        let external = devices.get(&fix.device_id).copied().unwrap_or(false);
        let reason = if fix.mock && !external {
            Some("mock_location")
        } else if !(from..=to).contains(&fix.time_ms) {
            Some("outside_window")
        } else if fix.accuracy_m.is_none_or(|a| a > radius_m) {
            Some("inaccurate")
        } else {
            None
        };
        if let Some(reason) = reason {
            *excluded.entry(reason).or_default() += 1;
            continue;
        }
        counted += 1;
        external_gnss_fixes += u64::from(fix.mock);
        let at = LatLon {
            lat: f64::from(fix.lat_e7) / 1e7,
            lon: f64::from(fix.lon_e7) / 1e7,
        };
        let distance = detections
            .iter()
            .map(|&d| distance_m(at, d))
            .fold(f64::INFINITY, f64::min);
        if closest.as_ref().is_none_or(|c| distance < c.distance_m) {
            closest = Some(VisitFix {
                distance_m: (distance * 10.0).round() / 10.0,
                at_ms: fix.time_ms,
                accuracy_m: fix.accuracy_m,
                device_id: fix.device_id,
                source: fix.source.to_owned(),
                seq: fix.seq,
            });
        }
    }
    Ok(Visit {
        visited: closest.as_ref().is_some_and(|c| c.distance_m <= radius_m),
        radius_m,
        window_from_ms: from,
        window_to_ms: to,
        closest,
        counted,
        excluded: excluded
            .into_iter()
            .map(|(reason, count)| ExcludedFixes {
                reason: reason.to_owned(),
                count,
            })
            .collect(),
        external_gnss_fixes,
    })
}

/// The devices of the case's officers (the one who submitted it and those
/// assigned), each with whether it declared an external GNSS receiver.
fn case_devices(tx: &mut Tx, inspection_id: &str) -> Result<HashMap<String, bool>> {
    tx.query(
        "SELECT d.id, d.external_gnss FROM devices d
         WHERE d.officer_id = (SELECT officer_id FROM inspections WHERE id = $1)
            OR d.officer_id IN (SELECT officer_id FROM inspection_officers WHERE inspection_id = $1)",
        params![inspection_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)? != 0)))
    .collect()
}

/// The points of those devices' track segments that reach into the window.
fn track_fixes(
    tx: &mut Tx,
    devices: &HashMap<String, bool>,
    from: i64,
    to: i64,
) -> Result<Vec<Candidate>> {
    if devices.is_empty() {
        return Ok(Vec::new());
    }
    let mut values: Vec<Value> = vec![from.into(), to.into()];
    values.extend(devices.keys().map(Value::from));
    let rows = tx.query(
        &format!(
            "SELECT device_id, seq, points FROM track_points
             WHERE device_id IN ({}) AND (last_ms IS NULL OR (last_ms >= $1 AND first_ms <= $2))",
            parameters(3, devices.len())
        ),
        &values,
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (device_id, seq) = (row.text(0)?, row.int(1)?);
        // Kept only when they hashed to the signed seal, so they decode.
        let Some(fixes) = SealedFix::decode_all(&row.blob(2)?) else {
            continue;
        };
        out.extend(fixes.into_iter().map(|f| Candidate {
            lat_e7: f.lat_e7,
            lon_e7: f.lon_e7,
            time_ms: f.time_ms,
            accuracy_m: f.accuracy_mm.map(|mm| f64::from(mm) / 1000.0),
            mock: f.mock,
            device_id: device_id.clone(),
            source: "track",
            seq,
        }));
    }
    Ok(out)
}

/// The fix of each accepted record attached to the inspection's amendment
/// line (a record names the revision it was taken for).
fn record_fixes(tx: &mut Tx, inspection_id: &str) -> Result<Vec<Candidate>> {
    let line = amended_revisions(tx, inspection_id)?;
    let values: Vec<Value> = line.iter().map(Value::from).collect();
    let rows = tx.query(
        &format!(
            "SELECT e.device_id, e.seq, e.signed FROM {RECORDS_OF_CASES}
             WHERE e.inspection_id IN ({}) AND e.status = 'accepted' AND ({REFUSAL}) IS NULL",
            parameters(1, values.len())
        ),
        &values,
    )?;
    let mut out = Vec::new();
    for row in rows {
        // Accepted records were verified on receipt: they parse.
        let Some(payload) = parse_sign1(&row.blob(2)?)
            .ok()
            .and_then(|sign1| EvidencePayload::decode(&sign1.payload).ok())
        else {
            continue;
        };
        let Some(fix) = payload.fix else {
            continue;
        };
        out.push(Candidate {
            lat_e7: fix.lat_e7,
            lon_e7: fix.lon_e7,
            time_ms: fix.time_ms.unwrap_or(payload.wall_ms),
            accuracy_m: fix.accuracy_mm.map(|mm| mm as f64 / 1000.0),
            mock: fix.mock == Some(true),
            device_id: row.text(0)?,
            source: "record",
            seq: row.opt_int(1)?.unwrap_or_default(),
        });
    }
    Ok(out)
}

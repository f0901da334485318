//! Tasks: work the bureau dispatches to a jurisdiction, e.g. "verify the
//! satellite fire point at this place". Devices in (or above) the jurisdiction
//! receive each task through the change feed (kind `task`).
//!
//! A task's place may be given in any datum the bureau's sources use (fire-point
//! services and map pickers often give GCJ-02 or BD-09); it is stored in WGS-84
//! beside what was given, as the device stores an inspection's site.

use super::{page_size, text_field, within_jurisdiction, Cursor, Page};
use crate::enrollment::check_jurisdiction;
use crate::error::{Error, Result};
use crate::storage::{Tx, Value};
use crate::sync::feed::{self, Audience};
use crate::{now_ms, params};
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::wire::pull::ChangeKind;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_NOTE_CHARS: usize = 2000;
/// Due times are UTC milliseconds between 2000-01-01 and 2100-01-01.
const TIME_RANGE_MS: std::ops::Range<i64> = 946_684_800_000..4_102_444_800_000;

// A stored task is exactly what devices receive: one definition, the core's, so
// the two sides cannot drift apart.
pub use fieldproof_core::wire::admin::{NewLocation, NewTask, Task, TaskLocation};

/// Checks and stores a task, and puts it into the feed for its jurisdiction.
pub fn create(tx: &mut Tx, new: &NewTask) -> Result<Task> {
    let task = checked(new)?;
    let body = serde_json::to_string(&task).expect("tasks serialise");
    tx.execute(
        "INSERT INTO tasks (id, jurisdiction, body, created_ms) VALUES ($1, $2, $3, $4)",
        params![&task.id, &task.jurisdiction, body, task.created_ms],
    )?;
    feed::append(
        tx,
        Audience::Jurisdiction(&task.jurisdiction),
        ChangeKind::Task,
        &task,
    )?;
    Ok(task)
}

/// Tasks within `jurisdiction` (all when `None`), newest first.
pub fn list(
    tx: &mut Tx,
    jurisdiction: Option<&str>,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<Page<Task>> {
    let limit = page_size(limit)?;
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(code) = jurisdiction {
        check_jurisdiction(code)?;
        values.push(code.into());
        conditions.push(within_jurisdiction(
            "jurisdiction",
            &format!("${}", values.len()),
        ));
    }
    if let Some(cursor) = cursor {
        let cursor = Cursor::decode(cursor)?;
        values.push(cursor.time_ms.into());
        values.push(cursor.id.into());
        let (t, i) = (values.len() - 1, values.len());
        conditions.push(format!(
            "(created_ms < ${t} OR (created_ms = ${t} AND id < ${i}))"
        ));
    }
    values.push((limit as i64 + 1).into());
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let rows = tx.query(
        &format!(
            "SELECT body FROM tasks {filter} ORDER BY created_ms DESC, id DESC LIMIT ${}",
            values.len()
        ),
        &values,
    )?;
    let has_more = rows.len() > limit;
    let items = rows
        .iter()
        .take(limit)
        .map(|row| {
            serde_json::from_str(&row.text(0)?).map_err(|_| Error::Storage {
                reason: "a stored task is not readable".into(),
            })
        })
        .collect::<Result<Vec<Task>>>()?;
    let next_cursor = match items.last() {
        Some(last) if has_more => Some(
            Cursor {
                time_ms: last.created_ms,
                id: last.id.clone(),
            }
            .encode(),
        ),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

/// The task `new` describes, every field checked.
fn checked(new: &NewTask) -> Result<Task> {
    check_jurisdiction(&new.jurisdiction)?;
    let title = text_field(&new.title, "title", MAX_TITLE_CHARS)?;
    if title.is_empty() {
        return Err(Error::InvalidRequest {
            reason: "a task needs a title".into(),
        });
    }
    let note = match &new.note {
        Some(note) => Some(text_field(note, "note", MAX_NOTE_CHARS)?).filter(|n| !n.is_empty()),
        None => None,
    };
    let location = new.location.as_ref().map(location).transpose()?;
    if let Some(due) = new.due_ms {
        if !TIME_RANGE_MS.contains(&due) {
            return Err(Error::InvalidRequest {
                reason: "due_ms must be UTC milliseconds between 2000 and 2100".into(),
            });
        }
    }
    Ok(Task {
        id: uuid::Uuid::now_v7().to_string(),
        jurisdiction: new.jurisdiction.clone(),
        title,
        note,
        location,
        due_ms: new.due_ms,
        created_ms: now_ms(),
    })
}

/// Validates a place and converts it to WGS-84 with the core's datum code.
fn location(given: &NewLocation) -> Result<TaskLocation> {
    let datum = Datum::from_code(&given.datum).ok_or(Error::UnknownDatum)?;
    let point = GeoPoint {
        lat: given.lat,
        lon: given.lon,
        datum,
    };
    let wgs84 = point.to_wgs84().map_err(|e| match e {
        fieldproof_core::Error::InvalidCoordinate { field } => Error::InvalidCoordinate { field },
        _ => Error::InvalidCoordinate { field: "location" },
    })?;
    Ok(TaskLocation {
        lat: wgs84.lat,
        lon: wgs84.lon,
        reported_lat: given.lat,
        reported_lon: given.lon,
        reported_datum: datum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_task(location: Option<NewLocation>) -> NewTask {
        NewTask {
            jurisdiction: "430121".into(),
            title: " 核查火点 ".into(),
            note: Some("".into()),
            location,
            due_ms: None,
        }
    }

    #[test]
    fn locations_are_converted_to_wgs84_and_kept_as_given() {
        let task = checked(&new_task(Some(NewLocation {
            lat: 28.2282,
            lon: 112.9388,
            datum: "gcj02".into(),
        })))
        .unwrap();
        assert_eq!(task.title, "核查火点");
        assert_eq!(task.note, None);
        let at = task.location.unwrap();
        assert_eq!((at.reported_lat, at.reported_lon), (28.2282, 112.9388));
        assert_eq!(at.reported_datum, Datum::Gcj02);
        let back = fieldproof_core::geo::datum::convert(
            fieldproof_core::geo::datum::LatLon {
                lat: at.lat,
                lon: at.lon,
            },
            Datum::Wgs84,
            Datum::Gcj02,
        );
        assert!((back.lat - 28.2282).abs() < 1e-9 && (back.lon - 112.9388).abs() < 1e-9);
        assert!((at.lat - 28.2282).abs() > 1e-3, "GCJ-02 moved to WGS-84");
    }

    #[test]
    fn bad_fields_have_their_own_codes() {
        let code = |t: NewTask| checked(&t).unwrap_err().code();
        let at = |lat: f64, datum: &str| {
            new_task(Some(NewLocation {
                lat,
                lon: 112.0,
                datum: datum.into(),
            }))
        };
        assert_eq!(code(at(95.0, "wgs84")), "invalid_coordinate");
        assert_eq!(code(at(28.0, "mars")), "unknown_datum");
        let mut t = new_task(None);
        t.title = "x".repeat(MAX_TITLE_CHARS + 1);
        assert_eq!(code(t), "text_too_long");
        let mut t = new_task(None);
        t.title = "  ".into();
        assert_eq!(code(t), "invalid_request");
        let mut t = new_task(None);
        t.jurisdiction = "43/01".into();
        assert_eq!(code(t), "invalid_request");
        let mut t = new_task(None);
        t.due_ms = Some(5);
        assert_eq!(code(t), "invalid_request");
    }
}

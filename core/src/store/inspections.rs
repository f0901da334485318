//! SQL for the inspection tables. Callers own the transaction; these functions
//! only read and write rows.

use crate::error::{Error, Result};
use crate::geo::datum::Datum;
use crate::model::checklist::{Answer, AnswerValue};
use crate::model::inspection::{
    CheckedDraft, Inspection, InspectionFilter, InspectionPage, InspectionSummary,
    ResponsibleParty, Site, SiteJurisdiction, Status,
};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, Value, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

const COLUMNS: &str = "id, matter, checklist_id, checklist_version, township_code, county_code,
    lat, lon, reported_lat, reported_lon, reported_datum, address, task_id, officer_id,
    started_at_ms, ended_at_ms, status, findings, responsible_party, amends_id, revision,
    created_at_ms, updated_at_ms, submitted_at_ms, site_jurisdiction, site_inside, site_boundary_m";

const SUMMARY_COLUMNS: &str = "id, matter, status, township_code, county_code, lat, lon, address,
    task_id, started_at_ms, ended_at_ms, amends_id, revision";

/// Identity and lineage of a new inspection row.
pub struct NewRow<'a> {
    pub id: &'a str,
    pub matter: &'a str,
    pub checklist_id: &'a str,
    pub checklist_version: u32,
    pub amends_id: Option<&'a str>,
    pub revision: u32,
}

pub fn insert(conn: &Connection, row: &NewRow, draft: &CheckedDraft, now_ms: i64) -> Result<()> {
    let f = &draft.fields;
    conn.prepare_cached(
        "INSERT INTO inspections (id, matter, checklist_id, checklist_version, township_code,
             county_code, lat, lon, reported_lat, reported_lon, reported_datum, address, task_id,
             officer_id, started_at_ms, ended_at_ms, status, findings, responsible_party,
             amends_id, revision, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 'draft',
             ?17, ?18, ?19, ?20, ?21, ?21)",
    )?
    .execute(params![
        row.id,
        row.matter,
        row.checklist_id,
        row.checklist_version,
        f.township_code,
        draft.county_code,
        draft.wgs84.lat,
        draft.wgs84.lon,
        f.site.lat,
        f.site.lon,
        f.site.datum.code(),
        f.address,
        f.task_id,
        f.officer_id,
        f.started_at_ms,
        f.ended_at_ms,
        f.findings,
        party_json(&f.responsible_party),
        row.amends_id,
        row.revision,
        now_ms,
    ])?;
    Ok(())
}

pub fn update_fields(conn: &Connection, id: &str, draft: &CheckedDraft, now_ms: i64) -> Result<()> {
    let f = &draft.fields;
    conn.prepare_cached(
        "UPDATE inspections SET township_code = ?2, county_code = ?3, lat = ?4, lon = ?5,
             reported_lat = ?6, reported_lon = ?7, reported_datum = ?8, address = ?9,
             task_id = ?10, officer_id = ?11, started_at_ms = ?12, ended_at_ms = ?13,
             findings = ?14, responsible_party = ?15, updated_at_ms = ?16
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        f.township_code,
        draft.county_code,
        draft.wgs84.lat,
        draft.wgs84.lon,
        f.site.lat,
        f.site.lon,
        f.site.datum.code(),
        f.address,
        f.task_id,
        f.officer_id,
        f.started_at_ms,
        f.ended_at_ms,
        f.findings,
        party_json(&f.responsible_party),
        now_ms,
    ])?;
    Ok(())
}

/// Records where the site lies relative to its jurisdiction (or that it is unknown).
pub fn set_site_jurisdiction(
    conn: &Connection,
    id: &str,
    placement: Option<&SiteJurisdiction>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE inspections SET site_jurisdiction = ?2, site_inside = ?3, site_boundary_m = ?4 WHERE id = ?1",
    )?
    .execute(params![
        id,
        placement.map(|p| &p.code),
        placement.map(|p| p.inside),
        placement.map(|p| p.boundary_distance_m),
    ])?;
    Ok(())
}

/// Freezes a draft as submitted; its end of visit was settled before (`close_for_signing`).
pub fn mark_submitted(conn: &Connection, id: &str, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE inspections SET status = 'submitted', submitted_at_ms = ?2, updated_at_ms = ?2
         WHERE id = ?1 AND status = 'draft'",
    )?
    .execute(params![id, now_ms])?;
    Ok(())
}

/// Closes a draft's visit: its end time, if it has none yet.
pub fn close_visit(conn: &Connection, id: &str, ended_at_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE inspections SET ended_at_ms = ?2
         WHERE id = ?1 AND status = 'draft' AND ended_at_ms IS NULL",
    )?
    .execute(params![id, ended_at_ms])?;
    Ok(())
}

/// Names the officer of a draft (the enrolled one, at submission).
pub fn set_officer(conn: &Connection, id: &str, officer_id: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE inspections SET officer_id = ?2 WHERE id = ?1 AND status = 'draft'",
    )?
    .execute(params![id, officer_id])?;
    Ok(())
}

pub fn touch(conn: &Connection, id: &str, now_ms: i64) -> Result<()> {
    conn.prepare_cached("UPDATE inspections SET updated_at_ms = ?2 WHERE id = ?1")?
        .execute(params![id, now_ms])?;
    Ok(())
}

pub fn upsert_answers(conn: &Connection, id: &str, answers: &[Answer]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO inspection_answers (inspection_id, item_id, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (inspection_id, item_id) DO UPDATE SET value = excluded.value",
    )?;
    for answer in answers {
        let value = serde_json::to_string(&answer.value).expect("answers serialise");
        stmt.execute(params![id, answer.item_id, value])?;
    }
    Ok(())
}

pub fn delete_answer(conn: &Connection, id: &str, item_id: &str) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM inspection_answers WHERE inspection_id = ?1 AND item_id = ?2",
    )?
    .execute(params![id, item_id])?;
    Ok(())
}

pub fn load(conn: &Connection, id: &str) -> Result<Inspection> {
    let sql = format!("SELECT {COLUMNS} FROM inspections WHERE id = ?1");
    let mut inspection = conn
        .prepare_cached(&sql)?
        .query_row([id], inspection_from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound {
            what: "inspection",
            id: id.to_owned(),
        })?;
    inspection.answers = answers(conn, id)?;
    Ok(inspection)
}

fn answers(conn: &Connection, id: &str) -> Result<Vec<Answer>> {
    let mut stmt = conn
        .prepare_cached("SELECT item_id, value FROM inspection_answers WHERE inspection_id = ?1")?;
    let rows = stmt.query_map([id], |row| {
        Ok(Answer {
            item_id: row.get(0)?,
            value: row.get::<_, Json<AnswerValue>>(1)?.0,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The draft amendment of `id`, or failing that its newest amendment, if any.
pub fn latest_amendment(conn: &Connection, id: &str) -> Result<Option<(String, Status)>> {
    let found = conn
        .prepare_cached(
            "SELECT id, status FROM inspections WHERE amends_id = ?1
             ORDER BY status = 'draft' DESC, revision DESC LIMIT 1",
        )?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(found)
}

/// One page, newest first. The cursor is the (start time, id) of the last row of
/// the previous page, so pages stay stable while new inspections are recorded.
pub fn list(
    conn: &Connection,
    filter: &InspectionFilter,
    limit: u32,
    after: Option<&str>,
) -> Result<InspectionPage> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |clause: &str, value: Value| {
        args.push(value);
        clauses.push(clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(status) = filter.status {
        arg("status = ?", Value::Text(status.code().into()));
    }
    if let Some(matter) = &filter.matter {
        arg("matter = ?", Value::Text(matter.clone()));
    }
    if let Some(from) = filter.started_from_ms {
        arg("started_at_ms >= ?", Value::Integer(from));
    }
    if let Some(before) = filter.started_before_ms {
        arg("started_at_ms < ?", Value::Integer(before));
    }
    if let Some(task) = &filter.task_id {
        arg("task_id = ?", Value::Text(task.clone()));
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        arg(
            "(address LIKE ? ESCAPE '\\' OR findings LIKE ? ESCAPE '\\')",
            Value::Text(format!("%{}%", escape_like(text))),
        );
    }
    if let Some(cursor) = after {
        let (ms, id) = parse_cursor(cursor)?;
        args.push(Value::Integer(ms));
        args.push(Value::Text(id));
        clauses.push(format!(
            "(started_at_ms, id) < (?{}, ?{})",
            args.len() - 1,
            args.len()
        ));
    }
    let filter_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    // One row more than asked tells whether another page follows.
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM inspections {filter_sql}
         ORDER BY started_at_ms DESC, id DESC LIMIT {}",
        u64::from(limit) + 1
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map(params_from_iter(args), summary_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| format!("{}.{}", last.started_at_ms, last.id))
    } else {
        None
    };
    Ok(InspectionPage { items, next_cursor })
}

fn parse_cursor(cursor: &str) -> Result<(i64, String)> {
    let (ms, id) = cursor.split_once('.').ok_or(Error::InvalidCursor)?;
    let ms = ms.parse().map_err(|_| Error::InvalidCursor)?;
    let id = crate::model::id::parse_id(id, "cursor").map_err(|_| Error::InvalidCursor)?;
    Ok((ms, id))
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn party_json(party: &Option<ResponsibleParty>) -> Option<String> {
    party
        .as_ref()
        .map(|p| serde_json::to_string(p).expect("parties serialise"))
}

// Values our own schema forbids mean the file was damaged or edited by hand: they
// fail conversion, which `Error::from` reports as corruption.
impl FromSql for Status {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Status::from_code(value.as_str()?).ok_or(FromSqlError::InvalidType)
    }
}

impl FromSql for Datum {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Datum::from_code(value.as_str()?).ok_or(FromSqlError::InvalidType)
    }
}

struct Json<T>(T);

impl<T: serde::de::DeserializeOwned> FromSql for Json<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        serde_json::from_str(value.as_str()?)
            .map(Json)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

fn inspection_from_row(row: &Row) -> rusqlite::Result<Inspection> {
    Ok(Inspection {
        id: row.get(0)?,
        matter: row.get(1)?,
        checklist_id: row.get(2)?,
        checklist_version: row.get(3)?,
        township_code: row.get(4)?,
        county_code: row.get(5)?,
        site: Site {
            lat: row.get(6)?,
            lon: row.get(7)?,
            reported_lat: row.get(8)?,
            reported_lon: row.get(9)?,
            reported_datum: row.get(10)?,
            address: row.get(11)?,
        },
        task_id: row.get(12)?,
        officer_id: row.get(13)?,
        started_at_ms: row.get(14)?,
        ended_at_ms: row.get(15)?,
        status: row.get(16)?,
        answers: Vec::new(),
        findings: row.get(17)?,
        responsible_party: row
            .get::<_, Option<Json<ResponsibleParty>>>(18)?
            .map(|j| j.0),
        amends_id: row.get(19)?,
        revision: row.get(20)?,
        created_at_ms: row.get(21)?,
        updated_at_ms: row.get(22)?,
        submitted_at_ms: row.get(23)?,
        site_jurisdiction: match (row.get(24)?, row.get(25)?, row.get(26)?) {
            (Some(code), Some(inside), Some(boundary_distance_m)) => Some(SiteJurisdiction {
                code,
                inside,
                boundary_distance_m,
            }),
            _ => None,
        },
    })
}

fn summary_from_row(row: &Row) -> rusqlite::Result<InspectionSummary> {
    Ok(InspectionSummary {
        id: row.get(0)?,
        matter: row.get(1)?,
        status: row.get(2)?,
        township_code: row.get(3)?,
        county_code: row.get(4)?,
        lat: row.get(5)?,
        lon: row.get(6)?,
        address: row.get(7)?,
        task_id: row.get(8)?,
        started_at_ms: row.get(9)?,
        ended_at_ms: row.get(10)?,
        amends_id: row.get(11)?,
        revision: row.get(12)?,
    })
}

//! The admin side of the bureau: the cases devices send in and the work and
//! reference data the bureau sends out.
//!
//! - [`inspections`]: submitted inspections with their evidence and its
//!   verification status, and their review (accept, or return with a comment);
//!   [`legal_review`]: the legal check of an accepted case marked for penalty.
//! - [`tasks`]: work dispatched to a jurisdiction (e.g. a satellite fire point to
//!   verify on site), where it stands, and its closing; [`visits`]: whether the
//!   answering team's signed fixes prove they were at the fire.
//! - [`dashboard`]: the week's and month's figures per county and matter.
//! - [`map_data`]: what the console's map shows within a reader's scope.
//! - [`reference_data`]: jurisdiction boundaries and checklist templates;
//!   [`fire_reference`]: static heat sources and key zones.
//! - [`case_file`]: a case taken out of the system for legal review or a
//!   court, with its printed on-site record ([`on_site_record`]).
//!
//! Every change is written in one transaction together with the change-feed
//! entries that tell devices about it ([`crate::sync::feed`]), so a device never
//! misses a change and never hears of one that was rolled back. Every check runs
//! before the first write: a refused request changes nothing.

pub mod case_file;
pub mod dashboard;
pub mod fire_reference;
pub mod inspections;
pub mod legal_review;
pub mod map_data;
pub mod on_site_record;
pub mod reference_data;
pub mod tasks;
pub mod visits;

pub use fieldproof_core::wire::admin::Page;

use crate::enrollment::check_jurisdiction;
use crate::error::{Error, Result};
use crate::params;
use crate::people::Scope;
use crate::storage::{Tx, Value};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Page size when a list request names none.
pub const DEFAULT_PAGE: usize = 50;
/// The largest page a list request may ask for.
pub const MAX_PAGE: usize = 500;

/// A page size from a request: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when absent.
pub fn page_size(limit: Option<usize>) -> Result<usize> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(Error::InvalidRequest {
            reason: format!("limit must be 1 to {MAX_PAGE}"),
        }),
    }
}

/// A keyset position: the sort time and id of the last row of a page. Printed
/// as base64url so that clients treat it as opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub time_ms: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.time_ms, self.id))
    }

    /// A cursor this bureau issued, or `invalid_cursor`.
    pub fn decode(text: &str) -> Result<Cursor> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| Error::InvalidCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| Error::InvalidCursor)?;
        let (time, id) = text.split_once(':').ok_or(Error::InvalidCursor)?;
        let time_ms = time.parse().map_err(|_| Error::InvalidCursor)?;
        let id = uuid::Uuid::parse_str(id)
            .map_err(|_| Error::InvalidCursor)?
            .hyphenated()
            .to_string();
        Ok(Cursor { time_ms, id })
    }
}

/// Trims `text` and checks its length in characters (what a person typed, so
/// counted as characters, not bytes).
pub(crate) fn text_field(text: &str, field: &'static str, limit: usize) -> Result<String> {
    let text = text.trim();
    if text.chars().count() > limit {
        return Err(Error::TextTooLong { field, limit });
    }
    Ok(text.to_owned())
}

/// Why an evidence record `e` may not attach to the inspection `i` it names,
/// in SQL over `e`, `i` and the record's device `d`; NULL when it may. A record
/// attaches when its device is enrolled for one of the case's officers (the one
/// who submitted it, or one the bureau assigned) and the officer its signed
/// context names, if any, is its device's. Any other record naming the case is
/// kept and shown apart, and counts for nothing: a device elsewhere cannot
/// change a case's evidence status by naming it.
pub(crate) const REFUSAL: &str = "CASE
    WHEN e.claimed_officer_id IS NOT NULL AND e.claimed_officer_id <> d.officer_id
        THEN 'officer_mismatch'
    WHEN d.officer_id = i.officer_id OR EXISTS (SELECT 1 FROM inspection_officers o
        WHERE o.inspection_id = i.id AND o.officer_id = d.officer_id) THEN NULL
    ELSE 'not_case_officer' END";

/// Evidence records with the inspection they name and the device that sent them.
pub(crate) const RECORDS_OF_CASES: &str = "evidence_records e
    JOIN inspections i ON i.id = e.inspection_id
    JOIN devices d ON d.id = e.device_id";

/// A duration in hours as milliseconds (configured hours are bounded).
pub(crate) fn hours_ms(hours: u64) -> i64 {
    i64::try_from(hours).unwrap_or(i64::MAX / 3_600_000) * 3_600_000
}

/// `substr(column, 1, length(code)) = code`: the column's code lies within the
/// jurisdiction `code`, [`fieldproof_core::model::division::covers`] in SQL.
/// Written with a cast so PostgreSQL types the parameter as text.
pub(crate) fn within_jurisdiction(column: &str, placeholder: &str) -> String {
    format!(
        "substr({column}, 1, length(CAST({placeholder} AS TEXT))) = CAST({placeholder} AS TEXT)"
    )
}

/// The conditions that keep a list within the `jurisdiction` it asks for and
/// the `scope` its reader may see, added to `conditions` with their `values`.
pub(crate) fn jurisdiction_conditions(
    column: &str,
    asked: Option<&str>,
    scope: &Scope,
    conditions: &mut Vec<String>,
    values: &mut Vec<Value>,
) -> Result<()> {
    if let Some(code) = asked {
        check_jurisdiction(code)?;
        values.push(code.into());
        conditions.push(within_jurisdiction(column, &format!("${}", values.len())));
    }
    if let Some(codes) = scope.codes() {
        let mut any = Vec::with_capacity(codes.len());
        for code in codes {
            values.push(code.into());
            any.push(within_jurisdiction(column, &format!("${}", values.len())));
        }
        // No grant at all sees nothing.
        conditions.push(match any.is_empty() {
            true => "1 = 0".to_owned(),
            false => format!("({})", any.join(" OR ")),
        });
    }
    Ok(())
}

/// `WHERE` and the conditions joined by `AND`; nothing for none.
pub(crate) fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// `id` and the revisions it amends, back to the original (`id` first).
pub(crate) fn amended_revisions(tx: &mut Tx, id: &str) -> Result<Vec<String>> {
    let mut back = vec![id.to_owned()];
    loop {
        let row = tx
            .query_opt(
                "SELECT amends_id FROM inspections WHERE id = $1",
                params![back.last()],
            )?
            .ok_or(Error::NotFound { what: "inspection" })?;
        match row.opt_text(0)? {
            // A loop in stored data must not hang a review or a case file.
            Some(earlier) if !back.contains(&earlier) => back.push(earlier),
            _ => return Ok(back),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let cursor = Cursor {
            time_ms: 1_790_000_000_123,
            id: "0190f3a4-7b1c-7def-8000-0123456789ab".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        for bad in [
            "",
            "!!",
            "MTIz",
            &URL_SAFE_NO_PAD.encode("x:0190f3a4-7b1c-7def-8000-0123456789ab"),
            &URL_SAFE_NO_PAD.encode("12:../etc"),
        ] {
            assert_eq!(
                Cursor::decode(bad).unwrap_err().code(),
                "invalid_cursor",
                "{bad}"
            );
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE);
        assert_eq!(page_size(Some(MAX_PAGE)).unwrap(), MAX_PAGE);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(MAX_PAGE + 1)).is_err());
    }
}

//! The figures a county office looks at first: per county and matter, this
//! week's and this month's inspections (received, awaiting review, accepted,
//! returned, with flagged evidence), and per county the tasks open and
//! overdue, within the reader's scope. Weeks start on Monday and months on the
//! 1st, in Beijing time. Counted in SQL from an index that holds every column
//! the count reads (`inspections_dashboard`): the rows themselves, with their
//! large bodies, are never read.

use super::inspections::flagged_cases_sql;
use super::{jurisdiction_conditions, where_clause};
use crate::error::Result;
use crate::people::Scope;
use crate::storage::{Tx, Value};
use fieldproof_core::time::CivilTime;

/// Inspections received in a period, by where they stand now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub received: i64,
    pub awaiting: i64,
    pub accepted: i64,
    pub returned: i64,
    pub flagged: i64,
}

/// One county and matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterRow {
    pub county: String,
    pub matter: String,
    pub week: Counts,
    pub month: Counts,
}

/// One county's tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub county: String,
    pub open: i64,
    pub overdue: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dashboard {
    pub matters: Vec<MatterRow>,
    pub tasks: Vec<TaskRow>,
}

/// China Standard Time: UTC+8 all year (no daylight saving). Weeks and months
/// are counted in it.
pub const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The starts of this week (Monday) and this month in Beijing time, UTC ms.
pub fn periods(now_ms: i64) -> (i64, i64) {
    let local = now_ms + BEIJING_OFFSET_MS;
    let day = local.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday: Monday is 0.
    let weekday = (day + 3).rem_euclid(7);
    let week = (day - weekday) * DAY_MS - BEIJING_OFFSET_MS;
    let today = CivilTime::from_ms(local);
    let first = CivilTime {
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        millis: 0,
        ..today
    };
    let month = first.to_ms().unwrap_or(local) - BEIJING_OFFSET_MS;
    (week, month)
}

/// The queries behind the figures per county and matter, and their
/// parameters: the counts by review status, from the `inspections_dashboard`
/// index alone (every column it reads is in it); then the flagged ones, from
/// the few flagged evidence records ([`flagged_cases_sql`]). Joining the
/// flagged set to every row instead took half the time again.
pub fn matters_queries(
    scope: &Scope,
    week_start_ms: i64,
    month_start_ms: i64,
) -> Result<[(String, Vec<Value>); 2]> {
    let (mut conditions, mut values) = (Vec::new(), Vec::<Value>::new());
    values.push(week_start_ms.into());
    values.push(month_start_ms.into());
    values.push(week_start_ms.min(month_start_ms).into());
    conditions.push("x.received_ms >= $3".to_owned());
    jurisdiction_conditions("x.jurisdiction", None, scope, &mut conditions, &mut values)?;
    let filter = where_clause(&conditions);
    let counts = |period: &str| {
        format!(
            "SUM(CASE WHEN x.received_ms >= {period} THEN 1 ELSE 0 END),
             SUM(CASE WHEN x.received_ms >= {period} AND x.status = 'submitted' THEN 1 ELSE 0 END),
             SUM(CASE WHEN x.received_ms >= {period} AND x.status = 'accepted' THEN 1 ELSE 0 END),
             SUM(CASE WHEN x.received_ms >= {period} AND x.status = 'returned' THEN 1 ELSE 0 END)"
        )
    };
    const GROUPS: &str =
        "GROUP BY substr(x.jurisdiction, 1, 6), coalesce(x.matter, '') ORDER BY 1, 2";
    let statuses = format!(
        "SELECT substr(x.jurisdiction, 1, 6), coalesce(x.matter, ''), {}, {} FROM inspections x {filter} {GROUPS}",
        counts("$1"),
        counts("$2"),
    );
    let flagged = format!(
        "SELECT substr(x.jurisdiction, 1, 6), coalesce(x.matter, ''),
                SUM(CASE WHEN x.received_ms >= $1 THEN 1 ELSE 0 END),
                SUM(CASE WHEN x.received_ms >= $2 THEN 1 ELSE 0 END)
         FROM ({}) f JOIN inspections x ON x.id = f.id {filter} {GROUPS}",
        flagged_cases_sql()
    );
    Ok([(statuses, values.clone()), (flagged, values)])
}

/// The query behind the tasks open and overdue per county, and its parameters.
pub fn tasks_query(scope: &Scope, now_ms: i64) -> Result<(String, Vec<Value>)> {
    let (mut conditions, mut values) = (
        vec!["state <> 'closed'".to_owned()],
        vec![Value::from(now_ms)],
    );
    jurisdiction_conditions("jurisdiction", None, scope, &mut conditions, &mut values)?;
    let sql = format!(
        "SELECT substr(jurisdiction, 1, 6), COUNT(*),
                SUM(CASE WHEN due_ms IS NOT NULL AND due_ms < $1 THEN 1 ELSE 0 END)
         FROM tasks {} GROUP BY substr(jurisdiction, 1, 6) ORDER BY 1",
        where_clause(&conditions)
    );
    Ok((sql, values))
}

/// The figures from `week_start_ms` and from `month_start_ms` to now.
pub fn figures(
    tx: &mut Tx,
    scope: &Scope,
    week_start_ms: i64,
    month_start_ms: i64,
    now_ms: i64,
) -> Result<Dashboard> {
    let [(statuses, values), (flagged, flagged_values)] =
        matters_queries(scope, week_start_ms, month_start_ms)?;
    let read = |row: &crate::storage::Row, at: usize| -> Result<Counts> {
        Ok(Counts {
            received: row.int(at)?,
            awaiting: row.int(at + 1)?,
            accepted: row.int(at + 2)?,
            returned: row.int(at + 3)?,
            flagged: 0,
        })
    };
    let mut matters = tx
        .query(&statuses, &values)?
        .iter()
        .map(|row| {
            Ok(MatterRow {
                county: row.text(0)?,
                matter: row.text(1)?,
                week: read(row, 2)?,
                month: read(row, 6)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for row in tx.query(&flagged, &flagged_values)? {
        let (county, matter) = (row.text(0)?, row.text(1)?);
        // Every flagged case is a received one: its group is there.
        if let Some(m) = matters
            .iter_mut()
            .find(|m| m.county == county && m.matter == matter)
        {
            m.week.flagged = row.int(2)?;
            m.month.flagged = row.int(3)?;
        }
    }
    let (sql, values) = tasks_query(scope, now_ms)?;
    let tasks = tx
        .query(&sql, &values)?
        .iter()
        .map(|row| {
            Ok(TaskRow {
                county: row.text(0)?,
                open: row.int(1)?,
                overdue: row.int(2)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Dashboard { matters, tasks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first_in_beijing() {
        // 2026-12-07 10:00 UTC is Monday 18:00 in Beijing.
        let now = 1_796_637_600_000;
        let (week, month) = periods(now);
        assert_eq!(
            week, 1_796_572_800_000,
            "2026-12-06T16:00Z = Monday 00:00 +08:00"
        );
        assert_eq!(
            month, 1_796_054_400_000,
            "2026-11-30T16:00Z = 1 December 00:00 +08:00"
        );
        // Sunday 23:59 Beijing is still the week before.
        let (earlier, _) = periods(week - 60_000);
        assert_eq!(earlier, week - 7 * DAY_MS);
        // 1 January 00:30 Beijing is still 31 December in UTC: January's month.
        let new_year = 1_798_734_600_000; // 2026-12-31T16:30Z
        assert_eq!(periods(new_year).1, 1_798_732_800_000);
    }
}

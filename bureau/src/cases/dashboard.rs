//! The figures a county office looks at first: per county and matter, this
//! week's and this month's inspections (received, awaiting review, accepted,
//! returned, with flagged evidence), and per county the tasks open and
//! overdue. Counted in SQL over the `(received_ms, id)` index, within the
//! reader's scope.

use super::inspections::{evidence_condition, Verification};
use super::{jurisdiction_conditions, where_clause};
use crate::error::Result;
use crate::people::Scope;
use crate::storage::{Tx, Value};
use std::collections::BTreeMap;

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

/// The periods counted: from `week_start_ms` and from `month_start_ms` to now.
pub fn figures(
    tx: &mut Tx,
    scope: &Scope,
    week_start_ms: i64,
    month_start_ms: i64,
    now_ms: i64,
) -> Result<Dashboard> {
    let (mut conditions, mut values) = (Vec::new(), Vec::<Value>::new());
    values.push(week_start_ms.into());
    values.push(month_start_ms.into());
    values.push(week_start_ms.min(month_start_ms).into());
    conditions.push("received_ms >= $3".to_owned());
    jurisdiction_conditions("jurisdiction", None, scope, &mut conditions, &mut values)?;
    let flagged = evidence_condition(Verification::Flagged);
    let counts = |period: &str| {
        format!(
            "SUM(CASE WHEN received_ms >= {period} THEN 1 ELSE 0 END),
             SUM(CASE WHEN received_ms >= {period} AND status = 'submitted' THEN 1 ELSE 0 END),
             SUM(CASE WHEN received_ms >= {period} AND status = 'accepted' THEN 1 ELSE 0 END),
             SUM(CASE WHEN received_ms >= {period} AND status = 'returned' THEN 1 ELSE 0 END),
             SUM(CASE WHEN received_ms >= {period} AND {flagged} THEN 1 ELSE 0 END)"
        )
    };
    let rows = tx.query(
        &format!(
            "SELECT substr(jurisdiction, 1, 6), coalesce(matter, ''), {}, {} FROM inspections {}
             GROUP BY substr(jurisdiction, 1, 6), coalesce(matter, '') ORDER BY 1, 2",
            counts("$1"),
            counts("$2"),
            where_clause(&conditions)
        ),
        &values,
    )?;
    let read = |row: &crate::storage::Row, at: usize| -> Result<Counts> {
        Ok(Counts {
            received: row.int(at)?,
            awaiting: row.int(at + 1)?,
            accepted: row.int(at + 2)?,
            returned: row.int(at + 3)?,
            flagged: row.int(at + 4)?,
        })
    };
    let matters = rows
        .iter()
        .map(|row| {
            Ok(MatterRow {
                county: row.text(0)?,
                matter: row.text(1)?,
                week: read(row, 2)?,
                month: read(row, 7)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let (mut conditions, mut values) = (
        vec!["state <> 'closed'".to_owned()],
        vec![Value::from(now_ms)],
    );
    jurisdiction_conditions("jurisdiction", None, scope, &mut conditions, &mut values)?;
    let rows = tx.query(
        &format!(
            "SELECT substr(jurisdiction, 1, 6), COUNT(*),
                    SUM(CASE WHEN due_ms IS NOT NULL AND due_ms < $1 THEN 1 ELSE 0 END)
             FROM tasks {} GROUP BY substr(jurisdiction, 1, 6) ORDER BY 1",
            where_clause(&conditions)
        ),
        &values,
    )?;
    let mut tasks: BTreeMap<String, TaskRow> = BTreeMap::new();
    for row in rows {
        let county = row.text(0)?;
        tasks.insert(
            county.clone(),
            TaskRow {
                county,
                open: row.int(1)?,
                overdue: row.int(2)?,
            },
        );
    }
    Ok(Dashboard {
        matters,
        tasks: tasks.into_values().collect(),
    })
}

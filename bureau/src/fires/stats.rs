//! The figures a county is judged on: for the fire events first detected in
//! a period, per county and per township, how many were dispatched, visited
//! in time (a proven visit no later than the due time), overdue (past due,
//! not closed), the median and 90th percentile time from the first detection
//! to the proven visit, and the shares of closed tasks confirmed as burning
//! and found to be static sources. Computed from the event and task rows
//! alone, so the figures always reconcile with them.

use crate::cases::{reference_data, within_jurisdiction};
use crate::enrollment::check_jurisdiction;
use crate::error::{Error, Result};
use crate::storage::{Tx, Value};
use fieldproof_core::model::task::{FireVerdict, TaskState};
use fieldproof_core::wire::fires::{AreaFigures, FireFigures, FireStats, OverdueEvent};
use std::collections::BTreeMap;

/// One event as the figures weigh it.
struct EventRow {
    id: String,
    jurisdiction: String,
    first_ms: i64,
    task_id: String,
    state: TaskState,
    due_ms: Option<i64>,
    visited_ms: Option<i64>,
    verdict: Option<FireVerdict>,
}

/// Figures being added up, with the times to visit for the percentiles.
#[derive(Default)]
struct Tally {
    figures: FireFigures,
    to_visit_ms: Vec<i64>,
}

impl Tally {
    fn add(&mut self, e: &EventRow, now: i64) {
        let f = &mut self.figures;
        f.events += 1;
        f.dispatched += 1;
        let closed = e.state == TaskState::Closed;
        if closed {
            f.closed += 1;
            match e.verdict {
                Some(FireVerdict::ConfirmedBurning) => f.confirmed_burning += 1,
                Some(FireVerdict::StaticSource) => f.static_source += 1,
                _ => {}
            }
        }
        if let Some(visited) = e.visited_ms {
            self.to_visit_ms.push(visited - e.first_ms);
            if e.due_ms.is_none_or(|due| visited <= due) {
                f.visited_in_time += 1;
            }
        }
        if overdue(e, now) {
            f.overdue += 1;
        }
    }

    fn finish(mut self) -> FireFigures {
        self.to_visit_ms.sort_unstable();
        let f = &mut self.figures;
        f.median_to_visit_ms = percentile(&self.to_visit_ms, 50);
        f.p90_to_visit_ms = percentile(&self.to_visit_ms, 90);
        let ratio = |n: u64| (f.closed > 0).then(|| n as f64 / f.closed as f64);
        f.confirmed_ratio = ratio(f.confirmed_burning);
        f.static_source_ratio = ratio(f.static_source);
        self.figures
    }
}

fn overdue(e: &EventRow, now: i64) -> bool {
    e.state != TaskState::Closed && e.due_ms.is_some_and(|due| due < now)
}

/// The nearest-rank percentile `p` of sorted `values`.
fn percentile(values: &[i64], p: usize) -> Option<i64> {
    let rank = (values.len() * p).div_ceil(100).max(1);
    values.get(rank - 1).copied()
}

/// The figures for events first detected in `[from_ms, to_ms)` within
/// `jurisdiction` (all when `None`), as of `now`.
pub fn stats(
    tx: &mut Tx,
    jurisdiction: Option<&str>,
    from_ms: i64,
    to_ms: i64,
    now: i64,
) -> Result<FireStats> {
    if to_ms <= from_ms {
        return Err(Error::InvalidRequest {
            reason: "to must be after from".into(),
        });
    }
    let mut values: Vec<Value> = vec![from_ms.into(), to_ms.into()];
    let mut within = String::new();
    if let Some(code) = jurisdiction {
        check_jurisdiction(code)?;
        values.push(code.into());
        within = format!("AND {}", within_jurisdiction("e.jurisdiction", "$3"));
    }
    let rows = tx.query(
        &format!(
            "SELECT e.id, e.jurisdiction, e.first_ms, e.task_id, t.state, t.due_ms, t.visited_ms,
                    t.verdict
             FROM fire_events e JOIN tasks t ON t.id = e.task_id
             WHERE e.first_ms >= $1 AND e.first_ms < $2 {within}
             ORDER BY e.first_ms, e.id"
        ),
        &values,
    )?;
    let events = rows
        .iter()
        .map(|r| {
            Ok(EventRow {
                id: r.text(0)?,
                jurisdiction: r.text(1)?,
                first_ms: r.int(2)?,
                task_id: r.text(3)?,
                state: TaskState::from_code(&r.text(4)?).ok_or_else(|| Error::Storage {
                    reason: "a stored task state is not readable".into(),
                })?,
                due_ms: r.opt_int(5)?,
                visited_ms: r.opt_int(6)?,
                verdict: r.opt_text(7)?.as_deref().and_then(FireVerdict::from_code),
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let mut total = Tally::default();
    let mut counties: BTreeMap<String, Tally> = BTreeMap::new();
    let mut townships: BTreeMap<String, Tally> = BTreeMap::new();
    for e in &events {
        total.add(e, now);
        let county = e.jurisdiction.get(..6).unwrap_or(&e.jurisdiction);
        counties.entry(county.to_owned()).or_default().add(e, now);
        if e.jurisdiction.len() >= 9 {
            townships
                .entry(e.jurisdiction.clone())
                .or_default()
                .add(e, now);
        }
    }
    let names: BTreeMap<String, String> = reference_data::list_boundaries(tx)?
        .into_iter()
        .map(|b| (b.code, b.name))
        .collect();
    let areas = |tallies: BTreeMap<String, Tally>| -> Vec<AreaFigures> {
        tallies
            .into_iter()
            .map(|(code, tally)| AreaFigures {
                name: names.get(&code).cloned().filter(|n| !n.is_empty()),
                code,
                figures: tally.finish(),
            })
            .collect()
    };
    let mut overdue_events: Vec<OverdueEvent> = events
        .iter()
        .filter(|e| overdue(e, now))
        .map(|e| OverdueEvent {
            event_id: e.id.clone(),
            task_id: e.task_id.clone(),
            jurisdiction: e.jurisdiction.clone(),
            first_detected_ms: e.first_ms,
            due_ms: e.due_ms.unwrap_or_default(),
            state: e.state,
        })
        .collect();
    overdue_events.sort_by(|a, b| (a.due_ms, &a.event_id).cmp(&(b.due_ms, &b.event_id)));
    Ok(FireStats {
        from_ms,
        to_ms,
        jurisdiction: jurisdiction.map(str::to_owned),
        total: total.finish(),
        counties: areas(counties),
        townships: areas(townships),
        overdue_events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 50), Some(5));
        assert_eq!(percentile(&ten, 90), Some(9));
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
    }
}

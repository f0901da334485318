//! The first page after signing in: this week's and this month's figures per
//! county and matter, and the tasks open and overdue, within the viewer's scope.

use super::labels;
use super::page::{page, BEIJING_OFFSET_MS};
use super::viewer::Viewer;
use super::PageResult;
use crate::api::{blocking, State};
use crate::cases::dashboard::{self, Counts};
use crate::now_ms;
use axum::extract::State as Extract;
use axum::response::IntoResponse;
use fieldproof_core::time::CivilTime;
use maud::{html, Markup};

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

fn cells(c: &Counts) -> Markup {
    html! {
        td { (c.received) } td { (c.awaiting) } td { (c.accepted) } td { (c.returned) }
        td class=@if c.flagged > 0 { "alert" } { (c.flagged) }
    }
}

pub async fn page_handler(viewer: Viewer, Extract(state): Extract<State>) -> PageResult {
    let scope = viewer.actor.scope();
    let now = now_ms();
    let (week, month) = periods(now);
    let figures = blocking(&state, move |b| {
        b.db.read(|tx| dashboard::figures(tx, &scope, week, month, now))
    })
    .await?;
    let heads =
        html! { th { "接收" } th { "待审核" } th { "已通过" } th { "已退回" } th { "证据有问题" } };
    let body = html! {
        section {
            h2 { "案件（本周 / 本月）" }
            table.dashboard {
                thead {
                    tr { th rowspan="2" { "区县" } th rowspan="2" { "事项" } th colspan="5" { "本周" } th colspan="5" { "本月" } }
                    tr { (heads) (heads) }
                }
                tbody {
                    @for row in &figures.matters {
                        tr { td { (row.county) } td { (labels::matter(&row.matter)) } (cells(&row.week)) (cells(&row.month)) }
                    }
                }
            }
            @if figures.matters.is_empty() { p.empty { "本月尚未收到案件。" } }
        }
        section {
            h2 { "任务" }
            table.dashboard {
                thead { tr { th { "区县" } th { "未办结" } th { "已超期" } } }
                tbody {
                    @for row in &figures.tasks {
                        tr { td { (row.county) } td { a href="/console/tasks" { (row.open) } } td class=@if row.overdue > 0 { "alert" } { (row.overdue) } }
                    }
                }
            }
            @if figures.tasks.is_empty() { p.empty { "没有未办结的任务。" } }
        }
    };
    Ok(page(&viewer, "概览", body).into_response())
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
    }
}

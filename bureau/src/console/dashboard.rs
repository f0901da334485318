//! The first page after signing in: this week's and this month's figures per
//! county and matter, and the tasks open and overdue, within the viewer's scope.

use super::labels;
use super::page::page;
use super::viewer::Viewer;
use super::PageResult;
use crate::api::{blocking, State};
use crate::cases::dashboard::{self, periods, Counts};
use crate::now_ms;
use axum::extract::State as Extract;
use axum::response::IntoResponse;
use maud::{html, Markup};

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

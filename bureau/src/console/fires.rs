//! Satellite fire points: the figures a county is judged on (events, tasks
//! made, visits proven in time, overdue, closed, confirmed burning) per county
//! and township for a period, and the overdue events, within the viewer's
//! jurisdictions ([`crate::fires::stats`], as `GET /v1/admin/fires/stats`).

use super::page::{page, when, BEIJING_OFFSET_MS};
use super::viewer::{PageQuery, Viewer};
use super::PageResult;
use crate::api::{blocking, State};
use crate::error::Error;
use crate::fires::stats;
use crate::now_ms;
use axum::extract::State as Extract;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use fieldproof_core::wire::fires::{AreaFigures, FireFigures};
use maud::{html, Markup};
use serde::Deserialize;

pub fn routes() -> Router<State> {
    Router::new().route("/console/fires", get(figures))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FiguresQuery {
    jurisdiction: Option<String>,
    days: Option<i64>,
}

fn row(code: &str, name: Option<&str>, f: &FireFigures) -> Markup {
    html! {
        tr {
            td { (code) " " (name.unwrap_or("")) }
            td { (f.events) } td { (f.dispatched) } td { (f.visited_in_time) }
            td class=@if f.overdue > 0 { "alert" } { (f.overdue) }
            td { (f.closed) } td { (f.confirmed_burning) } td { (f.static_source) }
            td { (f.median_to_visit_ms.map_or("—".to_owned(), |ms| format!("{:.1} 小时", ms as f64 / 3_600_000.0))) }
        }
    }
}

fn table(areas: &[AreaFigures]) -> Markup {
    html! {
        table.fires {
            thead { tr { th { "辖区" } th { "火点事件" } th { "已派任务" } th { "按时到场" } th { "超期" } th { "已办结" } th { "确认焚烧" } th { "固定热源" } th { "到场中位时长" } } }
            tbody { @for a in areas { (row(&a.code, a.name.as_deref(), &a.figures)) } }
        }
    }
}

async fn figures(
    viewer: Viewer,
    Extract(state): Extract<State>,
    PageQuery(q): PageQuery<FiguresQuery>,
) -> PageResult {
    let asked = q.jurisdiction.filter(|j| !j.trim().is_empty());
    let jurisdiction = viewer.actor.figures_for(asked)?;
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(Error::InvalidRequest {
            reason: "days: 1 to 366".into(),
        }
        .into());
    }
    let now = now_ms();
    let from = now - days * 86_400_000;
    let place = jurisdiction.clone();
    let figures = blocking(&state, move |b| {
        b.db.read(|tx| stats::stats(tx, place.as_deref(), from, now, now))
    })
    .await?;
    let body = html! {
        form.filters method="get" action="/console/fires" {
            label { "辖区代码" input name="jurisdiction" value=[jurisdiction.as_deref()] inputmode="numeric"; }
            label { "最近天数" input name="days" type="number" min="1" max="366" value=(days); }
            button type="submit" { "查看" }
        }
        p { (when(from)) " 至 " (when(now)) "（北京时间 UTC+" (BEIJING_OFFSET_MS / 3_600_000) "）" }
        table.fires { tbody { (row("合计", None, &figures.total)) } }
        h2 { "各区县" } (table(&figures.counties))
        h2 { "各乡镇" } (table(&figures.townships))
        h2 { "超期未办结" }
        @if figures.overdue_events.is_empty() { p.empty { "没有超期的火点任务。" } }
        @else {
            ul { @for e in &figures.overdue_events {
                li { a href=(format!("/console/tasks#task-{}", e.task_id)) { (e.jurisdiction) } " · 期限 " (when(e.due_ms)) }
            } }
        }
    };
    Ok(page(&viewer, "卫星火点", body).into_response())
}

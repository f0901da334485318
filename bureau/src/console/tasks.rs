//! Dispatch: the tasks within the viewer's jurisdictions and where each
//! stands, and a new task — from the map (a click fills the place), from a
//! case (its site), or typed in.

use super::labels;
use super::page::{csrf_field, notice, page, when, when_opt};
use super::viewer::{PageQuery, PostedForm, Viewer};
use super::PageResult;
use crate::acts;
use crate::api::{blocking, State};
use crate::cases::tasks::{self, NewLocation, NewTask, TaskFilter};
use crate::error::Error;
use crate::people::StaffRole;
use axum::extract::State as Extract;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use fieldproof_core::geo::datum::LatLon;
use maud::{html, Markup};
use serde::Deserialize;

pub fn routes() -> Router<State> {
    Router::new().route("/console/tasks", get(list).post(create))
}

/// Where a task starts from (a case): its jurisdiction and site (WGS-84), if any.
pub struct Place {
    pub at: Option<LatLon>,
    pub jurisdiction: String,
}

/// The new-task form; the map page's script fills `lat`/`lon` from a click.
pub fn task_form(viewer: &Viewer, place: Option<&Place>) -> Markup {
    html! {
        form.task method="post" action="/console/tasks" {
            (csrf_field(viewer))
            label { "辖区代码" input name="jurisdiction" required inputmode="numeric" value=[place.map(|p| &p.jurisdiction)]; }
            label { "任务" input name="title" required maxlength="200" placeholder="如：核查火点"; }
            label { "说明" textarea name="note" rows="2" maxlength="2000" {} }
            label { "纬度" input name="lat" data-pick="lat" inputmode="decimal" value=[place.and_then(|p| p.at).map(|at| at.lat)]; }
            label { "经度" input name="lon" data-pick="lon" inputmode="decimal" value=[place.and_then(|p| p.at).map(|at| at.lon)]; }
            label { "坐标系"
                select name="datum" data-pick="datum" {
                    option value="wgs84" { "WGS-84（GPS）" }
                    option value="gcj02" { "GCJ-02（国内地图）" }
                }
            }
            label { "期限（小时）" input name="due_hours" type="number" min="1" max="720" value="24"; }
            button type="submit" { "派发任务" }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    done: Option<String>,
    cursor: Option<String>,
}

async fn list(
    viewer: Viewer,
    Extract(state): Extract<State>,
    PageQuery(q): PageQuery<ListQuery>,
) -> PageResult {
    let filter = TaskFilter {
        scope: viewer.actor.scope(),
        jurisdiction: None,
        state: q
            .state
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(tasks::parse_state)
            .transpose()?,
        limit: None,
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
    };
    let tasks = blocking(&state, move |b| {
        b.db.read(|tx| tasks::list(tx, &filter, &b.fires))
    })
    .await?;
    let may_dispatch = viewer.actor.require_role(StaffRole::Dispatcher).is_ok();
    let now = crate::now_ms();
    let body = html! {
        (notice(q.done.as_deref()))
        table.tasks {
            thead { tr { th { "派发时间" } th { "辖区" } th { "任务" } th { "状态" } th { "期限" } } }
            tbody {
                @for t in &tasks.items {
                    tr id=(format!("task-{}", t.task.id)) {
                        td { (when(t.task.created_ms)) }
                        td { (t.task.jurisdiction) }
                        td { (t.task.title) @if let Some(note) = &t.task.note { br; small { (note) } } }
                        td { span class=(format!("badge {}", t.state.code())) { (labels::task_state(t.state.code())) }
                            @if t.unreceived { " · 尚无设备接收" } }
                        td { (when_opt(t.task.due_ms))
                            @if t.task.due_ms.is_some_and(|due| due < now) && t.state.code() != "closed" { " " span.badge.overdue { "已超期" } } }
                    }
                }
            }
        }
        @if tasks.items.is_empty() { p.empty { "没有任务。" } }
        @if let Some(next) = &tasks.next_cursor {
            p.more { a rel="next" href=(format!("/console/tasks?cursor={next}")) { "下一页 →" } }
        }
        @if may_dispatch {
            h2 { "派发新任务" }
            (task_form(&viewer, None))
        }
    };
    Ok(page(&viewer, "任务", body).into_response())
}

#[derive(Deserialize)]
struct TaskForm {
    #[serde(default)]
    csrf: String,
    jurisdiction: String,
    title: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    datum: Option<String>,
    due_hours: Option<String>,
}

impl TaskForm {
    fn new_task(&self) -> Result<NewTask, Error> {
        let number = |text: &str, field: &'static str| {
            text.trim()
                .parse::<f64>()
                .map_err(|_| Error::InvalidCoordinate { field })
        };
        let location = match (self.lat.trim(), self.lon.trim()) {
            ("", "") => None,
            (lat, lon) => Some(NewLocation {
                lat: number(lat, "lat")?,
                lon: number(lon, "lon")?,
                datum: self.datum.clone().unwrap_or_else(|| "wgs84".into()),
            }),
        };
        let due_ms = match self
            .due_hours
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
        {
            Some(hours) => {
                let hours: i64 = hours.parse().ok().filter(|h| (1..=720).contains(h)).ok_or(
                    Error::InvalidRequest {
                        reason: "due_hours: 1 to 720".into(),
                    },
                )?;
                Some(crate::now_ms() + hours * 3_600_000)
            }
            None => None,
        };
        Ok(NewTask {
            jurisdiction: self.jurisdiction.trim().to_owned(),
            title: self.title.trim().to_owned(),
            note: Some(self.note.trim().to_owned()).filter(|n| !n.is_empty()),
            location,
            due_ms,
        })
    }
}

async fn create(
    viewer: Viewer,
    Extract(state): Extract<State>,
    PostedForm(form): PostedForm<TaskForm>,
) -> PageResult {
    viewer.check_form(&form.csrf)?;
    let new = form.new_task()?;
    let actor = viewer.actor.clone();
    blocking(&state, move |b| {
        b.db.write(|tx| acts::create_task(tx, &actor, &new))
    })
    .await?;
    Ok(Redirect::to("/console/tasks?done=task").into_response())
}

//! People (admins): the accounts of the viewer's jurisdictions, a new account,
//! disabling one; and the audit log, with its CSV export.

use super::labels;
use super::page::{csrf_field, notice, page, when, Done};
use super::viewer::{CsrfOnly, PageQuery, PostedForm, Viewer};
use super::PageResult;
use crate::acts;
use crate::api::{blocking, State};
use crate::cases::DEFAULT_PAGE;
use crate::now_ms;
use crate::parse_id;
use crate::people::accounts::{self, NewStaffUser};
use crate::people::{audit, Grant, StaffRole};
use axum::extract::{Path, State as Extract};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde::Deserialize;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/users", get(users).post(create_user))
        .route("/console/users/{id}/disable", post(disable_user))
        .route("/console/audit", get(audit_log))
}

async fn users(
    viewer: Viewer,
    Extract(state): Extract<State>,
    PageQuery(done): PageQuery<Done>,
) -> PageResult {
    viewer.actor.require_role(StaffRole::Admin)?;
    let admin_over = viewer.actor.scope_for(StaffRole::Admin);
    let users = blocking(&state, |b| b.db.read(accounts::list)).await?;
    let body = html! {
        (notice(done.done.as_deref()))
        table.users {
            thead { tr { th { "用户名" } th { "姓名" } th { "角色" } th { "创建时间" } th { "状态" } } }
            tbody {
                @for u in users.iter().filter(|u| acts::manages(&admin_over, u)) {
                    tr {
                        td { (u.username) }
                        td { (u.display_name) }
                        td { (labels::grants(&u.grants)) }
                        td { (when(u.created_ms)) }
                        td {
                            @if let Some(at) = u.disabled_ms { "已停用 " (when(at)) }
                            @else {
                                form.inline method="post" action=(format!("/console/users/{}/disable", u.id)) {
                                    (csrf_field(&viewer))
                                    button type="submit" data-confirm="停用后该账号立即退出且不能再登录，确定？" { "停用" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "新建账号" }
        form.user method="post" action="/console/users" {
            (csrf_field(&viewer))
            label { "用户名" input name="username" required pattern="[a-z0-9._-]{3,32}" autocomplete="off"; }
            label { "姓名" input name="display_name" required maxlength="100"; }
            label { "初始密码（至少 10 个字符）" input name="password" type="password" required minlength="10" autocomplete="new-password"; }
            label { "角色"
                select name="role" {
                    @for role in StaffRole::ALL { option value=(role.code()) { (labels::role(role)) } }
                }
            }
            label { "辖区代码" input name="jurisdiction" required inputmode="numeric"; }
            button type="submit" { "创建" }
        }
    };
    Ok(page(&viewer, "人员", body).into_response())
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    username: String,
    display_name: String,
    password: String,
    role: String,
    jurisdiction: String,
}

async fn create_user(
    viewer: Viewer,
    Extract(state): Extract<State>,
    PostedForm(form): PostedForm<UserForm>,
) -> PageResult {
    viewer.check_form(&form.csrf)?;
    let role = crate::people::access::parse_role(&form.role)?;
    let new = NewStaffUser {
        username: form.username,
        display_name: form.display_name,
        password: form.password,
        grants: vec![Grant {
            role,
            jurisdiction: form.jurisdiction.trim().to_owned(),
        }],
    };
    acts::check_new_user(&viewer.actor, &new)?;
    let actor = viewer.actor.clone();
    blocking(&state, move |b| {
        let hash = accounts::hash_password(&new.password)?;
        b.db.write(|tx| acts::create_user(tx, &actor, &new, &hash))
    })
    .await?;
    Ok(Redirect::to("/console/users?done=user").into_response())
}

async fn disable_user(
    viewer: Viewer,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
    PostedForm(form): PostedForm<CsrfOnly>,
) -> PageResult {
    viewer.check_form(&form.csrf)?;
    let id = parse_id(&id, "user id")?;
    let actor = viewer.actor.clone();
    blocking(&state, move |b| {
        b.db.write(|tx| acts::disable_user(tx, &actor, &id, now_ms()))
    })
    .await?;
    Ok(Redirect::to("/console/users?done=disabled").into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    cursor: Option<String>,
}

async fn audit_log(
    viewer: Viewer,
    Extract(state): Extract<State>,
    PageQuery(q): PageQuery<AuditQuery>,
) -> PageResult {
    viewer.actor.require_role(StaffRole::Admin)?;
    let cursor = q.cursor.filter(|c| !c.is_empty());
    let scope = viewer.actor.scope_for(StaffRole::Admin);
    let entries = blocking(&state, move |b| {
        b.db.read(|tx| audit::list(tx, &scope, cursor.as_deref(), DEFAULT_PAGE))
    })
    .await?;
    let body = html! {
        p { a href="/v1/admin/audit?format=csv" download { "导出 CSV（最近 10,000 条）" } }
        table.audit {
            thead { tr { th { "序号" } th { "时间" } th { "操作人" } th { "操作" } th { "对象" } th { "辖区" } th { "详情" } } }
            tbody {
                @for e in &entries.items {
                    tr { td { (e.seq) } td { (when(e.at_ms)) } td { code { (e.actor) } } td { (e.action) } td { code { (e.subject) } }
                         td { (e.jurisdiction.as_deref().unwrap_or("—")) } td { code { (e.detail.to_string()) } } }
                }
            }
        }
        @if let Some(next) = &entries.next_cursor {
            p.more { a rel="next" href=(format!("/console/audit?cursor={next}")) { "更早 →" } }
        }
    };
    Ok(page(&viewer, "审计日志", body).into_response())
}

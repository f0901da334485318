//! The page every console screen sits in (title, navigation by role, the
//! signed-in person, logout), and the small pieces pages share: times in
//! Beijing time, the CSRF field, the error page.

use super::labels;
use super::viewer::Viewer;
use crate::error::Error;
use crate::people::StaffRole;
use fieldproof_core::time::CivilTime;
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub use crate::cases::dashboard::BEIJING_OFFSET_MS;

/// `2026-12-07 18:39` in Beijing time.
pub fn when(ms: i64) -> String {
    let t = CivilTime::from_ms(ms + BEIJING_OFFSET_MS);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute
    )
}

/// An optional time, or a dash.
pub fn when_opt(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_owned(), when)
}

/// The hidden field that carries the session's CSRF token in a form.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf()); }
}

/// A whole page for a signed-in viewer: `title` and `body` in the shell.
pub fn page(viewer: &Viewer, title: &str, body: Markup) -> Markup {
    let roles = |role| viewer.actor.require_role(role).is_ok();
    shell(
        title,
        html! {
            header.top {
                a.brand href="/console/" { "秸秆禁烧执法 · 局端" }
                nav {
                    a href="/console/" { "概览" }
                    a href="/console/cases" { "案件" }
                    a href="/console/tasks" { "任务" }
                    a href="/console/map" { "地图" }
                    a href="/console/fires" { "火点" }
                    @if roles(StaffRole::Admin) {
                        a href="/console/devices" { "设备" }
                        a href="/console/users" { "人员" }
                        a href="/console/audit" { "审计日志" }
                    }
                }
                form.logout method="post" action="/console/logout" {
                    span.who { (viewer.session.user.display_name) " · "
                        (labels::grants(&viewer.session.user.grants)) }
                    (csrf_field(viewer))
                    button type="submit" { "退出" }
                }
            }
            main { h1 { (title) } (body) }
        },
    )
}

/// The HTML document around any page, signed in or not.
pub fn shell(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Fieldproof" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body { (content) }
        }
    }
}

/// A refusal as a page: what happened in words, and the stable code.
pub fn error_page(error: &Error) -> Markup {
    let words = labels::error_text(error.code()).map_or_else(|| error.to_string(), str::to_owned);
    shell(
        "出错了",
        html! {
            main.error {
                h1 { "出错了" }
                p.message { (words) }
                p.code { "错误代码：" code { (error.code()) } }
                p { a href="/console/" { "返回概览" } }
            }
        },
    )
}

/// The `?done=` a form's redirect adds, for [`notice`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {
    pub done: Option<String>,
}

/// A notice above a page after a change (`?done=…` after a form's redirect).
pub fn notice(done: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = done.and_then(labels::done_text) {
            p.notice role="status" { (text) }
        }
    }
}

/// Text that is already HTML (an SVG we drew ourselves, never user input).
pub fn trusted_svg(svg: String) -> PreEscaped<String> {
    PreEscaped(svg)
}

//! Signing in and out in the browser. The login form carries a token of its
//! own, matched against a short-lived cookie set with the form, so another
//! site cannot sign a browser in to an account of its choosing.

use super::page::{shell, BEIJING_OFFSET_MS};
use super::viewer::{CsrfOnly, PageQuery, PostedForm, Viewer};
use super::{ConsoleError, PageResult};
use crate::api::{blocking, cookie, failed, session_cookie, ClientIp, State};
use crate::error::Error;
use crate::now_ms;
use crate::people::login_throttle::Attempt;
use crate::people::sessions;
use crate::secrets;
use axum::extract::State as Extract;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde::Deserialize;

const LOGIN_COOKIE: &str = "fp_login";

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/login", get(form).post(sign_in))
        .route("/console/logout", post(sign_out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Next {
    next: Option<String>,
}

/// Where to go after signing in: a console page, never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with("/console") && !path.contains("//") && !path.contains('\\') =>
        {
            path
        }
        _ => "/console/",
    }
}

async fn form(PageQuery(next): PageQuery<Next>) -> PageResult {
    login_page(next.next.as_deref(), None)
}

fn login_page(next: Option<&str>, refusal: Option<&Error>) -> PageResult {
    let token = secrets::new_token("")?;
    let body = shell(
        "登录",
        html! {
            main.login {
                h1 { "秸秆禁烧执法 · 局端登录" }
                @if let Some(error) = refusal {
                    p.error role="alert" {
                        (super::labels::error_text(error.code()).unwrap_or("登录失败。"))
                        @if let Error::LoginThrottled { retry_after_s } = error {
                            " 请在 " (retry_after_s) " 秒后再试。"
                        }
                    }
                }
                form method="post" action="/console/login" {
                    input type="hidden" name="login_csrf" value=(token);
                    input type="hidden" name="next" value=(safe_next(next));
                    label { "用户名" input name="username" autocomplete="username" required; }
                    label { "密码" input name="password" type="password" autocomplete="current-password" required; }
                    button type="submit" { "登录" }
                }
                p.hint { "北京时间 UTC+" (BEIJING_OFFSET_MS / 3_600_000) }
            }
        },
    );
    let mut response = body.into_response();
    let cookie = format!(
        "{LOGIN_COOKIE}={token}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=1800"
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    if let Some(error) = refusal {
        *response.status_mut() = axum::http::StatusCode::from_u16(crate::api::http_status(error))
            .unwrap_or(axum::http::StatusCode::UNAUTHORIZED);
        if let Error::LoginThrottled { retry_after_s } = error {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
        }
    }
    Ok(response)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    login_csrf: String,
    next: Option<String>,
}

async fn sign_in(
    Extract(state): Extract<State>,
    ClientIp(address): ClientIp,
    headers: HeaderMap,
    PostedForm(form): PostedForm<LoginForm>,
) -> PageResult {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !secrets::same(expected.as_bytes(), form.login_csrf.as_bytes()) {
        return Err(Error::CsrfRejected.into());
    }
    let attempt = Attempt::new(&form.username, address);
    let lifetime = state.session_lifetime();
    let (username, password) = (form.username.clone(), form.password);
    let signed_in = blocking(&state, move |b| {
        crate::people::sign_in(&b.db, &attempt, &username, &password, lifetime, now_ms())
    })
    .await;
    let next = safe_next(form.next.as_deref());
    let (token, _) = match signed_in {
        Ok(signed_in) => signed_in,
        Err(Error::LoginFailed) => {
            let refusal = failed(&state, address, Error::LoginFailed).0;
            return login_page(Some(next), Some(&refusal));
        }
        Err(error @ Error::LoginThrottled { .. }) => return login_page(Some(next), Some(&error)),
        Err(other) => return Err(ConsoleError(other)),
    };
    let mut response = Redirect::to(next).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, Some(&token)));
    Ok(response)
}

async fn sign_out(
    Extract(state): Extract<State>,
    viewer: Viewer,
    PostedForm(form): PostedForm<CsrfOnly>,
) -> PageResult<Response> {
    viewer.check_form(&form.csrf)?;
    let token = viewer.token;
    blocking(&state, move |b| {
        b.db.write(|tx| sessions::end(tx, &token, now_ms()))
    })
    .await?;
    let mut response = Redirect::to("/console/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, None));
    Ok(response)
}

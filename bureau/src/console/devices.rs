//! Devices: the enrolled devices of the viewer's jurisdictions, revoking one,
//! and a new enrollment code shown as a QR code that carries the bureau's
//! address and the code (and the TLS pin, when the bureau serves HTTPS), so a
//! phone enrolls by scanning it. Admins only.

use super::labels;
use super::page::{csrf_field, notice, page, trusted_svg, when, when_opt, Done};
use super::viewer::{CsrfOnly, PageQuery, PostedForm, Viewer};
use super::PageResult;
use crate::acts::{self, OfficerRef};
use crate::api::{blocking, State};
use crate::enrollment::{self, EnrollmentCode};
use crate::people::StaffRole;
use crate::{parse_id, Error};
use axum::extract::{Path, State as Extract};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde::Deserialize;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/devices", get(list))
        .route("/console/devices/enrollment-code", post(issue_code))
        .route("/console/devices/{id}/revoke", post(revoke))
}

async fn list(
    viewer: Viewer,
    Extract(state): Extract<State>,
    PageQuery(done): PageQuery<Done>,
) -> PageResult {
    viewer.actor.require_role(StaffRole::Admin)?;
    let admin_over = viewer.actor.scope_for(StaffRole::Admin);
    let devices = blocking(&state, |b| b.db.read(enrollment::list_devices)).await?;
    let body = html! {
        (notice(done.done.as_deref()))
        section {
            h2 { "发放登记码" }
            form.code method="post" action="/console/devices/enrollment-code" {
                (csrf_field(&viewer))
                label { "执法人员姓名" input name="officer_name" required maxlength="100"; }
                label { "辖区代码" input name="jurisdiction" required inputmode="numeric"; }
                label { "设备角色"
                    select name="role" {
                        option value="township_staff" { "乡镇巡查员" }
                        option value="county_officer" { "县级执法人员" }
                        option value="reviewer" { "审核人员" }
                    }
                }
                button type="submit" { "生成登记码" }
            }
        }
        section {
            h2 { "已登记设备" }
            table.devices {
                thead { tr { th { "设备" } th { "辖区" } th { "角色" } th { "登记时间" } th { "密钥证明" } th { "状态" } } }
                tbody {
                    @for d in devices.iter().filter(|d| admin_over.covers(&d.jurisdiction)) {
                        tr {
                            td { code { (d.id) } }
                            td { (d.jurisdiction) }
                            td { (labels::device_role(d.role.as_str())) }
                            td { (when(d.enrolled_ms)) }
                            td { @if d.attestation_bytes > 0 { "有（" (d.attestation_bytes) " 字节）" } @else { "无" } }
                            td {
                                @if let Some(at) = d.revoked_ms { "已停用 " (when(at)) }
                                @else {
                                    form.inline method="post" action=(format!("/console/devices/{}/revoke", d.id)) {
                                        (csrf_field(&viewer))
                                        button type="submit" data-confirm="停用后该设备将无法同步，确定？" { "停用" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, "设备", body).into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    officer_name: String,
    jurisdiction: String,
    role: String,
}

/// The bureau's address as the browser reached it: what the phone will use.
fn bureau_url(headers: &HeaderMap, tls: bool) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1");
    format!("{}://{host}", if tls { "https" } else { "http" })
}

async fn issue_code(
    viewer: Viewer,
    Extract(state): Extract<State>,
    headers: HeaderMap,
    PostedForm(form): PostedForm<CodeForm>,
) -> PageResult {
    viewer.check_form(&form.csrf)?;
    let role = enrollment::parse_role(&form.role)?;
    let actor = viewer.actor.clone();
    let code: EnrollmentCode = blocking(&state, move |b| {
        let ttl_ms = b.limits.enrollment_code_ttl_s as i64 * 1000;
        let (officer, place) = (
            OfficerRef::Name(&form.officer_name),
            form.jurisdiction.trim(),
        );
        b.db.write(|tx| acts::issue_enrollment_code(tx, &actor, officer, place, role, ttl_ms))
    })
    .await?;
    let url = bureau_url(&headers, state.tls.is_some());
    let pin = state.tls.as_ref().map(|tls| tls.pin().to_owned());
    // What the app's scanner reads: the bureau, the code, and the pin to hold it to.
    let mut payload = format!(
        "fieldproof://enroll?server={}&code={}",
        enc(&url),
        enc(&code.code)
    );
    if let Some(pin) = &pin {
        payload.push_str(&format!("&pin={}", enc(pin)));
    }
    let qr = qrcode::QrCode::new(payload.as_bytes()).map_err(|_| Error::InvalidRequest {
        reason: "the enrollment code does not fit a QR code".into(),
    })?;
    let svg = qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    let body = html! {
        section.enrollment {
            p { "请用执法终端扫描下面的二维码完成登记。登记码只显示这一次，" (when_opt(Some(code.expires_ms))) " 前有效，用后即失效。" }
            figure.qr { (trusted_svg(svg)) }
            dl {
                dt { "服务器" } dd { code { (url) } }
                dt { "登记码" } dd { code.enrollment-code { (code.code) } }
                dt { "辖区" } dd { (code.jurisdiction) }
                @if let Some(pin) = &pin { dt { "证书指纹" } dd { code { (pin) } } }
            }
            p { a href="/console/devices" { "返回设备列表" } }
        }
    };
    Ok(page(&viewer, "登记码", body).into_response())
}

fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn revoke(
    viewer: Viewer,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
    PostedForm(form): PostedForm<CsrfOnly>,
) -> PageResult {
    viewer.check_form(&form.csrf)?;
    let id = parse_id(&id, "device id")?;
    let actor = viewer.actor.clone();
    blocking(&state, move |b| {
        b.db.write(|tx| acts::revoke_device(tx, &actor, &id))
    })
    .await?;
    Ok(Redirect::to("/console/devices?done=revoked").into_response())
}

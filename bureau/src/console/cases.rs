//! Cases: the list with its filters and keyset paging, one case in full, its
//! review and legal review, and its photos (thumbnail → preview → original).

use super::labels;
use super::map::case_map;
use super::page::{csrf_field, notice, page, when, when_opt, Done, BEIJING_OFFSET_MS};
use super::tasks::{task_form, Place};
use super::viewer::{PageQuery, PostedForm, Viewer};
use super::{ConsoleError, PageResult};
use crate::acts;
use crate::api::{blocking, State};
use crate::cases::inspections::{self, Decision, InspectionCase, InspectionFilter, ReviewStatus};
use crate::cases::legal_review::LegalDecision;
use crate::cases::reference_data;
use crate::enrollment;
use crate::enrollment::Officer;
use crate::error::Error;
use crate::people::StaffRole;
use crate::{parse_id, photo_thumbnails};
use axum::body::Body;
use axum::extract::{Path, State as Extract};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use fieldproof_core::geo::datum::LatLon;
use fieldproof_core::geo::jurisdiction::JurisdictionIndex;
use fieldproof_core::hex;
use fieldproof_core::model::checklist::defaults::MATTERS;
use fieldproof_core::model::checklist::{AnswerValue, ChecklistTemplate, ItemKind};
use fieldproof_core::model::inspection::Inspection;
use fieldproof_core::time::CivilTime;
use maud::{html, Markup};
use serde::Deserialize;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/cases", get(list))
        .route("/console/cases/{id}", get(detail))
        .route("/console/cases/{id}/review", post(review))
        .route("/console/cases/{id}/legal-review", post(legal))
        .route("/console/cases/{id}/photos/{sha}", get(photo_preview))
        .route("/console/cases/{id}/photos/{sha}/{size}", get(photo))
}

/// The list's filters as the form sends them (empty fields are no filter).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    jurisdiction: Option<String>,
    matter: Option<String>,
    status: Option<String>,
    legal_status: Option<String>,
    evidence: Option<String>,
    from: Option<String>,
    to: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

fn given(field: &Option<String>) -> Option<String> {
    field
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `2026-12-07` as the start of that day in Beijing, UTC ms.
fn day_start(date: &str) -> Result<i64, Error> {
    let mut parts = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (Some(Some(year)), Some(Some(month)), Some(Some(day))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::InvalidRequest {
            reason: "dates are YYYY-MM-DD".into(),
        });
    };
    let civil = CivilTime {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        millis: 0,
    };
    civil
        .to_ms()
        .map(|ms| ms - BEIJING_OFFSET_MS)
        .ok_or(Error::InvalidRequest {
            reason: "dates are YYYY-MM-DD".into(),
        })
}

impl ListQuery {
    fn filter(&self, viewer: &Viewer) -> Result<InspectionFilter, Error> {
        Ok(InspectionFilter {
            jurisdiction: given(&self.jurisdiction),
            matter: given(&self.matter),
            status: given(&self.status)
                .as_deref()
                .map(ReviewStatus::parse)
                .transpose()?,
            legal_status: given(&self.legal_status),
            evidence: given(&self.evidence)
                .as_deref()
                .map(inspections::parse_evidence)
                .transpose()?,
            received_from_ms: given(&self.from).as_deref().map(day_start).transpose()?,
            // The `to` day is included: up to the start of the next one.
            received_to_ms: given(&self.to)
                .as_deref()
                .map(|d| day_start(d).map(|ms| ms + 86_400_000))
                .transpose()?,
            text: given(&self.q),
            cursor: given(&self.cursor),
            ..InspectionFilter::within(viewer.actor.scope())
        })
    }

    /// This query's filters as a query string, for the next page's link.
    fn with_cursor(&self, cursor: &str) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("jurisdiction", &self.jurisdiction),
            ("matter", &self.matter),
            ("status", &self.status),
            ("legal_status", &self.legal_status),
            ("evidence", &self.evidence),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ] {
            if let Some(value) = given(value) {
                out.append_pair(name, &value);
            }
        }
        out.append_pair("cursor", cursor);
        out.finish()
    }
}

fn select(name: &str, label: &str, chosen: Option<&str>, options: &[(&str, &str)]) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { "全部" }
                @for (code, text) in options {
                    option value=(code) selected[chosen == Some(*code)] { (text) }
                }
            }
        }
    }
}

async fn list(
    viewer: Viewer,
    Extract(state): Extract<State>,
    PageQuery(q): PageQuery<ListQuery>,
) -> PageResult {
    let filter = q.filter(&viewer)?;
    let page_of = blocking(&state, move |b| {
        b.db.read(|tx| inspections::list(tx, &filter))
    })
    .await?;
    let statuses = [
        ("submitted", "待审核"),
        ("accepted", "已通过"),
        ("returned", "已退回"),
    ];
    let legal = [
        ("pending", "待法制审核"),
        ("approved", "法制审核通过"),
        ("sent_back", "法制审核退回"),
    ];
    let evidence = [
        ("verified", "已核验"),
        ("pending_media", "照片未到齐"),
        ("flagged", "有问题"),
        ("none", "无证据"),
    ];
    let body = html! {
        form.filters method="get" action="/console/cases" {
            label { "辖区代码" input name="jurisdiction" value=[q.jurisdiction.as_deref()] inputmode="numeric" size="12"; }
            (select("matter", "事项", q.matter.as_deref(), MATTERS))
            (select("status", "审核状态", q.status.as_deref(), &statuses))
            (select("legal_status", "法制审核", q.legal_status.as_deref(), &legal))
            (select("evidence", "证据状态", q.evidence.as_deref(), &evidence))
            label { "接收日期自" input type="date" name="from" value=[q.from.as_deref()]; }
            label { "至" input type="date" name="to" value=[q.to.as_deref()]; }
            label { "关键词" input type="search" name="q" value=[q.q.as_deref()] placeholder="地址或发现情况"; }
            button type="submit" { "筛选" }
        }
        table.cases {
            thead { tr { th { "接收时间" } th { "辖区" } th { "事项" } th { "地址" } th { "审核" } th { "法制审核" } th { "证据" } } }
            tbody {
                @for c in &page_of.items {
                    tr {
                        td { a href=(format!("/console/cases/{}", c.id)) { (when(c.received_ms)) } }
                        td { (c.jurisdiction) }
                        td { (c.matter.as_deref().map(labels::matter).unwrap_or("—")) }
                        td { (c.address.as_deref().unwrap_or("—")) }
                        td { span class=(format!("badge {}", c.status)) { (labels::review_status(&c.status)) } }
                        td { (c.legal_status.as_deref().map(labels::legal_status).unwrap_or("—")) }
                        td { span class=(format!("badge {}", c.evidence.status.code())) { (labels::evidence_status(c.evidence.status.code())) } }
                    }
                }
            }
        }
        @if page_of.items.is_empty() { p.empty { "没有符合条件的案件。" } }
        @if let Some(next) = &page_of.next_cursor {
            p.more { a rel="next" href=(format!("/console/cases?{}", q.with_cursor(next))) { "下一页 →" } }
        }
    };
    Ok(page(&viewer, "案件", body).into_response())
}

/// What a case page shows, read in one transaction.
struct CaseView {
    case: InspectionCase,
    /// The inspection as the device sent it, when it reads as the core's model.
    inspection: Option<Inspection>,
    /// Whether the viewer may see the responsible party.
    personal: bool,
    /// The checklist it was recorded with, for the answers' labels.
    template: Option<ChecklistTemplate>,
    index: JurisdictionIndex,
    tracks: Vec<Vec<LatLon>>,
    officers: Vec<Officer>,
}

async fn detail(
    viewer: Viewer,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
    PageQuery(done): PageQuery<Done>,
) -> PageResult {
    let id = parse_id(&id, "inspection id")?;
    let actor = viewer.actor.clone();
    let view = blocking(&state, move |b| {
        b.db.read(|tx| {
            let jurisdiction = inspections::jurisdiction_of(tx, &id)?;
            if !actor.may_see(&jurisdiction) {
                return Err(Error::NotFound { what: "inspection" });
            }
            let case = inspections::get(tx, &id, &b.fires)?;
            let personal = actor.may_see_personal_data(&jurisdiction);
            let case = if personal {
                case
            } else {
                inspections::without_personal_data(case)
            };
            let inspection: Option<Inspection> =
                serde_json::from_value(case.inspection.clone()).ok();
            let template = match &inspection {
                Some(i) => {
                    reference_data::checklist_used(tx, &i.checklist_id, i.checklist_version)?
                }
                None => None,
            };
            let mut officer_ids = vec![case.summary.officer_id.clone()];
            officer_ids.extend(case.assigned_officers.iter().cloned());
            let officers = enrollment::officers_by_id(tx, &officer_ids)?;
            let (index, tracks) = (
                reference_data::boundary_index(tx)?,
                inspections::track_of(tx, &id)?,
            );
            Ok(CaseView {
                case,
                inspection,
                personal,
                template,
                index,
                tracks,
                officers,
            })
        })
    })
    .await?;
    let CaseView {
        case,
        inspection,
        personal,
        template,
        index,
        tracks,
        officers,
    } = view;
    let s = &case.summary;
    let site = s.lat.zip(s.lon).map(|(lat, lon)| LatLon { lat, lon });
    let placement = site.and_then(|p| index.locate(p));
    let may = |role| {
        viewer
            .actor
            .require(role, &s.jurisdiction, "inspection")
            .is_ok()
    };
    let reviewable =
        s.status == "submitted" && case.amended_by.is_none() && may(StaffRole::Reviewer);
    let legal_due = s.legal_status.as_deref() == Some("pending") && may(StaffRole::LegalReviewer);
    let title = format!(
        "案件 {}",
        s.township_code.as_deref().unwrap_or(&s.jurisdiction)
    );
    let body = html! {
        (notice(done.done.as_deref()))
        section.summary {
            dl {
                dt { "事项" } dd { (s.matter.as_deref().map(labels::matter).unwrap_or("—")) }
                dt { "审核状态" } dd { span class=(format!("badge {}", s.status)) { (labels::review_status(&s.status)) }
                    @if let Some(comment) = &s.review_comment { " · 意见：" span.comment { (comment) } } }
                @if let Some(legal) = &s.legal_status {
                    dt { "法制审核" } dd { (labels::legal_status(legal))
                        @if let Some(comment) = &s.legal_comment { " · " span.comment { (comment) } } }
                }
                dt { "证据" } dd { (labels::evidence_status(s.evidence.status.code())) " （" (s.evidence.counts.records) " 条记录）" }
                dt { "辖区" } dd { (s.jurisdiction) }
                dt { "检查时间" } dd { (when_opt(s.started_at_ms)) " — " (when_opt(s.ended_at_ms)) }
                dt { "接收时间" } dd { (when(s.received_ms)) }
                dt { "执法人员" } dd {
                    @for (i, officer) in officers.iter().enumerate() {
                        @if i > 0 { "、" }
                        span.officer { (officer.name) }
                    }
                }
                dt { "更正链" } dd {
                    @if let Some(earlier) = &s.amends_id { "更正自 " a href=(format!("/console/cases/{earlier}")) { "第 " (s.revision.unwrap_or(1).saturating_sub(1)) " 版" } " · " }
                    "第 " (s.revision.unwrap_or(0)) " 版"
                    @if let Some(later) = &case.amended_by { " · 已被 " a href=(format!("/console/cases/{later}")) { "更新的版本" } " 取代" }
                }
            }
        }
        @if viewer.actor.may_see_personal_data(&s.jurisdiction) {
            p.case-file {
                a href=(format!("/v1/admin/inspections/{}/bundle", s.id)) download {
                    "下载案卷（ZIP，可用 fieldproof verify 离线核验）"
                }
            }
        }
        @if reviewable {
            section.decide {
                h2 { "审核" }
                form method="post" action=(format!("/console/cases/{}/review", s.id)) {
                    (csrf_field(&viewer))
                    label { "意见（退回时必填）" textarea name="comment" rows="3" maxlength="2000" {} }
                    label.check { input type="checkbox" name="penalty" value="yes"; " 拟处罚（通过后转法制审核）" }
                    button type="submit" name="decision" value="accept" { "通过" }
                    button type="submit" name="decision" value="return" data-confirm="确定退回给执法人员？" { "退回" }
                }
            }
        }
        @if legal_due {
            section.decide {
                h2 { "法制审核" }
                form method="post" action=(format!("/console/cases/{}/legal-review", s.id)) {
                    (csrf_field(&viewer))
                    label { "理由（退回时必填）" textarea name="comment" rows="3" maxlength="2000" {} }
                    button type="submit" name="decision" value="approve" { "通过" }
                    button type="submit" name="decision" value="send_back" { "退回执法人员" }
                }
            }
        }
        section {
            h2 { "现场" }
            p { "地址：" (s.address.as_deref().unwrap_or("—")) }
            p.placement {
                @match (&placement, site) {
                    (Some(p), _) => { "位于 " (p.name) "（" (p.code) "）" @if p.code.starts_with(&s.jurisdiction) || s.jurisdiction.starts_with(&p.code) { "，在案件辖区内" } @else { "，不在案件辖区 " (s.jurisdiction) " 内" } }
                    (None, Some(_)) => "不在任何已加载的辖区边界内",
                    (None, None) => "没有位置",
                }
            }
            figure.map-frame.small { (case_map(&index, &s.jurisdiction, site, tracks, &state.console)) }
        }
        @if may(StaffRole::Dispatcher) {
            section {
                h2 { "从本案派发任务" }
                (task_form(&viewer, Some(&Place { at: site, jurisdiction: s.jurisdiction.clone() })))
            }
        }
        @if let Some(i) = &inspection {
            section {
                h2 { "检查表" }
                table.answers { tbody {
                    @for a in &i.answers {
                        tr { th { (item_label(template.as_ref(), &a.item_id)) } td { (answer_text(template.as_ref(), &a.item_id, &a.value)) } }
                    }
                } }
                h2 { "发现情况" }
                p.findings { (i.findings) }
                h2 { "当事人" }
                @if personal {
                    @match &i.responsible_party {
                        Some(party) => p { (party.name) @if let Some(phone) = &party.phone { " · 电话 " (phone) } @if let Some(number) = &party.id_number { " · 证件号 " (number) } },
                        None => p { "未记录" },
                    }
                } @else {
                    p.hidden-data { "（您的角色不显示当事人信息）" }
                }
            }
        }
        section {
            h2 { "照片" }
            div.photos {
                @for r in case.evidence_records.iter().filter(|r| r.media_status == "verified") {
                    @if let Some(sha) = &r.media_sha256 {
                        a href=(format!("/console/cases/{}/photos/{sha}", s.id)) {
                            img src=(format!("/console/cases/{}/photos/{sha}/thumb", s.id)) alt="照片缩略图" loading="lazy";
                        }
                    }
                }
            }
        }
        section {
            h2 { "证据记录" }
            table.evidence {
                thead { tr { th { "序号" } th { "类型" } th { "接收时间" } th { "状态" } th { "保管日志" } } }
                tbody {
                    @for r in case.evidence_records.iter().chain(&case.refused_records) {
                        tr {
                            td { (r.seq.map_or("—".into(), |s| s.to_string())) }
                            td { (r.kind.as_deref().unwrap_or("—")) }
                            td { (when(r.received_ms)) }
                            td { (labels::evidence_record(&r.status, r.failure.as_deref(), &r.media_status, r.refusal.as_deref())) }
                            td { @match r.leaf_index { Some(leaf) => { "第 " (leaf) " 条（可出具回执）" }, None => "—" } }
                        }
                    }
                }
            }
        }
        @if let Some(visit) = &case.visit {
            section { h2 { "到场核验" } pre.visit { (serde_json::to_string_pretty(visit).unwrap_or_default()) } }
        }
    };
    Ok(page(&viewer, &title, body).into_response())
}

fn item_label(template: Option<&ChecklistTemplate>, item_id: &str) -> String {
    template
        .and_then(|t| t.items.iter().find(|i| i.id == item_id))
        .map_or_else(|| item_id.to_owned(), |i| i.label.clone())
}

fn answer_text(template: Option<&ChecklistTemplate>, item_id: &str, value: &AnswerValue) -> String {
    let kind = template
        .and_then(|t| t.items.iter().find(|i| i.id == item_id))
        .map(|i| &i.kind);
    let option = |code: &str| match kind {
        Some(ItemKind::SingleChoice { options } | ItemKind::MultipleChoice { options }) => options
            .iter()
            .find(|o| o.code == code)
            .map_or(code.to_owned(), |o| o.label.clone()),
        _ => code.to_owned(),
    };
    match value {
        AnswerValue::YesNo(true) => "是".into(),
        AnswerValue::YesNo(false) => "否".into(),
        AnswerValue::Choice(code) => option(code),
        AnswerValue::Choices(codes) => codes
            .iter()
            .map(|c| option(c))
            .collect::<Vec<_>>()
            .join("、"),
        AnswerValue::Number(n) => match kind {
            Some(ItemKind::Number { unit, .. }) => format!("{n} {unit}"),
            _ => n.to_string(),
        },
        AnswerValue::Text(text) => text.clone(),
    }
}

#[derive(Deserialize)]
struct ReviewForm {
    #[serde(default)]
    csrf: String,
    decision: String,
    #[serde(default)]
    comment: String,
    penalty: Option<String>,
}

async fn review(
    viewer: Viewer,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
    PostedForm(form): PostedForm<ReviewForm>,
) -> PageResult {
    viewer.check_form(&form.csrf)?;
    let id = parse_id(&id, "inspection id")?;
    let decision = Decision::parse(&form.decision)?;
    let penalty = form.penalty.is_some();
    let actor = viewer.actor.clone();
    let case_id = id.clone();
    let case: InspectionCase = blocking(&state, move |b| {
        let comment = Some(form.comment.as_str());
        b.db.write(|tx| acts::review(tx, &actor, &id, decision, comment, penalty, &b.fires))
    })
    .await?;
    Ok(Redirect::to(&format!(
        "/console/cases/{case_id}?done={}",
        case.summary.status
    ))
    .into_response())
}

async fn legal(
    viewer: Viewer,
    Extract(state): Extract<State>,
    Path(id): Path<String>,
    PostedForm(form): PostedForm<ReviewForm>,
) -> PageResult {
    viewer.check_form(&form.csrf)?;
    let id = parse_id(&id, "inspection id")?;
    let decision = LegalDecision::parse(&form.decision)?;
    let actor = viewer.actor.clone();
    let case_id = id.clone();
    blocking(&state, move |b| {
        let comment = Some(form.comment.as_str());
        b.db.write(|tx| acts::legal_review(tx, &actor, &id, decision, comment, &b.fires))
    })
    .await?;
    let done = match decision {
        LegalDecision::Approve => "legal_approved",
        LegalDecision::SendBack => "legal_sent_back",
    };
    Ok(Redirect::to(&format!("/console/cases/{case_id}?done={done}")).into_response())
}

/// Checks that `sha` is a verified photo of case `id` the viewer may see.
async fn visible_photo(
    viewer: &Viewer,
    state: &State,
    id: &str,
    sha: &str,
) -> Result<(String, [u8; 32]), ConsoleError> {
    let id = parse_id(id, "inspection id")?;
    let sha = hex::decode32(sha).ok_or(Error::InvalidId { what: "photo" })?;
    let actor = viewer.actor.clone();
    let case_id = id.clone();
    blocking(state, move |b| {
        b.db.read(|tx| {
            let jurisdiction = inspections::jurisdiction_of(tx, &case_id)?;
            if !actor.may_see(&jurisdiction) || !inspections::has_photo(tx, &case_id, &sha)? {
                return Err(Error::NotFound { what: "photo" });
            }
            Ok(())
        })
    })
    .await?;
    Ok((id, sha))
}

async fn photo_preview(
    viewer: Viewer,
    Extract(state): Extract<State>,
    Path((id, sha)): Path<(String, String)>,
) -> PageResult {
    let (id, sha) = visible_photo(&viewer, &state, &id, &sha).await?;
    let sha = hex::encode(&sha);
    let body = html! {
        p { a href=(format!("/console/cases/{id}")) { "← 返回案件" } }
        figure.preview {
            img src=(format!("/console/cases/{id}/photos/{sha}/original")) alt="照片";
            figcaption { "SHA-256 " code { (sha) } " · " a href=(format!("/console/cases/{id}/photos/{sha}/original")) download { "下载原图" } }
        }
    };
    Ok(page(&viewer, "照片", body).into_response())
}

/// `thumb`: the bureau's JPEG thumbnail; `original`: the photo as received.
async fn photo(
    viewer: Viewer,
    Extract(state): Extract<State>,
    Path((id, sha, size)): Path<(String, String, String)>,
) -> PageResult {
    let (_, sha) = visible_photo(&viewer, &state, &id, &sha).await?;
    let (bytes, content_type) = blocking(&state, move |b| match size.as_str() {
        "thumb" => photo_thumbnails::of(&b.photos, &sha)
            .map(|t| (t.jpeg, "image/jpeg".to_owned()))
            .map_err(|_| Error::NotFound { what: "thumbnail" }),
        "original" => {
            let bytes = b
                .photos
                .photo_bytes(&sha)?
                .ok_or(Error::NotFound { what: "photo" })?;
            let kind = fieldproof_core::evidence::media::sniff(&bytes)
                .map_or("application/octet-stream", |m| m.mime());
            Ok((bytes, kind.to_owned()))
        }
        _ => Err(Error::NotFound { what: "photo size" }),
    })
    .await?;
    let mut response = Response::new(Body::from(bytes));
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    // A photo never changes (it is named by its hash): the browser may keep it.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    Ok(response)
}

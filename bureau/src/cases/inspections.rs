//! Inspections as the bureau holds them: received by push (immutable; changes come
//! as amendments), listed and opened by reviewers with their evidence, and
//! reviewed once — accepted, or returned to the officer with a comment.
//!
//! Rows are written by the push path ([`crate::sync`]); this module only reads
//! them and records the review.

use super::{
    jurisdiction_conditions, page_size, text_field, where_clause, Cursor, Page, RECORDS_OF_CASES,
    REFUSAL,
};
use crate::config::FireSettings;
use crate::error::{Error, Result};
use crate::people::Scope;
use crate::storage::{parameters, Row, Tx, Value};
use crate::sync::feed::{self, Audience};
use crate::{now_ms, params};
use fieldproof_core::evidence::track_seal::SealedFix;
use fieldproof_core::geo::datum::LatLon;
use fieldproof_core::hex;
use fieldproof_core::wire::pull::{ChangeKind, ReviewBody};
use serde::Serialize;
use std::collections::HashMap;

pub use fieldproof_core::wire::admin::{
    Evidence, EvidenceRecord, EvidenceSummary, InspectionCase, InspectionSummary, Verification,
};

/// Where a received inspection is in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for review (an original, or an amendment sent after a return).
    Submitted,
    Accepted,
    Returned,
}

impl ReviewStatus {
    pub fn code(self) -> &'static str {
        match self {
            ReviewStatus::Submitted => "submitted",
            ReviewStatus::Accepted => "accepted",
            ReviewStatus::Returned => "returned",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "submitted" => Ok(ReviewStatus::Submitted),
            "accepted" => Ok(ReviewStatus::Accepted),
            "returned" => Ok(ReviewStatus::Returned),
            _ => Err(Error::InvalidRequest {
                reason: "status must be submitted, accepted or returned".into(),
            }),
        }
    }
}

/// Where a case marked for penalty stands in legal review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegalStatus {
    Pending,
    Approved,
    SentBack,
}

impl LegalStatus {
    pub const ALL: [LegalStatus; 3] = [
        LegalStatus::Pending,
        LegalStatus::Approved,
        LegalStatus::SentBack,
    ];

    pub fn code(self) -> &'static str {
        match self {
            LegalStatus::Pending => "pending",
            LegalStatus::Approved => "approved",
            LegalStatus::SentBack => "sent_back",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == text)
            .ok_or_else(|| Error::InvalidRequest {
                reason: "legal_status must be pending, approved or sent_back".into(),
            })
    }
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Return,
}

impl Decision {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "accept" => Ok(Decision::Accept),
            "return" => Ok(Decision::Return),
            _ => Err(Error::InvalidRequest {
                reason: "decision must be accept or return".into(),
            }),
        }
    }

    /// The status the inspection gets.
    pub fn status(self) -> ReviewStatus {
        match self {
            Decision::Accept => ReviewStatus::Accepted,
            Decision::Return => ReviewStatus::Returned,
        }
    }
}

/// Adds `count` records of one status pair to `summary`.
fn add(summary: &mut EvidenceSummary, status: &str, media_status: &str, count: i64) {
    summary.records += count;
    match status {
        "accepted" => summary.accepted += count,
        _ => summary.flagged += count,
    }
    match media_status {
        "pending" => summary.media_pending += count,
        "verified" => summary.media_verified += count,
        "mismatch" => summary.media_mismatch += count,
        _ => {}
    }
}

/// The longest review comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// What a list asks for.
#[derive(Debug, Clone)]
pub struct InspectionFilter {
    /// Where the reader may look (required: no list is unscoped by accident).
    pub scope: Scope,
    /// Inspections within this jurisdiction (its code is a prefix of theirs).
    pub jurisdiction: Option<String>,
    pub status: Option<ReviewStatus>,
    /// `pending`, `approved` or `sent_back`.
    pub legal_status: Option<String>,
    /// The matter's code, e.g. `straw_burning`.
    pub matter: Option<String>,
    /// The evidence status the case shows (worst record first).
    pub evidence: Option<Verification>,
    /// Received at or after this time (UTC ms) …
    pub received_from_ms: Option<i64>,
    /// … and before this one.
    pub received_to_ms: Option<i64>,
    /// Text in the address or the findings (never the responsible party).
    pub text: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

impl InspectionFilter {
    /// Everything `scope` may see, newest first, a default page.
    pub fn within(scope: Scope) -> Self {
        Self {
            scope,
            jurisdiction: None,
            status: None,
            legal_status: None,
            matter: None,
            evidence: None,
            received_from_ms: None,
            received_to_ms: None,
            text: None,
            limit: None,
            cursor: None,
        }
    }
}

/// The longest search text, in characters.
const MAX_SEARCH_CHARS: usize = 100;

const COLUMNS: &str = "id, device_id, officer_id, jurisdiction, status, amends_id, body, received_ms, review_comment, reviewed_ms, penalty, legal_status, legal_comment";

/// Received inspections, newest first, one page at a time (keyset paging on the
/// receipt time and id, so pages stay stable while new inspections arrive).
pub fn list(tx: &mut Tx, filter: &InspectionFilter) -> Result<Page<InspectionSummary>> {
    let limit = page_size(filter.limit)?;
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    jurisdiction_conditions(
        "jurisdiction",
        filter.jurisdiction.as_deref(),
        &filter.scope,
        &mut conditions,
        &mut values,
    )?;
    if let Some(status) = filter.status {
        values.push(status.code().into());
        conditions.push(format!("status = ${}", values.len()));
    }
    if let Some(legal) = &filter.legal_status {
        LegalStatus::parse(legal)?;
        values.push(legal.into());
        conditions.push(format!("legal_status = ${}", values.len()));
    }
    if let Some(matter) = &filter.matter {
        values.push(text_field(matter, "matter", 64)?.into());
        conditions.push(format!("matter = ${}", values.len()));
    }
    if let Some(evidence) = filter.evidence {
        conditions.push(evidence_condition(evidence));
    }
    if let Some(from) = filter.received_from_ms {
        values.push(from.into());
        conditions.push(format!("received_ms >= ${}", values.len()));
    }
    if let Some(to) = filter.received_to_ms {
        values.push(to.into());
        conditions.push(format!("received_ms < ${}", values.len()));
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let text = text_field(text, "text", MAX_SEARCH_CHARS)?;
        // The text is matched as typed: LIKE's wildcards in it are escaped.
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        values.push(format!("%{escaped}%").into());
        conditions.push(format!("search_text LIKE ${} ESCAPE '\\'", values.len()));
    }
    if let Some(cursor) = &filter.cursor {
        let cursor = Cursor::decode(cursor)?;
        values.push(cursor.time_ms.into());
        values.push(cursor.id.into());
        let (t, i) = (values.len() - 1, values.len());
        conditions.push(format!(
            "(received_ms < ${t} OR (received_ms = ${t} AND id < ${i}))"
        ));
    }
    values.push((limit as i64 + 1).into());
    let sql = format!(
        "SELECT {COLUMNS} FROM inspections {} ORDER BY received_ms DESC, id DESC LIMIT ${}",
        where_clause(&conditions),
        values.len()
    );
    let rows = tx.query(&sql, &values)?;
    let has_more = rows.len() > limit;
    let rows = &rows[..rows.len().min(limit)];
    let ids: Vec<String> = rows.iter().map(|r| r.text(0)).collect::<Result<_>>()?;
    let mut evidence = evidence_summaries(tx, &ids)?;
    let items = rows
        .iter()
        .map(|row| {
            let (summary, _) = summary(row, evidence.remove(&row.text(0)?).unwrap_or_default())?;
            Ok(summary)
        })
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = match items.last() {
        Some(last) if has_more => Some(
            Cursor {
                time_ms: last.received_ms,
                id: last.id.clone(),
            }
            .encode(),
        ),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

/// The jurisdiction an inspection belongs to, for checking who may see and act
/// on it before anything else is read.
pub fn jurisdiction_of(tx: &mut Tx, id: &str) -> Result<String> {
    tx.query_opt(
        "SELECT jurisdiction FROM inspections WHERE id = $1",
        params![id],
    )?
    .ok_or(Error::NotFound { what: "inspection" })?
    .text(0)
}

/// The case without the responsible party's name and numbers, for a reader
/// whose role does not decide on it (a dispatcher).
pub fn without_personal_data(mut case: InspectionCase) -> InspectionCase {
    if let Some(body) = case.inspection.as_object_mut() {
        body.remove("responsible_party");
    }
    case
}

/// The patrol track segments recorded as evidence of inspection `id`, each as
/// its points (WGS-84), in the order they were received. Only segments whose
/// points hashed to their signed seal were kept.
pub fn track_of(tx: &mut Tx, id: &str) -> Result<Vec<Vec<LatLon>>> {
    let rows = tx.query(
        &format!(
            "SELECT p.points FROM {RECORDS_OF_CASES}
             JOIN track_points p ON p.device_id = e.device_id AND p.seq = e.seq
             WHERE e.inspection_id = $1 AND e.kind = 'track_segment' AND ({REFUSAL}) IS NULL
             ORDER BY e.id"
        ),
        params![id],
    )?;
    Ok(rows
        .iter()
        .filter_map(|row| SealedFix::decode_all(&row.blob(0).ok()?))
        .map(|fixes| fixes.iter().map(SealedFix::lat_lon).collect())
        .collect())
}

/// Whether photo `sha256` is the media of an evidence record that counts for
/// inspection `id` (what the console may show of that case).
pub fn has_photo(tx: &mut Tx, id: &str, sha256: &[u8; 32]) -> Result<bool> {
    Ok(tx
        .query_opt(
            &format!(
                "SELECT 1 FROM {RECORDS_OF_CASES}
                 WHERE e.inspection_id = $1 AND e.media_sha256 = $2 AND e.media_status = 'verified'
                 AND ({REFUSAL}) IS NULL"
            ),
            params![id, sha256.to_vec()],
        )?
        .is_some())
}

/// Tells a decision on an inspection (feed kind `review`) to its jurisdiction
/// and to the device that sent it.
pub(crate) fn announce(
    tx: &mut Tx,
    jurisdiction: &str,
    device_id: &str,
    body: &ReviewBody,
) -> Result<()> {
    // Reviewers and colleagues in the jurisdiction see the decision; the device
    // that sent the inspection hears of it even if it has since been moved or
    // pulls a narrower scope. A device covered by both gets it twice; applying a
    // decision is idempotent.
    feed::append(
        tx,
        Audience::Jurisdiction(jurisdiction),
        ChangeKind::Review,
        body,
    )?;
    feed::append(tx, Audience::Device(device_id), ChangeKind::Review, body)?;
    Ok(())
}

/// An evidence status named in a list's filter.
pub fn parse_evidence(text: &str) -> Result<Verification> {
    Verification::from_code(text).ok_or_else(|| Error::InvalidRequest {
        reason: "evidence: none, flagged, pending_media or verified".into(),
    })
}

/// The ids of the inspections whose evidence is flagged (a record that counts
/// for the case failed verification, or its photo does not match): the set the
/// dashboard joins once instead of asking per row. Its record condition is the
/// `evidence_flagged` partial index's, so only flagged records are read.
pub fn flagged_cases_sql() -> String {
    format!(
        "SELECT DISTINCT e.inspection_id AS id FROM {RECORDS_OF_CASES}
         WHERE (e.status <> 'accepted' OR e.media_status = 'mismatch') AND ({REFUSAL}) IS NULL"
    )
}

/// The SQL condition that an inspection's evidence shows `status`
/// ([`EvidenceSummary::verification`] in SQL: refused records do not count).
pub fn evidence_condition(status: Verification) -> String {
    let attached = |extra: &str| {
        format!(
            "EXISTS (SELECT 1 FROM {RECORDS_OF_CASES} WHERE e.inspection_id = inspections.id
             AND ({REFUSAL}) IS NULL{extra})"
        )
    };
    let flagged = attached(" AND (e.status <> 'accepted' OR e.media_status = 'mismatch')");
    let pending = attached(" AND e.media_status = 'pending'");
    match status {
        Verification::None => format!("NOT {}", attached("")),
        Verification::Flagged => flagged,
        Verification::PendingMedia => format!("NOT {flagged} AND {pending}"),
        Verification::Verified => format!("{} AND NOT {flagged} AND NOT {pending}", attached("")),
    }
}

/// One inspection with its evidence records and, answering a fire task, its
/// proof of visit.
pub fn get(tx: &mut Tx, id: &str, fires: &FireSettings) -> Result<InspectionCase> {
    let row = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM inspections WHERE id = $1"),
            params![id],
        )?
        .ok_or(Error::NotFound { what: "inspection" })?;
    let records = tx.query(
        &format!(
            "SELECT e.seq, e.kind, e.status, e.failure, e.media_status, e.media_sha256,
                    e.leaf_index, e.received_ms, e.device_id, {REFUSAL}
             FROM {RECORDS_OF_CASES} WHERE e.inspection_id = $1 ORDER BY e.id"
        ),
        params![id],
    )?;
    let mut counts = EvidenceSummary::default();
    let (mut attached, mut refused) = (Vec::new(), Vec::new());
    for r in &records {
        let record = EvidenceRecord {
            seq: r.opt_int(0)?,
            kind: r.opt_text(1)?,
            status: r.text(2)?,
            failure: r.opt_text(3)?,
            media_status: r.text(4)?,
            media_sha256: r.opt_blob(5)?.map(|b| hex::encode(&b)),
            leaf_index: r.opt_int(6)?,
            received_ms: r.int(7)?,
            device_id: r.text(8)?,
            refusal: r.opt_text(9)?,
        };
        if record.refusal.is_some() {
            refused.push(record);
        } else {
            add(&mut counts, &record.status, &record.media_status, 1);
            attached.push(record);
        }
    }
    let assigned_officers = tx
        .query(
            "SELECT officer_id FROM inspection_officers WHERE inspection_id = $1
             ORDER BY assigned_ms, officer_id",
            params![id],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_>>()?;
    let (summary, inspection) = summary(&row, counts)?;
    let visit = match &summary.task_id {
        Some(task_id) => super::tasks::visit_for(tx, task_id, id, fires)?,
        None => None,
    };
    Ok(InspectionCase {
        summary,
        amended_by: amended_by(tx, id)?,
        inspection,
        evidence_records: attached,
        refused_records: refused,
        assigned_officers,
        visit,
    })
}

/// Assigns `officer_id` to inspection `id` and to every amendment after it (a
/// joint inspection): that officer's devices may then attach evidence to the
/// case and amend it. Assigning twice changes nothing.
pub fn assign_officer(
    tx: &mut Tx,
    id: &str,
    officer_id: &str,
    fires: &FireSettings,
) -> Result<InspectionCase> {
    tx.query_opt("SELECT 1 FROM inspections WHERE id = $1", params![id])?
        .ok_or(Error::NotFound { what: "inspection" })?;
    tx.query_opt("SELECT 1 FROM officers WHERE id = $1", params![officer_id])?
        .ok_or(Error::NotFound { what: "officer" })?;
    let now = now_ms();
    let mut next = Some(id.to_owned());
    while let Some(revision) = next {
        tx.execute(
            "INSERT INTO inspection_officers (inspection_id, officer_id, assigned_ms)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            params![&revision, officer_id, now],
        )?;
        next = amended_by(tx, &revision)?;
    }
    get(tx, id, fires)
}

/// Records a review decision and tells the inspection's jurisdiction and the
/// device that sent it (feed kind `review`). An accepted case `penalty` is
/// marked for penalty: it waits for legal review ([`super::legal_review`]). Only an inspection waiting for
/// review, and not superseded by an amendment, can be reviewed, and only once.
///
/// Accepting an inspection that answers a task closes the task
/// ([`super::tasks::close_by_review`]).
pub fn review(
    tx: &mut Tx,
    id: &str,
    decision: Decision,
    comment: Option<&str>,
    penalty: bool,
    fires: &FireSettings,
) -> Result<InspectionCase> {
    if penalty && decision != Decision::Accept {
        return Err(Error::InvalidRequest {
            reason: "only an accepted case is marked for penalty".into(),
        });
    }
    let comment = match comment {
        Some(text) => {
            Some(text_field(text, "comment", MAX_COMMENT_CHARS)?).filter(|c| !c.is_empty())
        }
        None => None,
    };
    if decision == Decision::Return && comment.is_none() {
        return Err(Error::CommentRequired);
    }
    let row = tx
        .query_opt(
            "SELECT status, jurisdiction, device_id FROM inspections WHERE id = $1",
            params![id],
        )?
        .ok_or(Error::NotFound { what: "inspection" })?;
    if row.text(0)? != ReviewStatus::Submitted.code() {
        return Err(Error::AlreadyReviewed);
    }
    if amended_by(tx, id)?.is_some() {
        return Err(Error::Superseded);
    }
    let (jurisdiction, device_id) = (row.text(1)?, row.text(2)?);
    let reviewed_ms = now_ms();
    let status = decision.status().code();
    // Conditional on the status read above, so two reviewers racing cannot both
    // decide, whatever the backend's isolation level.
    let legal_status = penalty.then_some(LegalStatus::Pending.code());
    let changed = tx.execute(
        "UPDATE inspections SET status = $1, review_comment = $2, reviewed_ms = $3,
                penalty = $4, legal_status = $5
         WHERE id = $6 AND status = 'submitted'",
        params![
            status,
            comment.clone(),
            reviewed_ms,
            i64::from(penalty),
            legal_status,
            id
        ],
    )?;
    if changed != 1 {
        return Err(Error::AlreadyReviewed);
    }
    let body = ReviewBody {
        inspection_id: id.to_owned(),
        decision: status.to_owned(),
        comment: comment.clone(),
        reviewed_ms,
    };
    announce(tx, &jurisdiction, &device_id, &body)?;
    let case = get(tx, id, fires)?;
    match (decision, &case.summary.task_id) {
        (Decision::Accept, Some(task_id)) => {
            super::tasks::close_by_review(tx, task_id, id, &case.inspection, fires)?;
            get(tx, id, fires) // with the proof of visit as recorded
        }
        _ => Ok(case),
    }
}

/// The amendment of `id`, if one has been received.
pub(crate) fn amended_by(tx: &mut Tx, id: &str) -> Result<Option<String>> {
    tx.query_opt(
        "SELECT id FROM inspections WHERE amends_id = $1 ORDER BY received_ms, id LIMIT 1",
        params![id],
    )?
    .map(|r| r.text(0))
    .transpose()
}

/// Counts of the evidence attached to each of `ids` (one query per page, not
/// per inspection).
fn evidence_summaries(tx: &mut Tx, ids: &[String]) -> Result<HashMap<String, EvidenceSummary>> {
    let mut summaries = HashMap::new();
    if ids.is_empty() {
        return Ok(summaries);
    }
    let values: Vec<Value> = ids.iter().map(Value::from).collect();
    let rows = tx.query(
        &format!(
            "SELECT e.inspection_id, e.status, e.media_status, COUNT(*) FROM {RECORDS_OF_CASES}
             WHERE e.inspection_id IN ({}) AND ({REFUSAL}) IS NULL
             GROUP BY e.inspection_id, e.status, e.media_status",
            parameters(1, ids.len())
        ),
        &values,
    )?;
    for row in rows {
        let summary = summaries.entry(row.text(0)?).or_default();
        add(summary, &row.text(1)?, &row.text(2)?, row.int(3)?);
    }
    Ok(summaries)
}

/// A row of [`COLUMNS`] as a summary, and the stored inspection body.
fn summary(row: &Row, counts: EvidenceSummary) -> Result<(InspectionSummary, serde_json::Value)> {
    // The body is the device's inspection JSON, checked by the push path; a field
    // that is missing or of another type shows as null rather than failing a list.
    let body: serde_json::Value =
        serde_json::from_str(&row.text(6)?).unwrap_or(serde_json::Value::Null);
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let summary = InspectionSummary {
        id: row.text(0)?,
        device_id: row.text(1)?,
        officer_id: row.text(2)?,
        jurisdiction: row.text(3)?,
        status: row.text(4)?,
        amends_id: row.opt_text(5)?,
        received_ms: row.int(7)?,
        review_comment: row.opt_text(8)?,
        reviewed_ms: row.opt_int(9)?,
        penalty: row.int(10)? != 0,
        legal_status: row.opt_text(11)?,
        legal_comment: row.opt_text(12)?,
        matter: text(&body["matter"]),
        township_code: text(&body["township_code"]),
        county_code: text(&body["county_code"]),
        lat: body["site"]["lat"].as_f64(),
        lon: body["site"]["lon"].as_f64(),
        address: text(&body["site"]["address"]),
        task_id: text(&body["task_id"]),
        started_at_ms: body["started_at_ms"].as_i64(),
        ended_at_ms: body["ended_at_ms"].as_i64(),
        revision: body["revision"].as_u64(),
        evidence: counts.into(),
    };
    Ok((summary, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_follows_the_worst_record() {
        let mut s = EvidenceSummary::default();
        assert_eq!(s.verification(), Verification::None);
        add(&mut s, "accepted", "none", 1);
        assert_eq!(s.verification(), Verification::Verified);
        add(&mut s, "accepted", "verified", 2);
        assert_eq!(s.verification(), Verification::Verified);
        add(&mut s, "accepted", "pending", 1);
        assert_eq!(s.verification(), Verification::PendingMedia);
        let mut mismatch = s.clone();
        add(&mut mismatch, "accepted", "mismatch", 1);
        assert_eq!(mismatch.verification(), Verification::Flagged);
        add(&mut s, "flagged", "none", 1);
        assert_eq!(s.verification(), Verification::Flagged);
        assert_eq!((s.records, s.accepted, s.flagged), (5, 4, 1));
    }
}

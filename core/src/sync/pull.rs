//! Pull: the bureau's change feed after the device's cursor — tasks, review
//! decisions, jurisdiction boundaries, checklist templates, receipts — one page
//! per request, each page applied with its new cursor and checkpoint in one
//! transaction. The cursor is the bureau's, opaque; device time never is one.

use super::client::BureauClient;
use super::log_view;
use crate::error::Result;
use crate::model::inspection::{Review, Status};
use crate::store::{FeedItem, Store};
use crate::wire::pull::{
    BoundaryBody, Change, ChangeKind, ChecklistBody, PullPage, PullRequest, ReceiptBody, ReviewBody,
};

/// Entries per page.
const PAGE_LIMIT: usize = 50;
/// Bytes of entries per page the bureau is asked for: at 2G speeds (~20 KB/s) a
/// page finishes in a few seconds, well inside a background task's window.
const PAGE_BYTES: usize = 64 * 1024;

/// What one pull request did.
pub(crate) struct Pulled {
    pub applied: u32,
    pub receipts: u32,
    pub has_more: bool,
}

/// Pulls and applies the page after the stored cursor.
pub(crate) fn pull_page(store: &Store, bureau: &BureauClient, bureau_key: &[u8]) -> Result<Pulled> {
    let cursor = store.sync_state()?.pull_cursor.unwrap_or_default();
    let request = PullRequest {
        cursor: Some(cursor),
        limit: Some(PAGE_LIMIT),
        max_bytes: Some(PAGE_BYTES),
        jurisdiction: None,
    };
    let page: PullPage = bureau.json("GET", &request.path(), None)?;
    // A page from a log that contradicts the device's view is not applied and
    // the cursor stays: nothing of it is lost, and the next call asks again.
    let checkpoint = log_view::admit(store, bureau, bureau_key, page.checkpoint.as_ref())?;
    let items: Vec<FeedItem> = page.changes.into_iter().map(read).collect();
    let applied = store.apply_pull_page(&items, &page.next_cursor, checkpoint, bureau_key)?;
    Ok(Pulled {
        applied: applied.applied,
        receipts: applied.receipts,
        has_more: page.has_more,
    })
}

/// Reads one entry. Unknown kinds and unreadable bodies become `Unknown`: a page
/// never fails for one entry this app cannot use.
fn read(change: Change) -> FeedItem {
    let Some(kind) = change.kind() else {
        return FeedItem::Unknown;
    };
    let item = match kind {
        ChangeKind::Task => serde_json::from_value(change.body).ok().map(FeedItem::Task),
        ChangeKind::Review => serde_json::from_value(change.body).ok().and_then(review),
        ChangeKind::Boundaries => {
            serde_json::from_value(change.body)
                .ok()
                .map(|b: BoundaryBody| FeedItem::Boundary {
                    geojson: b.geojson.to_string(),
                    datum: b.datum,
                })
        }
        ChangeKind::Checklist => {
            serde_json::from_value(change.body)
                .ok()
                .map(|c: ChecklistBody| FeedItem::Checklist {
                    template: c.template,
                    matter: c.matter.map(|m| (m.code, m.name)),
                })
        }
        ChangeKind::Receipt => serde_json::from_value(change.body)
            .ok()
            .map(|r: ReceiptBody| FeedItem::Receipt {
                seq: r.seq,
                receipt: r.receipt,
            }),
    };
    item.unwrap_or(FeedItem::Unknown)
}

fn review(body: ReviewBody) -> Option<FeedItem> {
    let decision = match body.decision.as_str() {
        "accepted" => Status::Accepted,
        "returned" => Status::Returned,
        _ => return None,
    };
    Some(FeedItem::Review(Review {
        inspection_id: crate::model::id::parse_id(&body.inspection_id, "inspection id").ok()?,
        decision,
        comment: body.comment,
        reviewed_ms: body.reviewed_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn change(kind: &str, body: Value) -> Change {
        Change {
            seq: 1,
            kind: kind.into(),
            body,
        }
    }

    #[test]
    fn entries_are_read_by_kind_and_unknown_ones_skipped() {
        let task = json!({"id": "0190f3a4-7b1c-7def-8000-0123456789ab", "jurisdiction": "430121",
            "title": "核查火点", "note": null, "location": null, "due_ms": null,
            "created_ms": 1_790_000_000_000_i64, "priority": "high"});
        assert!(matches!(read(change("task", task)), FeedItem::Task(t) if t.title == "核查火点"));
        let review = json!({"inspection_id": "0190F3A4-7B1C-7DEF-8000-0123456789AB",
            "decision": "returned", "comment": "补拍", "reviewed_ms": 5});
        match read(change("review", review)) {
            FeedItem::Review(r) => {
                assert_eq!(r.decision, Status::Returned);
                assert_eq!(r.inspection_id, "0190f3a4-7b1c-7def-8000-0123456789ab");
            }
            other => panic!("{other:?}"),
        }
        let bad_decision = json!({"inspection_id": "0190f3a4-7b1c-7def-8000-0123456789ab",
            "decision": "maybe", "reviewed_ms": 5});
        assert_eq!(read(change("review", bad_decision)), FeedItem::Unknown);
        assert_eq!(read(change("task", json!({"id": 1}))), FeedItem::Unknown);
        assert_eq!(read(change("weather", json!({}))), FeedItem::Unknown);
    }
}

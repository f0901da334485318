//! What the bureau sends down by pull — tasks, review decisions, reference data
//! (jurisdiction boundaries, checklist templates), receipts — and the checkpoint
//! that comes with each page. A page, its new cursor and its checkpoint are
//! applied in one transaction: a page is either all in or not at all.

use super::sync::{keep_receipt, save_checkpoint};
use super::{boundaries, lock, reference, task_progress, Store};
use crate::error::{ErrorKind, Result};
use crate::evidence::receipt::{Receipt, SignedCheckpoint};
use crate::geo::datum::Datum;
use crate::geo::jurisdiction::JurisdictionIndex;
use crate::model::checklist::ChecklistTemplate;
use crate::model::inspection::{Review, Status};
use crate::model::matter::Matter;
use crate::model::task::Task;
use crate::time::now_ms;
use rusqlite::{params, Connection, OptionalExtension};

/// One change-feed entry, read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FeedItem {
    Task(Task),
    Review(Review),
    Boundary {
        geojson: String,
        datum: Datum,
    },
    Checklist {
        template: ChecklistTemplate,
        /// The enforcement matter (code, name) that uses the template from now on.
        matter: Option<(String, String)>,
    },
    Receipt {
        seq: u64,
        receipt: Receipt,
    },
    /// A kind this app does not know, or a body it cannot read: skipped. A newer
    /// bureau must not stop an older app's sync.
    Unknown,
}

/// What applying a page did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PageApplied {
    pub applied: u32,
    /// Entries left aside: unknown, unreadable, about nothing held here (a
    /// colleague's inspection), or refused by the device's own checks.
    pub skipped: u32,
    pub receipts: u32,
}

impl Store {
    /// Applies one pull page and moves the cursor past it, atomically. A checkpoint
    /// or receipt that does not verify with `bureau_key` is not kept.
    pub(crate) fn apply_pull_page(
        &self,
        items: &[FeedItem],
        next_cursor: &str,
        checkpoint: Option<&SignedCheckpoint>,
        bureau_key: &[u8],
    ) -> Result<PageApplied> {
        let mut boundaries_changed = false;
        let applied = self.write(|tx| {
            let mut page = PageApplied::default();
            let now = now_ms();
            for item in items {
                // Each entry in its own savepoint: one the device refuses (a
                // checklist version it holds with other content) is left out alone.
                tx.execute_batch("SAVEPOINT feed_item")?;
                match apply(tx, item, bureau_key, now) {
                    Ok(true) => {
                        tx.execute_batch("RELEASE feed_item")?;
                        page.applied += 1;
                        boundaries_changed |= matches!(item, FeedItem::Boundary { .. });
                        page.receipts += u32::from(matches!(item, FeedItem::Receipt { .. }));
                    }
                    Ok(false) => {
                        tx.execute_batch("RELEASE feed_item")?;
                        page.skipped += 1;
                    }
                    Err(e) if e.kind() == ErrorKind::Storage => return Err(e),
                    Err(_) => {
                        tx.execute_batch("ROLLBACK TO feed_item; RELEASE feed_item")?;
                        page.skipped += 1;
                    }
                }
            }
            if let Some(checkpoint) = checkpoint {
                save_checkpoint(tx, checkpoint)?;
            }
            tx.execute("UPDATE sync_state SET pull_cursor = ?1", [next_cursor])?;
            Ok(page)
        })?;
        if boundaries_changed {
            *lock(&self.jurisdictions) = None;
        }
        Ok(applied)
    }

    /// Tasks from the bureau, newest first.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT body FROM tasks ORDER BY created_ms DESC, id DESC")?;
            let bodies = stmt.query_map([], |row| row.get::<_, String>(0))?;
            bodies
                .map(|body| serde_json::from_str(&body?).map_err(|_| crate::Error::DatabaseCorrupt))
                .collect()
        })
    }

    /// The bureau's review of an inspection, once it arrived.
    pub fn review(&self, inspection_id: &str) -> Result<Option<Review>> {
        let id = crate::model::id::parse_id(inspection_id, "inspection id")?;
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT decision, comment, reviewed_ms FROM reviews WHERE inspection_id = ?1",
                )?
                .query_row([&id], |row| {
                    Ok(Review {
                        inspection_id: id.clone(),
                        decision: row.get(0)?,
                        comment: row.get(1)?,
                        reviewed_ms: row.get(2)?,
                    })
                })
                .optional()?)
        })
    }
}

/// Applies one entry; `false` when there was nothing here for it to change.
fn apply(tx: &Connection, item: &FeedItem, bureau_key: &[u8], now: i64) -> Result<bool> {
    match item {
        FeedItem::Task(task) => {
            let body = serde_json::to_string(task).expect("tasks serialise");
            // A task sent again (its fire event grew, or it was closed) keeps
            // how it stands here; a new one is reported received.
            let updated = tx
                .prepare_cached("UPDATE tasks SET body = ?2, created_ms = ?3 WHERE id = ?1")?
                .execute(params![task.id, body, task.created_ms])?;
            if updated == 0 {
                tx.prepare_cached(
                    "INSERT INTO tasks (id, body, created_ms, received_at_ms, state_ms)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                )?
                .execute(params![task.id, body, task.created_ms, now])?;
                task_progress::received(tx, &task.id, now)?;
            }
            Ok(true)
        }
        FeedItem::Review(review) => apply_review(tx, review, now),
        FeedItem::Boundary { geojson, datum } => {
            // The device's own loader decides; a polygon it cannot read is refused.
            if JurisdictionIndex::new().load_geojson(geojson.as_bytes(), *datum)? == 0 {
                return Ok(false);
            }
            let held: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM boundary_sources WHERE geojson = ?1 AND datum = ?2)",
                )?
                .query_row(params![geojson, datum.code()], |row| row.get(0))?;
            if !held {
                boundaries::insert_source(tx, geojson, *datum, now)?;
            }
            Ok(!held)
        }
        FeedItem::Checklist { template, matter } => {
            reference::put_template(tx, template)?;
            if let Some((code, name)) = matter {
                let matter = Matter {
                    code: code.clone(),
                    name: name.clone(),
                    checklist_id: template.id.clone(),
                };
                reference::put_matter(tx, &matter)?;
            }
            Ok(true)
        }
        FeedItem::Receipt { seq, receipt } => keep_receipt(tx, *seq, receipt, bureau_key, now),
        FeedItem::Unknown => Ok(false),
    }
}

/// Moves an inspection recorded here to the reviewer's decision. Reviews of
/// inspections this device does not hold (a colleague's) are not its business.
fn apply_review(tx: &Connection, review: &Review, now: i64) -> Result<bool> {
    let status: Option<Status> = tx
        .prepare_cached("SELECT status FROM inspections WHERE id = ?1")?
        .query_row([&review.inspection_id], |row| row.get(0))
        .optional()?;
    if matches!(status, None | Some(Status::Draft)) {
        return Ok(false);
    }
    tx.prepare_cached("UPDATE inspections SET status = ?2, updated_at_ms = ?3 WHERE id = ?1")?
        .execute(params![review.inspection_id, review.decision.code(), now])?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO reviews (inspection_id, decision, comment, reviewed_ms, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        review.inspection_id,
        review.decision.code(),
        review.comment,
        review.reviewed_ms,
        now
    ])?;
    Ok(true)
}

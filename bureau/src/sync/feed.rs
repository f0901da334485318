//! The change feed devices pull: tasks, review decisions, reference data and
//! receipts, each addressed to a jurisdiction (everyone whose jurisdiction covers
//! it), to one device, or to everyone.
//!
//! Entries are numbered by the `change_feed` counter, taken inside the writing
//! transaction; its row lock makes entries commit in number order, so a reader
//! that has seen entry n has seen every entry below n, and the number is a sound
//! cursor. Device time is never a cursor.

use crate::error::Result;
use crate::storage::{next_counter, take_counters, value_rows, Tx, Value};
use crate::{now_ms, params};
use fieldproof_core::wire::pull::{Change, ChangeKind};
use serde::Serialize;

/// Who an entry is for.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    Everyone,
    /// Every device whose jurisdiction covers this code (and reviewers above it).
    Jurisdiction(&'a str),
    Device(&'a str),
}

/// Appends an entry in the caller's transaction; returns its number.
pub fn append(
    tx: &mut Tx,
    audience: Audience,
    kind: ChangeKind,
    body: &impl Serialize,
) -> Result<i64> {
    let seq = next_counter(tx, "change_feed")?;
    let (jurisdiction, device) = addressed(audience);
    let body = serde_json::to_string(body).expect("feed bodies serialise");
    tx.execute(
        "INSERT INTO change_feed (seq, jurisdiction, device_id, kind, body, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        params![seq, jurisdiction, device, kind.as_str(), body, now_ms()],
    )?;
    Ok(seq)
}

/// Appends entries in the caller's transaction, numbered in order, taking the
/// counter once for all of them (many entries from one import).
pub fn append_all<'a, B: Serialize + 'a>(
    tx: &mut Tx,
    kind: ChangeKind,
    entries: impl ExactSizeIterator<Item = (Audience<'a>, &'a B)>,
) -> Result<()> {
    const COLUMNS: usize = 6;
    const ROWS: usize = 500;
    let count = entries.len() as i64;
    if count == 0 {
        return Ok(());
    }
    let mut seq = take_counters(tx, "change_feed", count)? - count;
    let now = now_ms();
    let mut values = Vec::with_capacity(ROWS * COLUMNS);
    let mut entries = entries.peekable();
    while entries.peek().is_some() {
        values.clear();
        for (audience, body) in entries.by_ref().take(ROWS) {
            seq += 1;
            let (jurisdiction, device) = addressed(audience);
            let body = serde_json::to_string(body).expect("feed bodies serialise");
            values.extend([
                Value::from(seq),
                Value::from(jurisdiction),
                Value::from(device),
                Value::from(kind.as_str()),
                Value::from(body),
                Value::from(now),
            ]);
        }
        tx.execute(
            &format!(
                "INSERT INTO change_feed (seq, jurisdiction, device_id, kind, body, created_ms)
                 VALUES {}",
                value_rows(values.len() / COLUMNS, COLUMNS)
            ),
            &values,
        )?;
    }
    Ok(())
}

fn addressed(audience: Audience<'_>) -> (Option<&str>, Option<&str>) {
    match audience {
        Audience::Everyone => (None, None),
        Audience::Jurisdiction(code) => (Some(code), None),
        Audience::Device(id) => (None, Some(id)),
    }
}

/// Up to `limit` entries after `after` that `device_id` in `jurisdiction` may see,
/// plus whether more remain.
///
/// An entry addressed to jurisdiction J reaches a device in D when J lies within D
/// (D is a prefix of J: a county officer sees the county's townships) or D within J
/// (a township's staff see their county's tasks).
pub fn page(
    tx: &mut Tx,
    device_id: &str,
    jurisdiction: &str,
    after: i64,
    size: PageSize,
) -> Result<(Vec<Change>, bool)> {
    let rows = tx.query(
        "SELECT seq, kind, body FROM change_feed
         WHERE seq > $1
           AND ((jurisdiction IS NULL AND device_id IS NULL)
                OR device_id = $2
                OR substr(jurisdiction, 1, length($3)) = $3
                OR substr($3, 1, length(jurisdiction)) = jurisdiction)
         ORDER BY seq LIMIT $4",
        params![after, device_id, jurisdiction, (size.entries + 1) as i64],
    )?;
    let mut changes = Vec::new();
    let mut bytes = 0;
    for row in &rows {
        let body = row.text(2)?;
        // Always at least one entry, however large, or the page could never move.
        let full = changes.len() == size.entries
            || (!changes.is_empty() && bytes + body.len() > size.bytes);
        if full {
            return Ok((changes, true));
        }
        bytes += body.len();
        changes.push(Change {
            seq: row.int(0)?,
            kind: row.text(1)?,
            body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        });
    }
    Ok((changes, false))
}

/// How much one page may carry: at most `entries` entries, and no more entries
/// once their bodies pass `bytes` (so a 2G device can ask for pages it can finish).
#[derive(Debug, Clone, Copy)]
pub struct PageSize {
    pub entries: usize,
    pub bytes: usize,
}

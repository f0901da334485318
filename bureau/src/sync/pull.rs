//! `GET /v1/sync/pull?cursor=`: the changes a device may see after its cursor,
//! with the latest signed checkpoint. Receipts in the feed are expanded into full
//! receipts (inclusion proof against that checkpoint) as they are read.

use super::feed::{self, Change};
use crate::bureau::Bureau;
use crate::custody_log::{persisted, SignedCheckpoint};
use crate::enrollment::{covers, Device};
use crate::error::{Error, Result};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct PullPage {
    pub changes: Vec<Change>,
    /// Opaque; pass it back as `cursor` to continue.
    pub next_cursor: String,
    pub has_more: bool,
    pub checkpoint: SignedCheckpoint,
}

/// One page for `device`, optionally narrowed to a jurisdiction within its own.
pub fn pull(
    bureau: &Bureau,
    device: &Device,
    cursor: Option<&str>,
    limit: Option<usize>,
    jurisdiction: Option<&str>,
) -> Result<PullPage> {
    let after = match cursor {
        None | Some("") => 0,
        Some(text) => parse_cursor(text)?,
    };
    let scope = match jurisdiction {
        Some(code) if !covers(&device.jurisdiction, code) => {
            return Err(Error::OutsideJurisdiction)
        }
        Some(code) => code,
        None => &device.jurisdiction,
    };
    let limit = limit
        .unwrap_or(bureau.limits.max_pull_page)
        .clamp(1, bureau.limits.max_pull_page);
    let (mut changes, has_more) = bureau
        .db
        .read(|tx| feed::page(tx, &device.id, scope, after, limit))?;
    // Read after the page, so the checkpoint covers every leaf the page names.
    let checkpoint = persisted::latest_checkpoint(&bureau.db, &bureau.log, &bureau.key)?;
    for change in changes.iter_mut().filter(|c| c.kind == "receipt") {
        let Some(leaf_index) = change.body.get("leaf_index").and_then(|v| v.as_u64()) else {
            continue;
        };
        let receipt = persisted::receipt(&bureau.log, leaf_index, &checkpoint)?;
        let seq = change.body.get("seq").cloned();
        change.body = serde_json::json!({ "seq": seq, "receipt": receipt });
    }
    let next = changes.last().map_or(after, |c| c.seq);
    Ok(PullPage {
        changes,
        next_cursor: format_cursor(next),
        has_more,
        checkpoint,
    })
}

/// Cursors are feed positions, printed so that devices treat them as opaque.
fn format_cursor(seq: i64) -> String {
    format!("c{seq:x}")
}

fn parse_cursor(text: &str) -> Result<i64> {
    text.strip_prefix('c')
        .filter(|hex| !hex.is_empty() && hex.len() <= 15)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .ok_or(Error::InvalidCursor)
}

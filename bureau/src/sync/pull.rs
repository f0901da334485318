//! `GET /v1/sync/pull?cursor=`: the changes a device may see after its cursor,
//! with the latest signed checkpoint. Receipts in the feed are expanded into full
//! receipts (inclusion proof against that checkpoint) as they are read.

use super::feed::{self, PageSize};
use crate::bureau::Bureau;
use crate::custody_log::persisted;
use crate::enrollment::{covers, Device};
use crate::error::{Error, Result};
use fieldproof_core::wire::pull::{ChangeKind, PullPage, ReceiptBody};

pub use fieldproof_core::wire::pull::PullRequest;

/// The smallest byte budget a page may be given.
pub const MIN_PAGE_BYTES: usize = 4 * 1024;

/// One page for `device`.
pub fn pull(bureau: &Bureau, device: &Device, request: &PullRequest) -> Result<PullPage> {
    let after = match request.cursor.as_deref() {
        None | Some("") => 0,
        Some(text) => parse_cursor(text)?,
    };
    let scope = match request.jurisdiction.as_deref() {
        Some(code) if !covers(&device.jurisdiction, code) => {
            return Err(Error::OutsideJurisdiction)
        }
        Some(code) => code,
        None => &device.jurisdiction,
    };
    let limits = &bureau.limits;
    let size = PageSize {
        entries: request
            .limit
            .unwrap_or(limits.max_pull_page)
            .clamp(1, limits.max_pull_page),
        bytes: request
            .max_bytes
            .unwrap_or(limits.max_pull_bytes)
            .clamp(MIN_PAGE_BYTES, limits.max_pull_bytes.max(MIN_PAGE_BYTES)),
    };
    let (mut changes, has_more) = bureau
        .db
        .read(|tx| feed::page(tx, &device.id, scope, after, size))?;
    // Read after the page, so the checkpoint covers every leaf the page names.
    let checkpoint = persisted::latest_checkpoint(&bureau.db, &bureau.log, &bureau.key)?;
    for change in changes
        .iter_mut()
        .filter(|c| c.kind() == Some(ChangeKind::Receipt))
    {
        let (Some(leaf_index), Some(seq)) = (
            change.body.get("leaf_index").and_then(|v| v.as_u64()),
            change.body.get("seq").and_then(|v| v.as_u64()),
        ) else {
            continue;
        };
        let receipt = persisted::receipt(&bureau.log, leaf_index, &checkpoint)?;
        change.body =
            serde_json::to_value(ReceiptBody { seq, receipt }).expect("receipts serialise");
    }
    let next = changes.last().map_or(after, |c| c.seq);
    Ok(PullPage {
        changes,
        next_cursor: format_cursor(next),
        has_more,
        checkpoint: Some(checkpoint),
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

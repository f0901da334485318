//! Push: outbox ops go to `POST /v1/sync/push` in batches, in dependency order
//! (`store::outbox::ready` says which may go), and the bureau's answer for each op
//! is kept on its row for good. The bureau applies an op once per `op_id`, so a
//! batch resent after a lost answer changes nothing there.

use super::client::BureauClient;
use crate::error::{Error, Result};
use crate::evidence::receipt::{Receipt, SignedCheckpoint};
use crate::store::outbox::OpAnswer;
use crate::store::{OpState, OutboxOp, Store};
use serde::Deserialize;

/// At most this many ops per push…
const MAX_BATCH_OPS: u32 = 100;
/// …and at most this many bytes of ops: a push is all-or-nothing on the wire, so
/// on a weak link a smaller one gets through sooner (the bureau takes 1 MiB).
const MAX_BATCH_BYTES: usize = 512 * 1024;

#[derive(Deserialize)]
struct PushAnswer {
    results: Vec<OpResult>,
    #[serde(default)]
    checkpoint: Option<SignedCheckpoint>,
    #[serde(default)]
    receipts: Vec<OpReceipt>,
}

#[derive(Deserialize)]
struct OpResult {
    op_id: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    result: Option<serde_json::Value>,
    /// For a `duplicate`: what the op got the first time.
    #[serde(default)]
    original_status: Option<String>,
}

#[derive(Deserialize)]
struct OpReceipt {
    op_id: String,
    receipt: Receipt,
}

/// What one push did.
pub(crate) struct Pushed {
    /// Ops the bureau answered; 0 when nothing was ready to go.
    pub answered: u32,
    pub receipts: u32,
}

/// Pushes the next batch of ready ops and keeps the answers, receipts and checkpoint.
pub(crate) fn push_batch(
    store: &Store,
    bureau: &BureauClient,
    bureau_key: &[u8],
) -> Result<Pushed> {
    let batch = fit(store.ready_ops(MAX_BATCH_OPS)?);
    if batch.is_empty() {
        return Ok(Pushed {
            answered: 0,
            receipts: 0,
        });
    }
    let body = format!(
        r#"{{"ops":[{}]}}"#,
        batch.iter().map(op_json).collect::<Vec<_>>().join(",")
    );
    let answer: PushAnswer = match bureau.json("POST", "/v1/sync/push", Some(body.into_bytes())) {
        Ok(answer) => answer,
        Err(e) => {
            if !matches!(e, Error::Cancelled | Error::SyncInProgress) {
                let op_ids: Vec<String> = batch.iter().map(|op| op.op_id.clone()).collect();
                store.save_push_attempt(&op_ids, e.code())?;
            }
            return Err(e);
        }
    };
    let answers: Vec<OpAnswer> = answer
        .results
        .iter()
        .filter(|r| batch.iter().any(|op| op.op_id == r.op_id))
        .filter_map(op_answer)
        .collect();
    if answers.is_empty() {
        // Without an answer the same batch would go again and again.
        return Err(Error::BadResponse {
            reason: "push: no answer for any op sent".into(),
        });
    }
    let receipts: Vec<(u64, Receipt)> = answer
        .receipts
        .into_iter()
        .filter_map(|r| {
            let op = batch.iter().find(|op| op.op_id == r.op_id)?;
            Some((record_seq(op)?, r.receipt))
        })
        .collect();
    let kept = store.save_push(&answers, &receipts, answer.checkpoint.as_ref(), bureau_key)?;
    Ok(Pushed {
        answered: answers.len() as u32,
        receipts: kept,
    })
}

/// The ops that fit one push, in order; the first always does.
fn fit(ops: Vec<OutboxOp>) -> Vec<OutboxOp> {
    let (mut batch, mut bytes) = (Vec::new(), 0);
    for op in ops {
        let size = op_json(&op).len() + 1;
        if !batch.is_empty() && bytes + size > MAX_BATCH_BYTES {
            break;
        }
        bytes += size;
        batch.push(op);
    }
    batch
}

/// One op as the bureau takes it. The payload is JSON already and goes exactly
/// as stored: a signed record in it is never re-encoded.
fn op_json(op: &OutboxOp) -> String {
    let text = |s: &str| serde_json::to_string(s).expect("strings serialise");
    format!(
        r#"{{"op_id":{},"kind":{},"entity_id":{},"payload":{}}}"#,
        text(&op.op_id),
        text(&op.kind),
        text(&op.entity_id),
        op.payload
    )
}

/// The evidence record an `evidence.record` op carries (its entity id).
fn record_seq(op: &OutboxOp) -> Option<u64> {
    (op.kind == "evidence.record")
        .then(|| op.entity_id.parse().ok())
        .flatten()
}

/// The final state an answer gives an op. A `duplicate` takes the state of the
/// first answer; a status this app does not know leaves the op pending.
fn op_answer(result: &OpResult) -> Option<OpAnswer> {
    let status = match result.status.as_str() {
        "duplicate" => result.original_status.as_deref()?,
        status => status,
    };
    let state = match status {
        "applied" => OpState::Applied,
        "conflict" => OpState::Conflict,
        "rejected" => OpState::Rejected,
        _ => return None,
    };
    Some(OpAnswer {
        op_id: result.op_id.clone(),
        state,
        reason: result.reason.clone(),
        result: result.result.as_ref().map(|v| v.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(seq: i64, payload_len: usize) -> OutboxOp {
        OutboxOp {
            seq,
            op_id: format!("op-{seq}"),
            kind: "evidence.record".into(),
            entity_id: seq.to_string(),
            payload: format!(r#"{{"signed":"{}"}}"#, "a".repeat(payload_len)),
            created_at_ms: 0,
        }
    }

    #[test]
    fn ops_go_exactly_as_stored() {
        let json = op_json(&op(3, 4));
        assert_eq!(
            json,
            r#"{"op_id":"op-3","kind":"evidence.record","entity_id":"3","payload":{"signed":"aaaa"}}"#
        );
        assert_eq!(record_seq(&op(3, 4)), Some(3));
    }

    #[test]
    fn batches_stop_at_the_byte_limit_but_never_empty() {
        let ops: Vec<OutboxOp> = (1..=10).map(|seq| op(seq, 100 * 1024)).collect();
        let batch = fit(ops.clone());
        assert_eq!(batch.len(), 5, "5 × ~100 KiB fit in 512 KiB");
        assert_eq!(batch[0].seq, 1, "in order");
        let huge = vec![op(1, 600 * 1024), op(2, 10)];
        assert_eq!(
            fit(huge).len(),
            1,
            "an op above the limit still goes, alone"
        );
    }

    #[test]
    fn duplicates_take_the_first_answer() {
        let result = |status: &str, original: Option<&str>| OpResult {
            op_id: "op-1".into(),
            status: status.into(),
            reason: Some("replay".into()),
            result: None,
            original_status: original.map(String::from),
        };
        let state = |r: OpResult| op_answer(&r).map(|a| a.state);
        assert_eq!(state(result("applied", None)), Some(OpState::Applied));
        assert_eq!(
            state(result("duplicate", Some("applied"))),
            Some(OpState::Applied)
        );
        assert_eq!(
            state(result("duplicate", Some("rejected"))),
            Some(OpState::Rejected)
        );
        assert_eq!(state(result("conflict", None)), Some(OpState::Conflict));
        assert_eq!(
            state(result("queued", None)),
            None,
            "unknown: stays pending"
        );
        assert_eq!(state(result("duplicate", None)), None);
    }
}

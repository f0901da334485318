//! Push: outbox ops go to `POST /v1/sync/push` in batches, in dependency order
//! (`store::outbox::ready` says which may go), and the bureau's answer for each op
//! is kept on its row for good. The bureau applies an op once per `op_id`, so a
//! batch resent after a lost answer changes nothing there.

use super::client::BureauClient;
use super::log_view;
use crate::error::{Error, Result};
use crate::evidence::receipt::Receipt;
use crate::model::sync::OpState;
use crate::store::outbox::OpAnswer;
use crate::store::{OutboxOp, Store};
use crate::wire::ops::{Op, OpKind, OpOutcome, OpResult, PushRequest, PushResponse};
use serde_json::value::RawValue;

/// At most this many ops per push…
const MAX_BATCH_OPS: u32 = 100;
/// …and at most this many bytes of ops: a push is all-or-nothing on the wire, so
/// on a weak link a smaller one gets through sooner (the bureau takes 1 MiB).
const MAX_BATCH_BYTES: usize = 512 * 1024;

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
    let batch = fit(store.ready_ops(MAX_BATCH_OPS)?)?;
    if batch.is_empty() {
        return Ok(Pushed {
            answered: 0,
            receipts: 0,
        });
    }
    let (batch, ops): (Vec<OutboxOp>, Vec<Op>) = batch.into_iter().unzip();
    let body = serde_json::to_vec(&PushRequest { ops }).expect("ops serialise");
    let answer: PushResponse = match bureau.json("POST", "/v1/sync/push", Some(body)) {
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
    let checkpoint = match log_view::admit(store, bureau, bureau_key, answer.checkpoint.as_ref()) {
        Ok(checkpoint) => checkpoint,
        Err(e) => {
            // The ops were applied there: keep the answers. The receipts prove
            // inclusion in a log the device cannot hold against its own view;
            // they come again in the feed.
            store.save_push(&answers, &[], None, bureau_key)?;
            return Err(e);
        }
    };
    let kept = store.save_push(&answers, &receipts, checkpoint, bureau_key)?;
    Ok(Pushed {
        answered: answers.len() as u32,
        receipts: kept,
    })
}

/// The ops that fit one push, in order, each with its wire form; the first
/// always fits.
fn fit(ops: Vec<OutboxOp>) -> Result<Vec<(OutboxOp, Op)>> {
    let (mut batch, mut bytes) = (Vec::new(), 0);
    for stored in ops {
        let op = wire_op(&stored)?;
        let size = serde_json::to_string(&op).expect("ops serialise").len() + 1;
        if !batch.is_empty() && bytes + size > MAX_BATCH_BYTES {
            break;
        }
        bytes += size;
        batch.push((stored, op));
    }
    Ok(batch)
}

/// One op as the bureau takes it. The payload is JSON already and goes exactly
/// as stored: a signed record in it is never re-encoded.
fn wire_op(op: &OutboxOp) -> Result<Op> {
    // The store wrote the payload as JSON; anything else was altered on disk.
    let payload = RawValue::from_string(op.payload.clone()).map_err(|_| Error::DatabaseCorrupt)?;
    Ok(Op {
        op_id: op.op_id.clone(),
        kind: op.kind.clone(),
        entity_id: op.entity_id.clone(),
        payload,
    })
}

/// The evidence record an `evidence.record` op carries (its entity id).
fn record_seq(op: &OutboxOp) -> Option<u64> {
    (OpKind::parse(&op.kind) == Some(OpKind::EvidenceRecord))
        .then(|| op.entity_id.parse().ok())
        .flatten()
}

/// The final state an answer gives an op. A `duplicate` takes the state of the
/// first answer; a status this app does not know leaves the op pending.
fn op_answer(result: &OpResult) -> Option<OpAnswer> {
    let state = match result.final_status()? {
        OpOutcome::Applied => OpState::Applied,
        OpOutcome::Conflict => OpState::Conflict,
        OpOutcome::Rejected => OpState::Rejected,
        OpOutcome::Duplicate | OpOutcome::Unknown => return None,
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
        let json = serde_json::to_string(&wire_op(&op(3, 4)).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"op_id":"op-3","kind":"evidence.record","entity_id":"3","payload":{"signed":"aaaa"}}"#
        );
        assert_eq!(record_seq(&op(3, 4)), Some(3));
    }

    #[test]
    fn batches_stop_at_the_byte_limit_but_never_empty() {
        let ops: Vec<OutboxOp> = (1..=10).map(|seq| op(seq, 100 * 1024)).collect();
        let batch = fit(ops.clone()).unwrap();
        assert_eq!(batch.len(), 5, "5 × ~100 KiB fit in 512 KiB");
        assert_eq!(batch[0].0.seq, 1, "in order");
        let huge = vec![op(1, 600 * 1024), op(2, 10)];
        assert_eq!(
            fit(huge).unwrap().len(),
            1,
            "an op above the limit still goes, alone"
        );
    }

    #[test]
    fn duplicates_take_the_first_answer() {
        let result = |status: &str, original: Option<&str>| {
            let mut answer =
                serde_json::json!({"op_id": "op-1", "status": status, "reason": "replay"});
            if let Some(original) = original {
                answer["original_status"] = original.into();
            }
            serde_json::from_value::<OpResult>(answer).unwrap()
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
        assert_eq!(state(result("duplicate", Some("queued"))), None);
        assert_eq!(state(result("duplicate", Some("duplicate"))), None);
    }
}

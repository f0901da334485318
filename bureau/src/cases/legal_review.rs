//! Legal review: a case accepted and marked for penalty is checked by a legal
//! reviewer before it is handed on (to a penalty decision, the police or a
//! court). Approved, it goes on; sent back, it returns to the officer with the
//! reasons, as a returned review does, and comes back as an amendment. Either
//! decision reaches the device by the change feed like a review.

use super::inspections::{self, announce, InspectionCase, LegalStatus, MAX_COMMENT_CHARS};
use super::text_field;
use crate::config::FireSettings;
use crate::error::{Error, Result};
use crate::storage::Tx;
use crate::{now_ms, params};
use fieldproof_core::wire::pull::ReviewBody;

/// A legal reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegalDecision {
    Approve,
    SendBack,
}

impl LegalDecision {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "approve" => Ok(LegalDecision::Approve),
            "send_back" => Ok(LegalDecision::SendBack),
            _ => Err(Error::InvalidRequest {
                reason: "decision must be approve or send_back".into(),
            }),
        }
    }

    pub fn status(self) -> LegalStatus {
        match self {
            LegalDecision::Approve => LegalStatus::Approved,
            LegalDecision::SendBack => LegalStatus::SentBack,
        }
    }
}

/// Records a legal review of inspection `id`: only an accepted case waiting for
/// it, and only once; sending back needs the reasons.
pub fn legal_review(
    tx: &mut Tx,
    id: &str,
    decision: LegalDecision,
    comment: Option<&str>,
    fires: &FireSettings,
) -> Result<InspectionCase> {
    let comment = match comment {
        Some(text) => {
            Some(text_field(text, "comment", MAX_COMMENT_CHARS)?).filter(|c| !c.is_empty())
        }
        None => None,
    };
    if decision == LegalDecision::SendBack && comment.is_none() {
        return Err(Error::CommentRequired);
    }
    let row = tx
        .query_opt(
            "SELECT jurisdiction, device_id FROM inspections
             WHERE id = $1 AND status = 'accepted' AND legal_status = 'pending'",
            params![id],
        )?
        .ok_or(Error::NotAwaitingLegalReview)?;
    let (jurisdiction, device_id) = (row.text(0)?, row.text(1)?);
    let reviewed_ms = now_ms();
    // Sent back, the case is returned to its officer, who amends it.
    let status = match decision {
        LegalDecision::Approve => "accepted",
        LegalDecision::SendBack => "returned",
    };
    let changed = tx.execute(
        "UPDATE inspections SET legal_status = $1, legal_comment = $2, legal_reviewed_ms = $3,
                status = $4
         WHERE id = $5 AND legal_status = 'pending'",
        params![
            decision.status().code(),
            comment.clone(),
            reviewed_ms,
            status,
            id
        ],
    )?;
    if changed != 1 {
        return Err(Error::NotAwaitingLegalReview);
    }
    // The device shows review comments: the legal reviewer's reasons go as one,
    // marked as such.
    let body = ReviewBody {
        inspection_id: id.to_owned(),
        decision: status.to_owned(),
        comment: Some(match (&comment, decision) {
            (Some(reasons), _) => format!("法制审核：{reasons}"),
            (None, _) => "法制审核通过".to_owned(),
        }),
        reviewed_ms,
    };
    announce(tx, &jurisdiction, &device_id, &body)?;
    inspections::get(tx, id, fires)
}

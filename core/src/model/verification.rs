//! What the device's own checks of its evidence found: the record chain and
//! every photo (`Store::verify_evidence`), and every receipt the bureau gave
//! (`Store::verify_receipts`).

use serde::Serialize;

/// Result of checking the whole device chain and every stored photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceReport {
    pub records: u64,
    pub photos: u64,
    pub failures: Vec<EvidenceFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceFailure {
    /// Stable code: the chain's (`gap`, `fork`, `bad_signature`, …) or
    /// `media_mismatch`, `media_missing`, `unknown_key`.
    pub code: String,
    pub detail: String,
}

impl EvidenceReport {
    pub fn is_intact(&self) -> bool {
        self.failures.is_empty()
    }
}

/// What a check of every stored receipt found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiptReport {
    pub receipts: u64,
    /// `bad_checkpoint_signature`, `not_included`, `record_missing`, `not_enrolled`.
    pub failures: Vec<EvidenceFailure>,
}

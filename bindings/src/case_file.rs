//! Case files for the platforms: a reviewer's tablet verifies one offline with
//! the very verifier `fieldproof verify` runs (`fieldproof_core::case_file`).

use crate::error::FieldproofError;
use fieldproof_core::case_file::report::{CaseItem, CaseSigner, ChainSpan, Finding};
use fieldproof_core::case_file::{verify_case_file as verify, BureauKeyGiven, VerifyReport};
use std::path::Path;

#[uniffi::remote(Record)]
pub struct Finding {
    pub file: String,
    pub code: String,
    pub detail: String,
}

#[uniffi::remote(Record)]
pub struct CaseItem {
    pub file: String,
    pub kind: String,
    pub device_id: String,
    pub seq: u64,
    pub device_time_ms: i64,
    pub signed_after_tree_size: Option<u64>,
    pub media: Option<String>,
    pub intact: bool,
}

#[uniffi::remote(Record)]
pub struct CaseSigner {
    pub device_id: String,
    pub officer_id: String,
    pub jurisdiction: String,
    pub role: String,
    pub certified_ms: i64,
    pub records: u64,
}

#[uniffi::remote(Record)]
pub struct ChainSpan {
    pub device_id: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub present: u64,
    pub omitted: u64,
    pub unbroken: bool,
}

#[uniffi::remote(Record)]
pub struct VerifyReport {
    pub ok: bool,
    pub inspection_id: Option<String>,
    pub bureau_key_id: Option<String>,
    pub checkpoint_tree_size: Option<u64>,
    pub checkpoint_time_ms: Option<i64>,
    pub files_checked: u64,
    pub items: Vec<CaseItem>,
    pub signers: Vec<CaseSigner>,
    pub chains: Vec<ChainSpan>,
    pub failures: Vec<Finding>,
    pub flags: Vec<Finding>,
    pub limits: Vec<String>,
}

/// Verifies the case file at `path` with the bureau key given out of band:
/// either `bureau_key` (the key file's bytes) or `bureau_key_id` (64 hex
/// digits). A file that is no case file is a report with failures, not an
/// error; only an unreadable file or an unusable key is an error.
#[uniffi::export]
pub fn verify_case_file(
    path: String,
    bureau_key: Option<Vec<u8>>,
    bureau_key_id: Option<String>,
) -> Result<VerifyReport, FieldproofError> {
    let key = BureauKeyGiven::from_either(bureau_key.as_deref(), bureau_key_id.as_deref())?;
    Ok(verify(Path::new(&path), &key).map_err(fieldproof_core::Error::from)?)
}

//! What a verification found, laid out by what a court weighs for electronic
//! data: the integrity of each item since it was signed, who signed it and when
//! (bracketed by bureau checkpoints), the completeness of the set, and the
//! custody chain — followed by what a pass does not prove.

use serde::Serialize;
use std::fmt::Write;

/// One failure (the case file does not prove what it claims) or one flag (it
/// does, but a reviewer must look at this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file concerned, or `""` for the case file as a whole.
    pub file: String,
    /// Stable code, listed in `docs/evidence-bundle.md`.
    pub code: String,
    /// Plain words; never personal data.
    pub detail: String,
}

/// One signed record of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseItem {
    pub file: String,
    pub kind: String,
    pub device_id: String,
    pub seq: u64,
    /// The device clock when it was signed (UTC ms): what the device claims.
    pub device_time_ms: i64,
    /// The largest bureau log the device had seen when it signed: the record
    /// is later than the checkpoint of this size.
    pub signed_after_tree_size: Option<u64>,
    /// The original file the record names, when the case file holds it.
    pub media: Option<String>,
    /// Signature, chain place, log inclusion and media hash all hold.
    pub intact: bool,
}

/// A device whose certificate signed records of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseSigner {
    pub device_id: String,
    pub officer_id: String,
    pub jurisdiction: String,
    pub role: String,
    pub certified_ms: i64,
    pub records: u64,
}

/// How much of one device's chain the case file accounts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainSpan {
    pub device_id: String,
    pub first_seq: u64,
    pub last_seq: u64,
    /// Records copied in whole.
    pub present: u64,
    /// Records of other cases in between, named by hash only.
    pub omitted: u64,
    /// Every seq from first to last is accounted for and each copied record
    /// links to the one before it.
    pub unbroken: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Every check held: no failure. Flags do not change it.
    pub ok: bool,
    pub inspection_id: Option<String>,
    pub bureau_key_id: Option<String>,
    pub checkpoint_tree_size: Option<u64>,
    /// Bureau time of the checkpoint every record is proven in (UTC ms).
    pub checkpoint_time_ms: Option<i64>,
    pub files_checked: u64,
    pub items: Vec<CaseItem>,
    pub signers: Vec<CaseSigner>,
    pub chains: Vec<ChainSpan>,
    pub failures: Vec<Finding>,
    pub flags: Vec<Finding>,
    /// What a pass does not prove.
    pub limits: Vec<String>,
}

/// What a pass does not prove, said in every report.
pub const LIMITS: &[&str] = &[
    "A pass shows that each file is bit for bit what the enrolled device signed and the bureau logged; it does not show that a photo or note tells the truth about the scene.",
    "Device times are the device clock. What the bureau vouches for is the bracket: after the checkpoint the device had seen, and before the checkpoint the records are proven in.",
    "Completeness is as the bureau's signed manifest states it at its checkpoint: records sent later, or never sent, are not in the case file.",
    "Records named only by hash (other cases) are accounted for in the chain, but their content is not in the case file and is not checked.",
];

impl VerifyReport {
    pub fn fail(&mut self, file: &str, code: &str, detail: impl Into<String>) {
        self.failures.push(Finding {
            file: file.into(),
            code: code.into(),
            detail: detail.into(),
        });
    }

    pub fn flag(&mut self, file: &str, code: &str, detail: impl Into<String>) {
        self.flags.push(Finding {
            file: file.into(),
            code: code.into(),
            detail: detail.into(),
        });
    }

    /// The report as a person reads it on a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let verdict = if self.ok { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "Case file {}: {verdict}",
            self.inspection_id.as_deref().unwrap_or("(unreadable)")
        );
        if let (Some(size), Some(time)) = (self.checkpoint_tree_size, self.checkpoint_time_ms) {
            let _ = writeln!(
                out,
                "Bureau key {} · checkpoint of {size} records at {}",
                self.bureau_key_id.as_deref().unwrap_or("?"),
                crate::time::utc_text(time)
            );
        }
        let intact = self.items.iter().filter(|i| i.intact).count();
        let _ = writeln!(
            out,
            "\n1. Integrity since signing: {intact} of {} records intact, {} files checked",
            self.items.len(),
            self.files_checked
        );
        for item in &self.items {
            let _ = writeln!(
                out,
                "   {} {:<13} device {} seq {} · device time {}{}",
                if item.intact { "ok  " } else { "FAIL" },
                item.kind,
                item.device_id,
                item.seq,
                crate::time::utc_text(item.device_time_ms),
                item.media
                    .as_deref()
                    .map(|m| format!(" · {m}"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(out, "\n2. Who signed, and when");
        for signer in &self.signers {
            let _ = writeln!(
                out,
                "   device {} · officer {} · {} {} · certified {} · {} records",
                signer.device_id,
                signer.officer_id,
                signer.role,
                signer.jurisdiction,
                crate::time::utc_text(signer.certified_ms),
                signer.records
            );
        }
        if let Some(time) = self.checkpoint_time_ms {
            let _ = writeln!(
                out,
                "   every record was in the bureau's log by {}",
                crate::time::utc_text(time)
            );
        }
        let _ = writeln!(out, "\n3. Completeness of the set");
        for chain in &self.chains {
            let _ = writeln!(
                out,
                "   device {}: seq {}–{} {} ({} here, {} of other cases named by hash)",
                chain.device_id,
                chain.first_seq,
                chain.last_seq,
                if chain.unbroken {
                    "without a gap"
                } else {
                    "BROKEN (see failures)"
                },
                chain.present,
                chain.omitted
            );
        }
        let _ = writeln!(
            out,
            "\n4. Custody: each record is proven in the bureau's signed log; the manifest is signed by the bureau"
        );
        findings(&mut out, "Failures", &self.failures);
        findings(&mut out, "For the reviewer", &self.flags);
        let _ = writeln!(out, "\nWhat a pass does not prove:");
        for limit in &self.limits {
            let _ = writeln!(out, "   - {limit}");
        }
        out
    }
}

fn findings(out: &mut String, title: &str, list: &[Finding]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title} ({}):", list.len());
    for f in list {
        let _ = writeln!(
            out,
            "   {} {} — {}",
            f.code,
            display_file(&f.file),
            f.detail
        );
    }
}

fn display_file(file: &str) -> &str {
    if file.is_empty() {
        "(case file)"
    } else {
        file
    }
}

//! Inspections received from devices, with their evidence status, and their review.

use super::client::{list_pages, or_dash, segment, Client};
use super::PageArgs;
use super::Result;
use crate::output::Output;
use crate::progress::Progress;
use clap::Subcommand;
use fieldproof_core::wire::admin::{
    EvidenceRecord, InspectionCase, InspectionSummary, OfficerAssignment, ReviewRequest,
};
use fieldproof_core::wire::fires::Visit;

#[derive(Subcommand)]
pub enum InspectionCommand {
    /// List received inspections, newest first, each with its evidence status.
    List {
        /// Inspections within this jurisdiction (codes starting with it).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// submitted, accepted or returned.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One inspection in full: the inspection as sent, its evidence records.
    Get { id: String },
    /// Assign another officer to an inspection (a joint inspection): their
    /// devices may then attach evidence to it and amend it.
    Assign {
        id: String,
        #[arg(long)]
        officer: String,
    },
    /// Write the case file of an inspection's amendment line: a zip that anyone
    /// can check offline with `fieldproof verify` and the bureau's public key.
    Bundle {
        id: String,
        /// Where to write the zip (replaced only once complete).
        #[arg(short, long)]
        output: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Accept a submitted inspection.
    Accept {
        id: String,
        #[arg(long)]
        comment: Option<String>,
        /// Mark the case for penalty: a legal reviewer must approve it.
        #[arg(long)]
        penalty: bool,
    },
    /// Return a submitted inspection to its officer, saying what to change.
    Return {
        id: String,
        #[arg(long)]
        comment: String,
    },
}

pub fn inspections(command: InspectionCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        InspectionCommand::List {
            jurisdiction,
            status,
            page,
        } => {
            let filter = [("jurisdiction", jurisdiction), ("status", status)];
            list_pages(
                client,
                out,
                "/v1/admin/inspections",
                &filter,
                &page,
                inspection_line,
            )?;
        }
        InspectionCommand::Get { id } => {
            let case: InspectionCase =
                client.get(&format!("/v1/admin/inspections/{}", segment(&id)?), &[])?;
            out.print(&case, || case_text(&case));
        }
        InspectionCommand::Assign { id, officer } => {
            let path = format!("/v1/admin/inspections/{}/officers", segment(&id)?);
            let body = OfficerAssignment {
                officer_id: officer,
            };
            let case: InspectionCase = client.post(&path, &body)?;
            out.print(&case, || case_text(&case));
        }
        InspectionCommand::Bundle { id, output } => {
            let path = format!("/v1/admin/inspections/{}/bundle", segment(&id)?);
            let progress = Progress::new(out, None, "received");
            let bytes = client.download(&path, &output, &progress)?;
            let file = output.display().to_string();
            progress.finish(format!("case file of {id}"));
            out.print(
                &serde_json::json!({ "inspection_id": id, "file": file, "bytes": bytes }),
                || format!("case file of {id}: {file} ({bytes} bytes); check it with `fieldproof verify {file} --bureau-key FILE`"),
            );
        }
    }
    Ok(())
}

pub fn review(command: ReviewCommand, client: &Client, out: &Output) -> Result<()> {
    let (id, body) = match command {
        ReviewCommand::Accept {
            id,
            comment,
            penalty,
        } => (
            id,
            ReviewRequest {
                decision: "accept".into(),
                comment,
                penalty,
            },
        ),
        ReviewCommand::Return { id, comment } => (
            id,
            ReviewRequest {
                decision: "return".into(),
                comment: Some(comment),
                penalty: false,
            },
        ),
    };
    let path = format!("/v1/admin/inspections/{}/review", segment(&id)?);
    let case: InspectionCase = client.post(&path, &body)?;
    out.print(&case, || case_text(&case));
    Ok(())
}

fn inspection_line(inspection: &InspectionSummary) -> String {
    format!(
        "{}  {}  {}  {}  evidence {} ({} records)  received {}",
        inspection.id,
        inspection.status,
        inspection.jurisdiction,
        inspection.matter.as_deref().unwrap_or(""),
        inspection.evidence.status.code(),
        inspection.evidence.counts.records,
        inspection.received_ms
    )
}

/// An inspection case as a few lines of text.
fn case_text(case: &InspectionCase) -> String {
    let summary = &case.summary;
    let e = &summary.evidence.counts;
    let mut text = inspection_line(summary);
    text += &format!(
        "\n  site {},{} (WGS-84) {}",
        or_dash(summary.lat),
        or_dash(summary.lon),
        summary.address.as_deref().unwrap_or("")
    );
    text += &format!(
        "\n  evidence {}: {} records, {} accepted, {} flagged; media {} pending, {} verified, {} mismatch",
        summary.evidence.status.code(),
        e.records,
        e.accepted,
        e.flagged,
        e.media_pending,
        e.media_verified,
        e.media_mismatch
    );
    if !case.assigned_officers.is_empty() {
        text += &format!("\n  also assigned: {}", case.assigned_officers.join(", "));
    }
    if let Some(visit) = &case.visit {
        text += &visit_line(visit);
    }
    for record in &case.evidence_records {
        text += &record_line(record);
    }
    if !case.refused_records.is_empty() {
        text += "\n  naming it but not attached (not counted):";
        for record in &case.refused_records {
            text += &record_line(record);
        }
    }
    if let Some(ms) = summary.reviewed_ms {
        text += &format!("\n  reviewed at {ms}: {}", summary.status);
        if let Some(comment) = &summary.review_comment {
            text += &format!(" — {comment}");
        }
    }
    if let Some(amendment) = &case.amended_by {
        text += &format!("\n  amended by {amendment}");
    }
    text
}

/// The proof of visit of a fire task's inspection: a missing proof stands out.
fn visit_line(visit: &Visit) -> String {
    let verdict = if visit.visited {
        "proven"
    } else {
        "NOT PROVEN"
    };
    let closest = visit.closest.as_ref().map_or(String::new(), |fix| {
        format!(
            ", closest {:.0} m at {} ({})",
            fix.distance_m,
            fieldproof_core::time::utc_text(fix.at_ms),
            fix.source
        )
    });
    let excluded: Vec<String> = visit
        .excluded
        .iter()
        .map(|e| format!("{} {}", e.count, e.reason))
        .collect();
    let mut line = format!(
        "\n  visit {verdict} within {:.0} m: {} fixes counted{closest}",
        visit.radius_m, visit.counted
    );
    if !excluded.is_empty() {
        line += &format!("; not counted: {}", excluded.join(", "));
    }
    if visit.external_gnss_fixes > 0 {
        line += &format!(
            "; {} from an external GNSS receiver",
            visit.external_gnss_fixes
        );
    }
    line
}

fn record_line(record: &EvidenceRecord) -> String {
    format!(
        "\n    seq {} {} {}{} media {} from device {}{}",
        or_dash(record.seq),
        record.kind.as_deref().unwrap_or(""),
        record.status,
        record
            .failure
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default(),
        record.media_status,
        record.device_id,
        record
            .refusal
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldproof_core::wire::fires::{ExcludedFixes, VisitFix};

    fn visit(visited: bool) -> Visit {
        Visit {
            visited,
            radius_m: 300.0,
            window_from_ms: 0,
            window_to_ms: 86_400_000,
            closest: visited.then(|| VisitFix {
                distance_m: 42.4,
                at_ms: 3_600_000,
                accuracy_m: Some(5.0),
                device_id: "d".into(),
                source: "track".into(),
                seq: 3,
            }),
            counted: u64::from(visited) * 12,
            excluded: vec![ExcludedFixes {
                reason: "mock_location".into(),
                count: 7,
            }],
            external_gnss_fixes: 0,
        }
    }

    #[test]
    fn a_visit_without_proof_stands_out() {
        assert_eq!(
            visit_line(&visit(false)),
            "\n  visit NOT PROVEN within 300 m: 0 fixes counted; not counted: 7 mock_location"
        );
        let proven = visit_line(&visit(true));
        assert!(
            proven.starts_with("\n  visit proven within 300 m: 12 fixes counted, closest 42 m at "),
            "{proven}"
        );
    }
}

//! Inspections received from devices, with their evidence status, and their review.

use super::client::{list_pages, segment, Client, Text};
use super::PageArgs;
use super::Result;
use crate::output::Output;
use clap::Subcommand;
use serde_json::{json, Value};

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
}

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Accept a submitted inspection.
    Accept {
        id: String,
        #[arg(long)]
        comment: Option<String>,
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
            let case = client.get(&format!("/v1/admin/inspections/{}", segment(&id)?), &[])?;
            out.print(&case, || case_text(&case));
        }
    }
    Ok(())
}

pub fn review(command: ReviewCommand, client: &Client, out: &Output) -> Result<()> {
    let (id, body) = match command {
        ReviewCommand::Accept { id, comment } => {
            (id, json!({ "decision": "accept", "comment": comment }))
        }
        ReviewCommand::Return { id, comment } => {
            (id, json!({ "decision": "return", "comment": comment }))
        }
    };
    let path = format!("/v1/admin/inspections/{}/review", segment(&id)?);
    let case = client.post(&path, &body)?;
    out.print(&case, || case_text(&case));
    Ok(())
}

fn inspection_line(inspection: &Value) -> String {
    format!(
        "{}  {}  {}  {}  evidence {} ({} records)  received {}",
        inspection["id"].s(),
        inspection["status"].s(),
        inspection["jurisdiction"].s(),
        inspection["matter"].s(),
        inspection["evidence"]["status"].s(),
        inspection["evidence"]["records"],
        inspection["received_ms"]
    )
}

/// An inspection case as a few lines of text.
fn case_text(case: &Value) -> String {
    let e = &case["evidence"];
    let mut text = inspection_line(case);
    text += &format!(
        "\n  site {},{} (WGS-84) {}",
        case["lat"],
        case["lon"],
        case["address"].s()
    );
    text += &format!(
        "\n  evidence {}: {} records, {} accepted, {} flagged; media {} pending, {} verified, {} mismatch",
        e["status"].s(),
        e["records"],
        e["accepted"],
        e["flagged"],
        e["media_pending"],
        e["media_verified"],
        e["media_mismatch"]
    );
    for record in case["evidence_records"].as_array().into_iter().flatten() {
        text += &format!(
            "\n    seq {} {} {}{} media {}",
            record["seq"],
            record["kind"].s(),
            record["status"].s(),
            record["failure"]
                .as_str()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default(),
            record["media_status"].s()
        );
    }
    if let Some(ms) = case["reviewed_ms"].as_i64() {
        text += &format!("\n  reviewed at {ms}: {}", case["status"].s());
        if let Some(comment) = case["review_comment"].as_str() {
            text += &format!(" — {comment}");
        }
    }
    if let Some(amendment) = case["amended_by"].as_str() {
        text += &format!("\n  amended by {amendment}");
    }
    text
}

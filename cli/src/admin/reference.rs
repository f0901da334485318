//! Reference data sent to devices: jurisdiction boundaries and checklist templates.

use super::client::Client;
use super::Result;
use crate::output::{Failure, Output};
use clap::Subcommand;
use fieldproof_core::wire::admin::{
    BoundaryLoad, ChecklistMatter, PublishedChecklist, StoredBoundary,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BoundaryCommand {
    /// Load GeoJSON FeatureCollections of Polygon/MultiPolygon features coded by
    /// `adcode` or `code` (a file, or a folder of .json files); prints one line per
    /// file: `file, datum, loaded, unchanged, jurisdictions`.
    Load {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Datum of the files (DataV exports are gcj02). Required: never guessed.
        #[arg(long)]
        datum: String,
    },
    /// List loaded boundaries: `code, name, loaded_ms`.
    List,
}

#[derive(Subcommand)]
pub enum ChecklistCommand {
    /// Publish a checklist template (a JSON file as `fieldproof checklists show`
    /// prints it); prints `id, version, title, items, matter, jurisdiction,
    /// loaded_ms, unchanged`.
    Load {
        file: PathBuf,
        /// The enforcement matter that uses this checklist (e.g. straw_burning).
        #[arg(long, requires = "matter_name")]
        matter: Option<String>,
        /// The matter's display name.
        #[arg(long, requires = "matter")]
        matter_name: Option<String>,
        /// Publish only to devices within this jurisdiction (default: everyone).
        #[arg(long)]
        jurisdiction: Option<String>,
    },
    /// List published checklist versions.
    List,
}

pub fn boundaries(command: BoundaryCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        BoundaryCommand::Load { files, datum } => {
            for file in json_files(&files)? {
                let bytes =
                    std::fs::read(&file).map_err(|e| Failure::unreadable("io_error", &file, &e))?;
                let load: BoundaryLoad = client.send(
                    "POST",
                    "/v1/admin/boundaries",
                    &[("datum", Some(datum.clone()))],
                    Some(bytes),
                )?;
                let line = FileLoad {
                    file: file.display().to_string(),
                    load,
                };
                out.print(&line, || {
                    let load = &line.load;
                    let codes: Vec<&str> =
                        load.jurisdictions.iter().map(|j| j.code.as_str()).collect();
                    format!(
                        "{}: {} loaded, {} unchanged, converted from {} to WGS-84 ({})",
                        line.file,
                        load.loaded,
                        load.unchanged,
                        load.datum.code(),
                        codes.join(" ")
                    )
                });
            }
        }
        BoundaryCommand::List => {
            let boundaries: Vec<StoredBoundary> = client.get("/v1/admin/boundaries", &[])?;
            for boundary in &boundaries {
                out.print(boundary, || format!("{}  {}", boundary.code, boundary.name));
            }
        }
    }
    Ok(())
}

pub fn checklists(command: ChecklistCommand, client: &Client, out: &Output) -> Result<()> {
    match command {
        ChecklistCommand::Load {
            file,
            matter,
            matter_name,
            jurisdiction,
        } => {
            let bytes =
                std::fs::read(&file).map_err(|e| Failure::unreadable("io_error", &file, &e))?;
            let template: Value = serde_json::from_slice(&bytes).map_err(|e| {
                Failure::new(
                    "malformed_json",
                    format!(
                        "{} is not JSON: line {} column {}",
                        file.display(),
                        e.line(),
                        e.column()
                    ),
                    3,
                )
            })?;
            // A `ChecklistPublication`, but with the template as the file holds
            // it: the bureau judges the template, with the same answer
            // (`invalid_template`, and why) whichever client sends it.
            let matter = matter
                .zip(matter_name)
                .map(|(code, name)| ChecklistMatter { code, name });
            let body =
                json!({ "template": template, "matter": matter, "jurisdiction": jurisdiction });
            let published: PublishedChecklist = client.post("/v1/admin/checklists", &body)?;
            out.print(&published, || {
                let what = if published.unchanged {
                    "already published, unchanged"
                } else {
                    "published"
                };
                format!("{}  {what}", checklist_line(&published))
            });
        }
        ChecklistCommand::List => {
            let checklists: Vec<PublishedChecklist> = client.get("/v1/admin/checklists", &[])?;
            for checklist in &checklists {
                out.print(checklist, || checklist_line(checklist));
            }
        }
    }
    Ok(())
}

/// One line of `boundaries load`: the file, then what the bureau did with it.
#[derive(Serialize)]
struct FileLoad {
    file: String,
    #[serde(flatten)]
    load: BoundaryLoad,
}

/// FILE arguments: files as given, folders as their .json files in name order.
fn json_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Failure::unreadable("io_error", path, &e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "geojson"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn checklist_line(checklist: &PublishedChecklist) -> String {
    let mut line = format!(
        "{} v{}  {} ({} items)",
        checklist.id, checklist.version, checklist.title, checklist.items
    );
    if let Some(matter) = &checklist.matter {
        line += &format!("  matter {}", matter.code);
    }
    if let Some(code) = &checklist.jurisdiction {
        line += &format!("  for {code}");
    }
    line
}

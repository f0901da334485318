//! `GET /v1/sync/pull?cursor=&limit=&max_bytes=&jurisdiction=`: the bureau's
//! change feed after a cursor, a page at a time, with the latest checkpoint.

use crate::evidence::receipt::{Receipt, SignedCheckpoint};
use crate::geo::datum::Datum;
use crate::model::checklist::ChecklistTemplate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

pub const PULL_PATH: &str = "/v1/sync/pull";

/// What a feed entry carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A `model::task::Task` to verify (e.g. a satellite fire point).
    Task,
    /// A reviewer's decision on a submitted inspection ([`ReviewBody`]).
    Review,
    /// A jurisdiction boundary ([`BoundaryBody`]).
    Boundaries,
    /// A checklist template, with the matter it serves ([`ChecklistBody`]).
    Checklist,
    /// The receipt of one of the device's evidence records ([`ReceiptBody`]).
    Receipt,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 5] = [
        ChangeKind::Task,
        ChangeKind::Review,
        ChangeKind::Boundaries,
        ChangeKind::Checklist,
        ChangeKind::Receipt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Task => "task",
            ChangeKind::Review => "review",
            ChangeKind::Boundaries => "boundaries",
            ChangeKind::Checklist => "checklist",
            ChangeKind::Receipt => "receipt",
        }
    }

    /// The kind a string names; `None` for one this version does not know.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullPage {
    pub changes: Vec<Change>,
    /// Opaque; passed back as `cursor` to continue.
    pub next_cursor: String,
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<SignedCheckpoint>,
}

/// One feed entry. `kind` stays text: a device skips a kind it does not know
/// rather than failing the page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub seq: i64,
    pub kind: String,
    #[serde(default)]
    pub body: Value,
}

impl Change {
    pub fn kind(&self) -> Option<ChangeKind> {
        ChangeKind::parse(&self.kind)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewBody {
    pub inspection_id: String,
    /// `accepted` or `returned`.
    pub decision: String,
    #[serde(default)]
    pub comment: Option<String>,
    pub reviewed_ms: i64,
}

/// A boundary as the feed carries it (other fields, e.g. `code` and `name`, ride
/// along inside `geojson` too).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundaryBody {
    pub datum: Datum,
    /// A GeoJSON Feature the device's loader reads as is.
    pub geojson: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistBody {
    pub template: ChecklistTemplate,
    #[serde(default)]
    pub matter: Option<ChecklistMatter>,
}

/// The enforcement matter (e.g. `straw_burning`) a published template serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistMatter {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceiptBody {
    pub seq: u64,
    pub receipt: Receipt,
}

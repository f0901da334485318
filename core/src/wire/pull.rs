//! `GET /v1/sync/pull?cursor=&limit=&max_bytes=&jurisdiction=`: the bureau's
//! change feed after a cursor, a page at a time, with the latest checkpoint.

use crate::evidence::receipt::{Receipt, SignedCheckpoint};
use crate::geo::datum::Datum;
use crate::model::checklist::ChecklistTemplate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

pub const PULL_PATH: &str = "/v1/sync/pull";

/// What a device asks for, as the query of `GET` [`PULL_PATH`]. Unknown
/// parameters are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// The previous page's `next_cursor`; none (or empty) for the beginning.
    pub cursor: Option<String>,
    /// Entries per page; the bureau caps it (`limits.max_pull_page`).
    pub limit: Option<usize>,
    /// Stop adding entries once their bodies pass this many bytes (the bureau
    /// keeps it between its floor and `limits.max_pull_bytes`). A page always
    /// holds at least one entry.
    pub max_bytes: Option<usize>,
    /// Narrows the pull to a jurisdiction within the device's own.
    pub jurisdiction: Option<String>,
}

impl PullRequest {
    /// The path and query to `GET`.
    pub fn path(&self) -> String {
        let numbers = [("limit", self.limit), ("max_bytes", self.max_bytes)];
        let texts = [
            ("cursor", self.cursor.as_deref()),
            ("jurisdiction", self.jurisdiction.as_deref()),
        ];
        let pairs: Vec<String> = texts
            .iter()
            .filter_map(|(k, v)| Some(format!("{k}={}", query_value(v.as_ref()?))))
            .chain(
                numbers
                    .iter()
                    .filter_map(|(k, v)| Some(format!("{k}={}", v.as_ref()?))),
            )
            .collect();
        match pairs.is_empty() {
            true => PULL_PATH.to_owned(),
            false => format!("{PULL_PATH}?{}", pairs.join("&")),
        }
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_request_is_its_query_with_values_encoded() {
        assert_eq!(PullRequest::default().path(), PULL_PATH);
        let request = PullRequest {
            cursor: Some("a b&c=d/é".into()),
            limit: Some(50),
            max_bytes: None,
            jurisdiction: Some("430121".into()),
        };
        assert_eq!(
            request.path(),
            "/v1/sync/pull?cursor=a%20b%26c%3Dd%2F%C3%A9&jurisdiction=430121&limit=50"
        );
        assert_eq!(query_value("c1a-._~"), "c1a-._~");
    }
}

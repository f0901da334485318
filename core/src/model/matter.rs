//! Enforcement matters: what an inspection is about (e.g. open burning of
//! straw), each with the checklist its inspections use.

use serde::Serialize;

/// An enforcement matter (e.g. open burning of straw) and the checklist used for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matter {
    pub code: String,
    pub name: String,
    pub checklist_id: String,
}

impl Matter {
    /// A matter code is 1 to 64 lowercase ASCII letters, digits and underscores: it
    /// names the matter in URLs, files and both databases.
    pub fn is_valid_code(code: &str) -> bool {
        !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }
}

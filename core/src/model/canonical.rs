//! The canonical content of an inspection: what a party's acknowledgement on
//! site binds, so that any later change shows.
//!
//! It is the inspection JSON as a device sends it, reduced to the fields that
//! say what was found ([`CONTENT_FIELDS`]: not its status, its timestamps of
//! editing and submission, or the derived jurisdiction placement, which change
//! without the record changing), written as compact JSON with object keys
//! sorted by code point at every level, strings with only `"`, `\` and control
//! characters escaped (`\n`, `\r`, `\t`, `\b`, `\f`, else `\u00XX`), and numbers
//! as the shortest text that reads back to the same value. Its SHA-256 is the
//! content hash. A verifier recomputes it from a revision file of a case file
//! (`docs/evidence-bundle.md`). Kept by hand: a dozen lines, where a JSON
//! canonicalisation crate would bring rules (RFC 8785 number forms) that no
//! number of an inspection needs.

use serde_json::Value;

/// The fields of an inspection that its canonical content keeps.
pub const CONTENT_FIELDS: [&str; 16] = [
    "amends_id",
    "answers",
    "checklist_id",
    "checklist_version",
    "county_code",
    "ended_at_ms",
    "findings",
    "id",
    "matter",
    "officer_id",
    "responsible_party",
    "revision",
    "site",
    "started_at_ms",
    "task_id",
    "township_code",
];

/// The canonical content of an inspection's JSON; `None` when it is not an object.
pub fn canonical_content(inspection: &Value) -> Option<Vec<u8>> {
    let object = inspection.as_object()?;
    let kept: serde_json::Map<String, Value> = CONTENT_FIELDS
        .iter()
        .map(|&k| (k.to_owned(), object.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    let mut out = String::new();
    write(&Value::Object(kept), &mut out);
    Some(out.into_bytes())
}

/// SHA-256 of [`canonical_content`].
pub fn content_sha256(inspection: &Value) -> Option<[u8; 32]> {
    canonical_content(inspection).map(|bytes| crate::evidence::sha256(&bytes))
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_everywhere_and_only_content_counts() {
        let a = json!({"id": "x", "site": {"lon": 113.08, "lat": 28.25}, "findings": "焚烧\n秸秆",
                       "status": "draft", "updated_at_ms": 1});
        let b = json!({"findings": "焚烧\n秸秆", "updated_at_ms": 2, "status": "submitted",
                       "site": {"lat": 28.25, "lon": 113.08}, "id": "x"});
        assert_eq!(canonical_content(&a), canonical_content(&b));
        let text = String::from_utf8(canonical_content(&a).unwrap()).unwrap();
        assert!(
            text.starts_with(r#"{"amends_id":null,"answers":null,"#),
            "{text}"
        );
        assert!(text.contains(r#""findings":"焚烧\n秸秆""#), "{text}");
        assert!(
            text.contains(r#""site":{"lat":28.25,"lon":113.08}"#),
            "{text}"
        );
        let changed =
            json!({"id": "x", "site": {"lat": 28.25, "lon": 113.08}, "findings": "未发现"});
        assert_ne!(content_sha256(&a), content_sha256(&changed));
        assert_eq!(canonical_content(&json!([1])), None);
    }
}

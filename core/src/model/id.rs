//! Record ids: UUIDv7 made on the device, so they sort by creation time and never
//! collide between offline devices.

use crate::error::{Error, Result};
use uuid::Uuid;

/// A new id in canonical form (lowercase, hyphenated).
pub fn new_id() -> String {
    Uuid::now_v7().hyphenated().to_string()
}

/// Checks that `id` is a canonical UUID and returns it in canonical form, so that
/// lookups never miss because of letter case or braces.
pub fn parse_id(id: &str, what: &'static str) -> Result<String> {
    Uuid::try_parse(id)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| Error::InvalidId { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_v7_and_increase() {
        let a = new_id();
        let b = new_id();
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 7);
        assert!(a < b, "UUIDv7 ids made in order must sort in order");
    }

    #[test]
    fn parse_canonicalises_and_rejects_garbage() {
        let id = new_id();
        assert_eq!(parse_id(&id.to_uppercase(), "inspection id").unwrap(), id);
        let err = parse_id("not-an-id", "inspection id").unwrap_err();
        assert_eq!(err.code(), "invalid_id");
        assert!(parse_id("../../etc/passwd", "inspection id").is_err());
    }
}

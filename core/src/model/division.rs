//! Chinese administrative division codes (GB/T 2260 and its township and
//! village extension): 2 digits for a province, 4 for a city, 6 for a county,
//! 9 for a township, 12 for a village. Each level's code extends its parent's,
//! so a division covers exactly the codes that start with its own. The device
//! checks what an officer enters with it, the bureau every jurisdiction it is
//! given; the bureau's SQL filters say the same prefix rule in SQL.

use std::fmt;

/// A division code of any level: 2 to 12 ASCII digits, not starting with `00`
/// (no province has that code).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode(String);

impl DivisionCode {
    pub fn parse(code: &str) -> Option<Self> {
        let valid = (2..=12).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_digit())
            && !code.starts_with("00");
        valid.then(|| Self(code.to_owned()))
    }

    /// A code of one of the lengths `levels` (e.g. `[6]` for a county).
    pub fn parse_level(code: &str, levels: &[usize]) -> Option<Self> {
        Self::parse(code).filter(|c| levels.contains(&c.0.len()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the place coded `code` lies in this division (or is it).
    pub fn covers(&self, code: &str) -> bool {
        covers(&self.0, code)
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the place coded `code` lies in the division `jurisdiction` (or is
/// it), for codes held as text that were checked when they were stored.
pub fn covers(jurisdiction: &str, code: &str) -> bool {
    !jurisdiction.is_empty() && code.starts_with(jurisdiction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_every_level_parse_and_others_do_not() {
        for code in ["43", "4301", "430121", "430121101", "430121101001"] {
            assert_eq!(DivisionCode::parse(code).unwrap().as_str(), code);
        }
        for bad in [
            "",
            "4",
            "4301211010011",
            "43012a",
            "00123",
            " 430121",
            "４３",
        ] {
            assert_eq!(DivisionCode::parse(bad), None, "{bad:?}");
        }
        assert!(DivisionCode::parse_level("430121", &[6]).is_some());
        assert!(DivisionCode::parse_level("4301", &[6, 9, 12]).is_none());
    }

    #[test]
    fn a_division_covers_itself_and_what_lies_in_it() {
        let county = DivisionCode::parse("430121").unwrap();
        assert!(county.covers("430121"));
        assert!(county.covers("430121101"));
        assert!(!county.covers("430122101"));
        assert!(!county.covers("4301"), "a county does not cover its city");
        assert!(
            !covers("", "430121"),
            "an empty jurisdiction covers nothing"
        );
    }
}

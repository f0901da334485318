//! Deterministic CBOR (RFC 8949 §4.2.1 "core deterministic encoding").
//!
//! Evidence records are hashed and signed as bytes, and verifiers in other
//! languages (the bureau, a Python script in court) must agree on those bytes.
//! So every value here has exactly one encoding: integers and lengths in their
//! shortest form, definite lengths only, map keys sorted by their encoded bytes,
//! and no floats at all. The decoder accepts only that encoding: two different
//! byte strings can never carry the same value, which would otherwise defeat
//! replay detection by hash.
//!
//! Supported: unsigned and negative integers, byte and text strings, arrays,
//! maps, tags, `false`/`true`/`null`. Everything else (floats, `undefined`,
//! other simple values, indefinite lengths, trailing bytes) is rejected with
//! [`crate::Error::InvalidRecord`].
//!
//! Why our own: a review measured the well-kept crates. ciborium and minicbor
//! have no RFC 8949 §4.2 deterministic mode and accept non-shortest integers
//! and indefinite lengths, so two byte strings would carry one record; dcbor
//! NFC-normalises text, which would change the bytes of a signed officer note.
//!
//! Hostile input costs bounded work: nesting is limited to [`MAX_DEPTH`], every
//! declared length is checked against the bytes actually left before anything
//! is allocated, and each item consumes at least one input byte.

use super::invalid_record;
use crate::error::Result;
use std::collections::BTreeMap;

/// Deepest nesting of arrays, maps and tags the decoder accepts. Records and
/// their COSE envelope nest four levels; anything far deeper is hostile.
pub const MAX_DEPTH: usize = 16;

/// A CBOR data item of the supported subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Unsigned(u64),
    /// The negative integer `-1 - n`, stored as `n` (CBOR major type 1), so the
    /// whole range down to -2^64 is representable.
    Negative(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Value>),
    Map(Map),
    Tag(u64, Box<Value>),
    Bool(bool),
    Null,
}

/// A CBOR map, kept in deterministic key order at all times.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Map {
    /// Keyed by each key's deterministic encoding: bytewise order of those
    /// encodings is exactly the order RFC 8949 §4.2.1 prescribes.
    entries: BTreeMap<Vec<u8>, (Value, Value)>,
}

impl Map {
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces; returns the replaced value.
    pub fn insert(&mut self, key: impl Into<Value>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        self.entries
            .insert(encode(&key), (key, value.into()))
            .map(|(_, old)| old)
    }

    pub fn get(&self, key: impl Into<Value>) -> Option<&Value> {
        self.entries.get(&encode(&key.into())).map(|(_, v)| v)
    }

    /// Removes and returns a value; decoders take known keys out one by one and
    /// then reject whatever is left as unknown.
    pub fn remove(&mut self, key: impl Into<Value>) -> Option<Value> {
        self.entries.remove(&encode(&key.into())).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in deterministic (encoded-key) order.
    pub fn iter(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.entries.values().map(|(k, v)| (k, v))
    }
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Unsigned(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Unsigned(n) => i64::try_from(*n).ok(),
            Value::Negative(n) => i64::try_from(*n).ok().map(|n| -1 - n),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn into_array(self) -> Option<Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn into_map(self) -> Option<Map> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Unsigned(n)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        if n >= 0 {
            Value::Unsigned(n.unsigned_abs())
        } else {
            // -1 - n for n < 0 is in 0..=i64::MAX, so the magnitude fits.
            Value::Negative((-1 - n).unsigned_abs())
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<&[u8]> for Value {
    fn from(bytes: &[u8]) -> Self {
        Value::Bytes(bytes.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Self {
        Value::Bytes(bytes)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::Map(map)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

/// The deterministic encoding of `value`.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Unsigned(n) => write_head(0, *n, out),
        Value::Negative(n) => write_head(1, *n, out),
        Value::Bytes(bytes) => {
            write_head(2, bytes.len() as u64, out);
            out.extend_from_slice(bytes);
        }
        Value::Text(text) => {
            write_head(3, text.len() as u64, out);
            out.extend_from_slice(text.as_bytes());
        }
        Value::Array(items) => {
            write_head(4, items.len() as u64, out);
            items.iter().for_each(|item| write_value(item, out));
        }
        Value::Map(map) => {
            write_head(5, map.len() as u64, out);
            for (key_bytes, (_, v)) in &map.entries {
                out.extend_from_slice(key_bytes);
                write_value(v, out);
            }
        }
        Value::Tag(tag, inner) => {
            write_head(6, *tag, out);
            write_value(inner, out);
        }
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
    }
}

/// Initial byte plus argument in the shortest form (RFC 8949 §4.2.1).
fn write_head(major: u8, n: u64, out: &mut Vec<u8>) {
    let major = major << 5;
    if n < 24 {
        out.push(major | n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        out.extend_from_slice(&[major | 24, n]);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(major | 25);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(major | 26);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Decodes exactly one deterministically encoded item filling all of `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Value> {
    let mut decoder = Decoder {
        input: bytes,
        pos: 0,
    };
    let value = decoder.value(0)?;
    if decoder.pos != bytes.len() {
        return Err(invalid_record("trailing bytes after the CBOR item"));
    }
    Ok(value)
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn value(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(invalid_record("CBOR nested too deeply"));
        }
        let initial = self.take(1)?[0];
        let (major, info) = (initial >> 5, initial & 0x1f);
        if major == 7 {
            return simple_value(initial);
        }
        let arg = self.argument(info)?;
        Ok(match major {
            0 => Value::Unsigned(arg),
            1 => Value::Negative(arg),
            2 => Value::Bytes(self.take(arg)?.to_vec()),
            3 => Value::Text(
                std::str::from_utf8(self.take(arg)?)
                    .map_err(|_| invalid_record("CBOR text is not valid UTF-8"))?
                    .to_owned(),
            ),
            4 => {
                let count = self.count(arg, 1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            5 => Value::Map(self.map(arg, depth)?),
            _ => Value::Tag(arg, Box::new(self.value(depth + 1)?)),
        })
    }

    fn map(&mut self, arg: u64, depth: usize) -> Result<Map> {
        let count = self.count(arg, 2)?;
        let mut map = Map::new();
        let mut previous_key: &[u8] = &[];
        for _ in 0..count {
            let start = self.pos;
            let key = self.value(depth + 1)?;
            // Strictly decoded, so these bytes are the key's deterministic encoding.
            let key_bytes = &self.input[start..self.pos];
            if !map.is_empty() && key_bytes <= previous_key {
                return Err(invalid_record(if key_bytes == previous_key {
                    "duplicate CBOR map key"
                } else {
                    "CBOR map keys are not in deterministic order"
                }));
            }
            previous_key = key_bytes;
            let value = self.value(depth + 1)?;
            map.entries.insert(key_bytes.to_vec(), (key, value));
        }
        Ok(map)
    }

    /// The argument of a head, which must be in its shortest form.
    fn argument(&mut self, info: u8) -> Result<u64> {
        let (width, smallest) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (1, 24),
            25 => (2, 1 << 8),
            26 => (4, 1 << 16),
            27 => (8, 1 << 32),
            31 => return Err(invalid_record("indefinite-length CBOR is not allowed")),
            _ => return Err(invalid_record("reserved CBOR additional information")),
        };
        let n = self
            .take(width)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        if n < smallest {
            return Err(invalid_record(
                "CBOR integer or length not in shortest form",
            ));
        }
        Ok(n)
    }

    /// An element count, refused if the input cannot possibly hold that many
    /// elements of at least `min_bytes_each`: this bounds every allocation by
    /// the input size.
    fn count(&self, n: u64, min_bytes_each: u64) -> Result<usize> {
        let left = (self.input.len() - self.pos) as u64;
        match n.checked_mul(min_bytes_each) {
            Some(needed) if needed <= left => Ok(n as usize),
            _ => Err(invalid_record("CBOR length exceeds the input")),
        }
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let left = self.input.len() - self.pos;
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= left)
            .ok_or_else(|| invalid_record("CBOR input ends early"))?;
        let slice = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }
}

fn simple_value(initial: u8) -> Result<Value> {
    match initial {
        0xf4 => Ok(Value::Bool(false)),
        0xf5 => Ok(Value::Bool(true)),
        0xf6 => Ok(Value::Null),
        0xf9..=0xfb => Err(invalid_record("floating-point CBOR values are not allowed")),
        0xff => Err(invalid_record("indefinite-length CBOR is not allowed")),
        _ => Err(invalid_record("unsupported CBOR simple value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn map_of(pairs: Vec<(Value, Value)>) -> Value {
        let mut map = Map::new();
        for (k, v) in pairs {
            map.insert(k, v);
        }
        Value::Map(map)
    }

    fn text(s: &str) -> Value {
        Value::from(s)
    }

    fn uint(n: u64) -> Value {
        Value::Unsigned(n)
    }

    /// RFC 8949 Appendix A, every example of a supported type that is also in
    /// deterministic form: decodes to the value and re-encodes to the same bytes.
    #[test]
    fn rfc8949_appendix_a_vectors_round_trip() {
        let cases: Vec<(&str, Value)> = vec![
            ("00", uint(0)),
            ("01", uint(1)),
            ("0a", uint(10)),
            ("17", uint(23)),
            ("1818", uint(24)),
            ("1819", uint(25)),
            ("1864", uint(100)),
            ("1903e8", uint(1000)),
            ("1a000f4240", uint(1_000_000)),
            ("1b000000e8d4a51000", uint(1_000_000_000_000)),
            ("1bffffffffffffffff", uint(u64::MAX)),
            ("3bffffffffffffffff", Value::Negative(u64::MAX)),
            ("20", Value::from(-1i64)),
            ("29", Value::from(-10i64)),
            ("3863", Value::from(-100i64)),
            ("3903e7", Value::from(-1000i64)),
            ("f4", Value::Bool(false)),
            ("f5", Value::Bool(true)),
            ("f6", Value::Null),
            (
                "c074323031332d30332d32315432303a30343a30305a",
                Value::Tag(0, Box::new(text("2013-03-21T20:04:00Z"))),
            ),
            ("c11a514b67b0", Value::Tag(1, Box::new(uint(1_363_896_240)))),
            (
                "c249010000000000000000",
                Value::Tag(2, Box::new(Value::Bytes(hex("010000000000000000")))),
            ),
            (
                "d74401020304",
                Value::Tag(23, Box::new(Value::Bytes(hex("01020304")))),
            ),
            (
                "d818456449455446",
                Value::Tag(24, Box::new(Value::Bytes(hex("6449455446")))),
            ),
            (
                "d82076687474703a2f2f7777772e6578616d706c652e636f6d",
                Value::Tag(32, Box::new(text("http://www.example.com"))),
            ),
            ("40", Value::Bytes(vec![])),
            ("4401020304", Value::Bytes(hex("01020304"))),
            ("60", text("")),
            ("6161", text("a")),
            ("6449455446", text("IETF")),
            ("62225c", text("\"\\")),
            ("62c3bc", text("\u{00fc}")),
            ("63e6b0b4", text("\u{6c34}")),
            ("64f0908591", text("\u{10151}")),
            ("80", Value::Array(vec![])),
            ("83010203", Value::Array(vec![uint(1), uint(2), uint(3)])),
            (
                "8301820203820405",
                Value::Array(vec![
                    uint(1),
                    Value::Array(vec![uint(2), uint(3)]),
                    Value::Array(vec![uint(4), uint(5)]),
                ]),
            ),
            (
                "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
                Value::Array((1..=25).map(uint).collect()),
            ),
            ("a0", map_of(vec![])),
            (
                "a201020304",
                map_of(vec![(uint(1), uint(2)), (uint(3), uint(4))]),
            ),
            (
                "a26161016162820203",
                map_of(vec![
                    (text("a"), uint(1)),
                    (text("b"), Value::Array(vec![uint(2), uint(3)])),
                ]),
            ),
            (
                "826161a161626163",
                Value::Array(vec![text("a"), map_of(vec![(text("b"), text("c"))])]),
            ),
            (
                "a56161614161626142616361436164614461656145",
                map_of(
                    ["a", "b", "c", "d", "e"]
                        .iter()
                        .map(|k| (text(k), text(&k.to_uppercase())))
                        .collect(),
                ),
            ),
        ];
        for (bytes, value) in cases {
            assert_eq!(decode(&hex(bytes)).unwrap(), value, "decoding {bytes}");
            assert_eq!(encode(&value), hex(bytes), "encoding {value:?}");
        }
    }

    /// RFC 8949 Appendix A examples outside the deterministic subset, plus
    /// non-shortest forms: all must be refused, never normalised.
    #[test]
    fn rejects_non_deterministic_and_unsupported_input() {
        let rejected = [
            ("f90000", "half float 0.0"),
            ("fa47c35000", "single float"),
            ("fb3ff199999999999a", "double float"),
            ("f7", "undefined"),
            ("f0", "simple(16)"),
            ("f8ff", "simple(255)"),
            ("5f42010243030405ff", "indefinite byte string"),
            ("7f657374726561646d696e67ff", "indefinite text"),
            ("9fff", "indefinite array"),
            ("bf61610161629f0203ffff", "indefinite map"),
            ("ff", "lone break"),
            ("1817", "23 in two bytes"),
            ("190017", "23 in three bytes"),
            ("1900ff", "255 in three bytes"),
            ("1a0000ffff", "65535 in five bytes"),
            ("1b00000000ffffffff", "u32::MAX in nine bytes"),
            ("3817", "-24 in two bytes"),
            ("5801ff", "byte string length not shortest"),
            ("a203040102", "map keys out of order"),
            ("a201020103", "duplicate map key"),
            ("a2616201616102", "text keys out of order"),
            ("a2186401010102", "longer key before shorter key"),
            ("0000", "trailing byte"),
            ("1c", "reserved additional information 28"),
            ("62c3", "text shorter than declared"),
            ("62c328", "invalid UTF-8"),
            ("9b0000000100000000", "array longer than the input"),
            (
                "bb7fffffffffffffff",
                "map count overflowing the length check",
            ),
            ("", "empty input"),
        ];
        for (bytes, what) in rejected {
            let err = decode(&hex(bytes)).expect_err(what);
            assert_eq!(err.code(), "invalid_record", "{what}");
        }
    }

    #[test]
    fn map_keys_are_sorted_by_encoded_bytes() {
        let mut map = Map::new();
        map.insert("bb", 1u64);
        map.insert(-1i64, 2u64);
        map.insert(10u64, 3u64);
        map.insert("a", 4u64);
        map.insert(100u64, 5u64);
        // 0x0a < 0x1864 < 0x20 < 0x6161 < 0x626262: shorter and lower major types first.
        assert_eq!(
            encode(&Value::Map(map)),
            hex("a5 0a03 186405 2002 616104 62626201")
        );
    }

    #[test]
    fn map_insert_get_remove() {
        let mut map = Map::new();
        assert_eq!(map.insert("seq", 1u64), None);
        assert_eq!(map.insert("seq", 2u64), Some(uint(1)));
        assert_eq!(map.get("seq"), Some(&uint(2)));
        assert_eq!(map.get(4i64), None);
        assert_eq!(map.remove("seq"), Some(uint(2)));
        assert!(map.is_empty());
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused() {
        let nested = |depth: usize| {
            let mut bytes = vec![0x81; depth];
            bytes.push(0x00);
            bytes
        };
        assert!(decode(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(
            decode(&nested(MAX_DEPTH + 1)).unwrap_err().code(),
            "invalid_record"
        );
        // A hostile megabyte of nesting fails fast instead of overflowing the stack.
        assert!(decode(&nested(1 << 20)).is_err());
    }

    #[test]
    fn integer_conversions_cover_the_i64_range() {
        for n in [i64::MIN, -25, -24, -1, 0, 23, 24, i64::MAX] {
            let value = Value::from(n);
            assert_eq!(value.as_i64(), Some(n));
            assert_eq!(decode(&encode(&value)).unwrap(), value);
        }
        assert_eq!(Value::Negative(u64::MAX).as_i64(), None);
        assert_eq!(Value::Unsigned(u64::MAX).as_i64(), None);
    }
}

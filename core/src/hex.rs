//! Lowercase hexadecimal, the text form of hashes, key ids and signed records.

pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses hex digits (either case) into bytes; `None` for odd length or a non-digit.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// Parses 64 hex digits into 32 bytes (a SHA-256 as text).
pub fn decode32(text: &str) -> Option<[u8; 32]> {
    decode(text)?.try_into().ok()
}

/// Serialises bytes as hex (`#[serde(serialize_with = "crate::hex::serialize")]`).
pub fn serialize<S: serde::Serializer>(bytes: impl AsRef<[u8]>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&encode(bytes.as_ref()))
}

/// Reads what [`serialize`] wrote (`#[serde(deserialize_with = "crate::hex::deserialize")]`).
pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    decode(&text).ok_or_else(|| serde::de::Error::custom("not hexadecimal"))
}

/// Reads one 32-byte hash that [`serialize`] wrote.
pub fn deserialize32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    decode32(&text).ok_or_else(|| serde::de::Error::custom("not 32 bytes of hex"))
}

/// Reads a list of 32-byte hashes that [`serialize_list`] wrote (proofs, paths).
pub fn deserialize_list32<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<[u8; 32]>, D::Error> {
    <Vec<String> as serde::Deserialize>::deserialize(d)?
        .iter()
        .map(|text| decode32(text).ok_or_else(|| serde::de::Error::custom("not 32 bytes of hex")))
        .collect()
}

/// Serialises a list of byte strings as a list of hex strings (proofs, paths).
pub fn serialize_list<S: serde::Serializer, T: AsRef<[u8]>>(
    items: &[T],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(items.iter().map(|item| encode(item.as_ref())))
}

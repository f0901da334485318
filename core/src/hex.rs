//! Lowercase hexadecimal, the text form of hashes, key ids and signed records.
//! The codec is the `hex` crate; this module gives the answers the code uses
//! (`None` for anything that is not hex) and the serde helpers of the wire types.

pub fn encode(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

/// Parses hex digits (either case) into bytes; `None` for odd length or a
/// non-digit (a sign included).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    ::hex::decode(text).ok()
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

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lowercase_and_only_digits_decode() {
        assert_eq!(super::encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(super::decode("00ABff"), Some(vec![0x00, 0xab, 0xff]));
        for bad in ["0", "+f", "-1", "0g", " 0"] {
            assert_eq!(super::decode(bad), None, "{bad:?}");
        }
        assert_eq!(super::decode32(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(super::decode32(&"ab".repeat(31)), None);
    }
}

//! Lowercase hexadecimal, the text form of hashes and key ids.

pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

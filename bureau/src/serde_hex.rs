//! Bytes as lowercase hex in JSON (`#[serde(serialize_with = "serde_hex::bytes")]`):
//! hashes, keys, signatures and records all travel this way.

use fieldproof_core::hex;
use serde::Serializer;

pub fn bytes<S: Serializer>(bytes: impl AsRef<[u8]>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes.as_ref()))
}

pub fn list<S: Serializer, T: AsRef<[u8]>>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(items.iter().map(|item| hex::encode(item.as_ref())))
}

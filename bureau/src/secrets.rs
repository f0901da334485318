//! Random secrets (tokens, codes) and how they are kept: only their SHA-256 is
//! stored, so a copy of the database grants no access.

use crate::error::{Error, Result};
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::RandomUnavailable)?;
    Ok(bytes)
}

/// A bearer token: a prefix saying what it is for, then 256 random bits.
pub fn new_token(prefix: &str) -> Result<String> {
    let bytes = random_bytes::<32>()?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    fieldproof_core::evidence::sha256(data)
}

/// Constant-time equality, for comparing secret hashes.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

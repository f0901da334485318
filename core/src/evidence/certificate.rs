//! Device certificates: the bureau's signed statement binding a device key to an
//! officer, a jurisdiction and a role. A COSE_Sign1 (ES256, bureau key) over a
//! deterministic CBOR map, the same envelope as evidence records, so anyone with
//! the bureau's public key can check a case file offline. The bureau signs them
//! at enrollment; verifiers (the case-file verifier, the bureau's tests) read
//! them with [`verify_certificate`].
//!
//! Payload keys: `v` (1), `device_id`, `public_key` (SEC1, 65 bytes), `key_id`
//! (SHA-256 of `public_key`), `officer_id`, `jurisdiction`, `role`, `issued_ms`.

use super::cbor::{self, Map, Value};
use super::cose;
use super::invalid_record;
use super::keys::{key_id, Signer};
use crate::error::Result;
use serde::Serialize;

const VERSION: u64 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceCertificate {
    pub device_id: String,
    #[serde(serialize_with = "crate::hex::serialize")]
    pub public_key: Vec<u8>,
    pub officer_id: String,
    pub jurisdiction: String,
    pub role: String,
    pub issued_ms: i64,
}

impl DeviceCertificate {
    /// The signed certificate bytes (COSE_Sign1), signed by the bureau key.
    pub fn sign(&self, bureau: &dyn Signer) -> Result<Vec<u8>> {
        let mut map = Map::new();
        map.insert("v", VERSION);
        map.insert("device_id", self.device_id.as_str());
        map.insert("public_key", self.public_key.as_slice());
        map.insert("key_id", key_id(&self.public_key).as_slice());
        map.insert("officer_id", self.officer_id.as_str());
        map.insert("jurisdiction", self.jurisdiction.as_str());
        map.insert("role", self.role.as_str());
        map.insert("issued_ms", self.issued_ms);
        let payload = cbor::encode(&Value::Map(map));
        cose::sign1(&payload, &key_id(&bureau.public_key()), bureau)
    }
}

/// Checks a certificate against the bureau's public key and returns what it
/// says; `invalid_record` when it is not one this bureau signed.
pub fn verify_certificate(bytes: &[u8], bureau_public_key: &[u8]) -> Result<DeviceCertificate> {
    let invalid = || invalid_record("not a valid device certificate from this bureau");
    let sign1 = cose::parse_sign1(bytes).map_err(|_| invalid())?;
    cose::verify_sign1(&sign1, bureau_public_key).map_err(|_| invalid())?;
    let map = cbor::decode(&sign1.payload)
        .ok()
        .and_then(Value::into_map)
        .ok_or_else(invalid)?;
    let text = |k: &str| {
        map.get(k)
            .and_then(Value::as_text)
            .map(str::to_owned)
            .ok_or_else(invalid)
    };
    if map.get("v").and_then(Value::as_u64) != Some(VERSION) {
        return Err(invalid());
    }
    let public_key = map
        .get("public_key")
        .and_then(Value::as_bytes)
        .ok_or_else(invalid)?
        .to_vec();
    if map.get("key_id").and_then(Value::as_bytes) != Some(key_id(&public_key).as_slice()) {
        return Err(invalid());
    }
    Ok(DeviceCertificate {
        device_id: text("device_id")?,
        public_key,
        officer_id: text("officer_id")?,
        jurisdiction: text("jurisdiction")?,
        role: text("role")?,
        issued_ms: map
            .get("issued_ms")
            .and_then(Value::as_i64)
            .ok_or_else(invalid)?,
    })
}

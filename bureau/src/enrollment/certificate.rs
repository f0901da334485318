//! Device certificates: the bureau's signed statement binding a device key to an
//! officer, a jurisdiction and a role. A COSE_Sign1 (ES256, bureau key) over a
//! deterministic CBOR map, the same envelope as evidence records, so anyone with
//! the bureau's public key can check an evidence bundle offline.

use crate::custody_log::BureauKey;
use crate::error::{Error, Result};
use fieldproof_core::evidence::cbor::{self, Map, Value};
use fieldproof_core::evidence::cose;
use fieldproof_core::evidence::keys::{key_id, Signer};
use serde::Serialize;

const VERSION: u64 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceCertificate {
    pub device_id: String,
    pub public_key: Vec<u8>,
    pub officer_id: String,
    pub jurisdiction: String,
    pub role: String,
    pub issued_ms: i64,
}

impl DeviceCertificate {
    /// The signed certificate bytes (COSE_Sign1, tagged).
    pub fn sign(&self, bureau: &BureauKey) -> Result<Vec<u8>> {
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
        cose::sign1(&payload, &key_id(bureau.public_key()), bureau)
            .map_err(|_| Error::InvalidBureauKey)
    }
}

/// Checks a certificate against the bureau's public key and returns what it says.
pub fn verify_certificate(bytes: &[u8], bureau_public_key: &[u8]) -> Result<DeviceCertificate> {
    let invalid = || Error::InvalidRequest {
        reason: "not a valid device certificate from this bureau".into(),
    };
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
    Ok(DeviceCertificate {
        device_id: text("device_id")?,
        public_key: map
            .get("public_key")
            .and_then(Value::as_bytes)
            .ok_or_else(invalid)?
            .to_vec(),
        officer_id: text("officer_id")?,
        jurisdiction: text("jurisdiction")?,
        role: text("role")?,
        issued_ms: map
            .get("issued_ms")
            .and_then(Value::as_i64)
            .ok_or_else(invalid)?,
    })
}

impl Signer for BureauKey {
    fn public_key(&self) -> Vec<u8> {
        BureauKey::public_key(self).to_vec()
    }

    fn sign(&self, message: &[u8]) -> fieldproof_core::Result<Vec<u8>> {
        self.sign_message(message)
            .map_err(|_| fieldproof_core::Error::SignatureInvalid)
    }
}

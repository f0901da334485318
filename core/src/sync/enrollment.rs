//! Enrollment: a one-time code issued by the bureau binds this device's evidence
//! key to an officer, a jurisdiction and a role. The bureau answers with a device
//! certificate it signed and a revocable token that every later call carries.

use super::client::BureauClient;
use super::tls_pin;
use super::transport::Transport;
use crate::error::{Error, Result};
use crate::evidence::cbor;
use crate::evidence::cose::{parse_sign1, verify_sign1};
use crate::hex;
use crate::model::sync::Enrollment;
use crate::store::Store;
use crate::time::now_ms;
use crate::wire::enrollment::{
    EnrollAnswer, EnrollChallenge, EnrollRequest, ENROLL_CHALLENGE_PATH, ENROLL_PATH,
};
use std::time::Instant;

/// What an enrollment declares besides the code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrollOptions {
    /// The bureau's TLS key pin given with the code (`sha256/<base64>`).
    pub tls_pin: Option<String>,
    /// The device's fixes come from an external GNSS receiver (a mock
    /// provider on Android): its mock-flagged fixes count as proof of visit.
    pub external_gnss: bool,
    /// The platform's attestation of the device key (Android Keystore: the
    /// certificate chain, leaf first, each DER); empty when there is none. The
    /// bureau keeps it as sent, the certificates concatenated.
    pub attestation: Vec<Vec<u8>>,
}

/// Enrolls with the bureau at `server_url` using a one-time `code`, proving
/// possession of the device key by signing the bureau's challenge, and stores
/// the enrollment (replacing any earlier one). Refusals keep the bureau's codes:
/// `unknown_enrollment_code`, `enrollment_code_used`, `enrollment_code_expired`,
/// `key_already_enrolled`.
pub(crate) fn enroll(
    store: &Store,
    transport: &dyn Transport,
    server_url: &str,
    code: &str,
    options: &EnrollOptions,
    deadline: Instant,
) -> Result<Enrollment> {
    let tls_pin = options.tls_pin.as_deref();
    if tls_pin.is_some_and(|pin| tls_pin::parse(pin).is_none()) {
        return Err(Error::InvalidField {
            field: "tls_pin",
            reason: "a pin is sha256/ and the base64 of a SHA-256",
        });
    }
    let public_key = store.device_public_key()?;
    let bureau = BureauClient::new(transport, server_url, deadline).pinned(tls_pin);
    let bad = |reason: &str| Error::BadResponse {
        reason: format!("enrollment: {reason}"),
    };
    // Proof of possession: the key signs the bureau's fresh nonce and the code.
    let challenge: EnrollChallenge =
        bureau.json("POST", ENROLL_CHALLENGE_PATH, Some(Vec::new()))?;
    let nonce =
        hex::decode32(&challenge.nonce).ok_or_else(|| bad("the nonce is not 32 bytes of hex"))?;
    let signature = store.prove_possession(&nonce, code)?;
    let request = EnrollRequest {
        code: code.to_owned(),
        public_key: hex::encode(&public_key),
        nonce: challenge.nonce,
        signature: hex::encode(&signature),
        attestation: (!options.attestation.is_empty())
            .then(|| hex::encode(&options.attestation.concat())),
        external_gnss: options.external_gnss,
    };
    let body = serde_json::to_vec(&request).expect("requests serialise");
    let answer: EnrollAnswer = bureau.json("POST", ENROLL_PATH, Some(body))?;
    let certificate =
        hex::decode(&answer.certificate).ok_or_else(|| bad("certificate is not hex"))?;
    let bureau_public_key =
        hex::decode(&answer.bureau_public_key).ok_or_else(|| bad("bureau key is not hex"))?;
    if certified_key(&certificate, &bureau_public_key).as_deref() != Some(public_key.as_slice()) {
        // Checkpoints and receipts will be checked against this key: it must be the
        // one that certified this very device.
        return Err(bad(
            "the certificate is not the bureau's, for this device's key",
        ));
    }
    let enrollment = Enrollment {
        server_url: server_url.trim_end_matches('/').to_owned(),
        device_id: answer.device_id,
        officer_id: answer.officer_id,
        jurisdiction: answer.jurisdiction,
        role: answer.role.as_str().to_owned(),
        token_expires_ms: Some(answer.token_expires_ms),
        certificate,
        bureau_public_key,
        enrolled_at_ms: now_ms(),
        tls_pin: tls_pin.map(str::to_owned),
    };
    store.save_enrollment(&enrollment, &answer.token)?;
    Ok(enrollment)
}

/// The device key a certificate vouches for, if `bureau_key` signed it.
fn certified_key(certificate: &[u8], bureau_key: &[u8]) -> Option<Vec<u8>> {
    let sign1 = parse_sign1(certificate).ok()?;
    verify_sign1(&sign1, bureau_key).ok()?;
    let claims = cbor::decode(&sign1.payload).ok()?.into_map()?;
    Some(claims.get("public_key")?.as_bytes()?.to_vec())
}

//! COSE_Sign1 envelopes (RFC 9052 §4.2) with ES256, the evidence record wrapper.
//!
//! ```text
//! 18([                      ; CBOR tag 18: COSE_Sign1
//!   h'A10126',              ; protected: bstr-wrapped {1: -7} (alg: ES256)
//!   {4: h'<32-byte kid>'},  ; unprotected: kid = SHA-256 of the device public key
//!   h'<payload>',           ; the evidence record payload, embedded
//!   h'<64-byte r ‖ s>'      ; ECDSA P-256 signature
//! ])
//! signed bytes = ["Signature1", h'A10126', h'', h'<payload>']   (Sig_structure)
//! ```
//!
//! Why our own: coset writes identical bytes for this layout, but its parser
//! accepts re-framed envelopes (non-minimal lengths, indefinite arrays), so one
//! signed record could exist as several byte strings; this parser accepts the
//! one layout above and nothing else (the tests re-frame it every way).
//!
//! The kid sits in the unprotected header, so it is a routing hint only; the
//! authenticated copy is the device key id inside the payload, which the chain
//! verifier compares with it.

use super::cbor::{self, Map, Value};
use super::invalid_record;
use super::keys::{key_id, normalize_signature, signature_verifies, Signer, SIGNATURE_LEN};
use crate::error::{Error, Result};

/// CBOR tag of a COSE_Sign1 message.
pub const COSE_SIGN1_TAG: u64 = 18;
/// COSE algorithm id of ECDSA P-256 with SHA-256.
pub const ALG_ES256: i64 = -7;
/// Largest envelope accepted: a record payload is a few hundred bytes, a long
/// note a few kilobytes; anything near this size is not a record.
pub const MAX_SIGN1_BYTES: usize = 64 * 1024;
/// Largest payload [`sign1`] signs, so that the envelope stays within
/// [`MAX_SIGN1_BYTES`]: tag, array, headers, signature and length prefixes
/// take 113 bytes at most.
pub const MAX_PAYLOAD_BYTES: usize = MAX_SIGN1_BYTES - 128;

const HEADER_ALG: i64 = 1;
const HEADER_KID: i64 = 4;
const KID_LEN: usize = 32;

/// A parsed COSE_Sign1 message. Nothing here is trusted until
/// [`verify_sign1`] succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sign1 {
    /// The protected header exactly as it was signed (the bstr contents).
    pub protected: Vec<u8>,
    pub alg: i64,
    pub kid: [u8; 32],
    pub payload: Vec<u8>,
    pub signature: [u8; SIGNATURE_LEN],
    /// The Sig_structure bytes the signature covers.
    pub to_be_signed: Vec<u8>,
}

/// Signs `payload` into a tagged COSE_Sign1 message.
///
/// `kid` must be the signer's key id. The signature the signer returns (DER or
/// raw) is normalised and verified before use: a hardware keystore that returns
/// a wrong or malformed signature yields `SignatureInvalid`, never a bad record.
pub fn sign1(payload: &[u8], kid: &[u8], signer: &dyn Signer) -> Result<Vec<u8>> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(invalid_record("payload too large"));
    }
    let public_key = signer.public_key();
    if kid != key_id(&public_key) {
        return Err(invalid_record("kid is not the signer's key id"));
    }
    let protected = protected_header();
    let to_be_signed = sig_structure(&protected, payload);
    let signature = normalize_signature(&signer.sign(&to_be_signed)?)?;
    verify(&to_be_signed, &signature, &public_key)?;

    let mut unprotected = Map::new();
    unprotected.insert(HEADER_KID, kid);
    let message = Value::Array(vec![
        Value::Bytes(protected),
        Value::Map(unprotected),
        Value::from(payload),
        Value::from(signature.as_slice()),
    ]);
    Ok(cbor::encode(&Value::Tag(COSE_SIGN1_TAG, Box::new(message))))
}

/// Parses a message made by [`sign1`]: tagged, deterministic, ES256 only,
/// embedded payload, 32-byte kid, 64-byte signature; anything else is
/// `InvalidRecord`.
pub fn parse_sign1(bytes: &[u8]) -> Result<Sign1> {
    if bytes.len() > MAX_SIGN1_BYTES {
        return Err(invalid_record("COSE message too large"));
    }
    let items = match cbor::decode(bytes)? {
        Value::Tag(COSE_SIGN1_TAG, inner) => inner.into_array(),
        _ => None,
    }
    .ok_or_else(|| invalid_record("not a tagged COSE_Sign1 message"))?;
    let [protected, unprotected, payload, signature]: [Value; 4] = items
        .try_into()
        .map_err(|_| invalid_record("COSE_Sign1 must have four elements"))?;

    let protected = bytes_field(protected, "protected header")?;
    let alg = parse_protected(&protected)?;
    let kid = parse_unprotected(unprotected)?;
    let payload = bytes_field(payload, "payload")?;
    let signature = bytes_field(signature, "signature")?
        .try_into()
        .map_err(|_| invalid_record("signature must be 64 bytes"))?;
    let to_be_signed = sig_structure(&protected, &payload);
    Ok(Sign1 {
        protected,
        alg,
        kid,
        payload,
        signature,
        to_be_signed,
    })
}

/// Verifies the signature with the given SEC1 public key.
pub fn verify_sign1(sign1: &Sign1, public_key_sec1: &[u8]) -> Result<()> {
    verify(&sign1.to_be_signed, &sign1.signature, public_key_sec1)
}

fn verify(message: &[u8], signature: &[u8], public_key_sec1: &[u8]) -> Result<()> {
    if signature_verifies(public_key_sec1, message, signature) {
        Ok(())
    } else {
        Err(Error::SignatureInvalid)
    }
}

fn protected_header() -> Vec<u8> {
    let mut header = Map::new();
    header.insert(HEADER_ALG, ALG_ES256);
    cbor::encode(&Value::Map(header))
}

/// `["Signature1", protected, external_aad = h'', payload]` (RFC 9052 §4.4).
fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor::encode(&Value::Array(vec![
        Value::from("Signature1"),
        Value::from(protected),
        Value::Bytes(Vec::new()),
        Value::from(payload),
    ]))
}

/// The protected header must be exactly `{1: -7}`: an unknown header could be
/// critical, and any other algorithm is not ours.
fn parse_protected(protected: &[u8]) -> Result<i64> {
    let mut header = cbor::decode(protected)?
        .into_map()
        .ok_or_else(|| invalid_record("protected header is not a map"))?;
    let alg = header.remove(HEADER_ALG).and_then(|v| v.as_i64());
    match alg {
        Some(ALG_ES256) if header.is_empty() => Ok(ALG_ES256),
        _ => Err(invalid_record(
            "protected header must be exactly {alg: ES256}",
        )),
    }
}

fn parse_unprotected(unprotected: Value) -> Result<[u8; 32]> {
    let mut header = unprotected
        .into_map()
        .ok_or_else(|| invalid_record("unprotected header is not a map"))?;
    let kid = header.remove(HEADER_KID).and_then(|kid| match kid {
        Value::Bytes(kid) => <[u8; KID_LEN]>::try_from(kid).ok(),
        _ => None,
    });
    match kid {
        Some(kid) if header.is_empty() => Ok(kid),
        _ => Err(invalid_record(
            "unprotected header must be exactly {kid: 32 bytes}",
        )),
    }
}

fn bytes_field(value: Value, what: &str) -> Result<Vec<u8>> {
    match value {
        Value::Bytes(bytes) => Ok(bytes),
        _ => Err(invalid_record(format!("COSE {what} is not a byte string"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::keys::tests::raw_to_der;
    use crate::evidence::keys::SoftwareKey;

    fn software_key() -> (tempfile::TempDir, SoftwareKey) {
        let dir = tempfile::tempdir().unwrap();
        let key = SoftwareKey::load_or_create(&dir.path().join("k")).unwrap();
        (dir, key)
    }

    /// Behaves like a hardware keystore: answers with DER, or with garbage.
    struct FakeHardware<'a> {
        inner: &'a SoftwareKey,
        mode: Mode,
    }

    enum Mode {
        Der,
        WrongMessage,
        Garbage,
    }

    impl Signer for FakeHardware<'_> {
        fn public_key(&self) -> Vec<u8> {
            self.inner.public_key()
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
            match self.mode {
                Mode::Der => {
                    let raw = self.inner.sign(message)?;
                    Ok(raw_to_der(raw.as_slice().try_into().unwrap()))
                }
                Mode::WrongMessage => self.inner.sign(b"something else"),
                Mode::Garbage => Ok(vec![0x30, 0x00]),
            }
        }
    }

    #[test]
    fn sign_parse_verify_round_trip() {
        let (_dir, key) = software_key();
        let kid = key_id(&key.public_key());
        let message = sign1(b"payload bytes", &kid, &key).unwrap();
        let parsed = parse_sign1(&message).unwrap();
        assert_eq!(parsed.alg, ALG_ES256);
        assert_eq!(parsed.kid, kid);
        assert_eq!(parsed.payload, b"payload bytes");
        assert_eq!(parsed.protected, [0xa1, 0x01, 0x26]);
        verify_sign1(&parsed, &key.public_key()).unwrap();
        // The exact layout RFC 9052 prescribes, byte for byte.
        assert_eq!(&message[..6], [0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26]);
        assert_eq!(
            parsed.to_be_signed,
            [
                b"\x84\x6aSignature1\x43\xa1\x01\x26\x40\x4d".as_slice(),
                b"payload bytes"
            ]
            .concat()
        );
    }

    /// What a lax parser (coset's, for one) accepts: the same signed content
    /// re-framed, so one record would exist as several byte strings with
    /// different hashes. Each re-framing is refused.
    #[test]
    fn a_re_framed_envelope_is_refused() {
        let (_dir, key) = software_key();
        let kid = key_id(&key.public_key());
        let message = sign1(b"payload bytes", &kid, &key).unwrap();
        assert_eq!(message.len(), 122);
        // Where the layout's items start: tag, array, protected, unprotected
        // map, kid, payload, signature.
        let (map, payload, signature) = (6, 42, 56);
        assert_eq!(
            (message[map], message[payload], message[signature]),
            (0xa1, 0x4d, 0x58)
        );
        let splice = |at: usize, remove: usize, insert: &[u8]| {
            let mut bytes = message.clone();
            bytes.splice(at..at + remove, insert.iter().copied());
            bytes
        };
        let indefinite_array = {
            let mut bytes = splice(1, 1, &[0x9f]);
            bytes.push(0xff);
            bytes
        };
        let indefinite_payload = {
            let mut bytes = splice(payload, 0, &[0x5f]);
            bytes.insert(payload + 1 + 14, 0xff);
            bytes
        };
        let indefinite_map = {
            let mut bytes = splice(map, 1, &[0xbf]);
            bytes.insert(map + 1 + 35, 0xff);
            bytes
        };
        for (what, bytes) in [
            ("tag 18 in two bytes", splice(0, 1, &[0xd8, 0x12])),
            ("array length in a byte", splice(1, 1, &[0x98, 0x04])),
            ("indefinite array", indefinite_array),
            ("protected length in a byte", splice(2, 1, &[0x58, 0x03])),
            ("map length in a byte", splice(map, 1, &[0xb8, 0x01])),
            ("indefinite map", indefinite_map),
            (
                "payload length in a byte",
                splice(payload, 1, &[0x58, 0x0d]),
            ),
            ("payload in chunks", indefinite_payload),
            (
                "signature length in two bytes",
                splice(signature, 2, &[0x59, 0x00, 0x40]),
            ),
            (
                "a byte after the message",
                [message.as_slice(), &[0x00]].concat(),
            ),
        ] {
            assert_ne!(bytes, message, "{what}");
            let refused = parse_sign1(&bytes).err();
            assert_eq!(
                refused.map(|e| e.code()),
                Some("invalid_record"),
                "{what} was accepted"
            );
        }
    }

    #[test]
    fn der_signatures_from_hardware_are_normalised() {
        let (_dir, key) = software_key();
        let hardware = FakeHardware {
            inner: &key,
            mode: Mode::Der,
        };
        let kid = key_id(&key.public_key());
        let message = sign1(b"p", &kid, &hardware).unwrap();
        verify_sign1(&parse_sign1(&message).unwrap(), &key.public_key()).unwrap();
    }

    #[test]
    fn misbehaving_signers_are_caught_before_anything_is_returned() {
        let (_dir, key) = software_key();
        let kid = key_id(&key.public_key());
        for mode in [Mode::WrongMessage, Mode::Garbage] {
            let hardware = FakeHardware { inner: &key, mode };
            let err = sign1(b"p", &kid, &hardware).unwrap_err();
            assert_eq!(err.code(), "signature_invalid");
        }
        let err = sign1(b"p", &[0u8; 32], &key).unwrap_err();
        assert_eq!(err.code(), "invalid_record");
        let largest = sign1(&vec![0u8; MAX_PAYLOAD_BYTES], &kid, &key).unwrap();
        assert!(parse_sign1(&largest).is_ok());
        let err = sign1(&vec![0u8; MAX_PAYLOAD_BYTES + 1], &kid, &key).unwrap_err();
        assert_eq!(err.code(), "invalid_record");
    }

    #[test]
    fn any_flipped_bit_fails_parsing_or_verification() {
        let (_dir, key) = software_key();
        let message = sign1(b"payload", &key_id(&key.public_key()), &key).unwrap();
        for byte in 0..message.len() {
            for bit in 0..8 {
                let mut damaged = message.clone();
                damaged[byte] ^= 1 << bit;
                let accepted = parse_sign1(&damaged)
                    .and_then(|s| verify_sign1(&s, &key.public_key()).map(|()| s));
                // The kid is unauthenticated by design; the payload carries the
                // signed key id, which the chain verifier checks.
                if let Ok(sign1) = accepted {
                    assert_ne!(
                        sign1.kid,
                        key_id(&key.public_key()),
                        "byte {byte} bit {bit}"
                    );
                }
            }
        }
    }

    #[test]
    fn other_keys_and_shapes_are_refused() {
        let (_dir, key) = software_key();
        let (_dir2, other) = software_key();
        let message = sign1(b"p", &key_id(&key.public_key()), &key).unwrap();
        let parsed = parse_sign1(&message).unwrap();
        assert_eq!(
            verify_sign1(&parsed, &other.public_key())
                .unwrap_err()
                .code(),
            "signature_invalid"
        );
        assert_eq!(
            verify_sign1(&parsed, b"not a key").unwrap_err().code(),
            "signature_invalid"
        );

        let untagged = &message[1..];
        let truncated = &message[..message.len() - 1];
        let empty_array = [0xd2, 0x80].as_slice();
        for bad in [untagged, truncated, empty_array] {
            assert_eq!(parse_sign1(bad).unwrap_err().code(), "invalid_record");
        }
        assert!(parse_sign1(&vec![0u8; MAX_SIGN1_BYTES + 1]).is_err());
    }

    #[test]
    fn protected_header_with_other_algorithm_is_refused() {
        let mut header = Map::new();
        header.insert(HEADER_ALG, -35i64); // ES384
        let protected = cbor::encode(&Value::Map(header));
        assert!(parse_protected(&protected).is_err());
        let mut header = Map::new();
        header.insert(HEADER_ALG, ALG_ES256);
        header.insert(2i64, Value::Array(vec![])); // crit
        assert!(parse_protected(&cbor::encode(&Value::Map(header))).is_err());
        assert_eq!(parse_protected(&protected_header()).unwrap(), ALG_ES256);
    }
}

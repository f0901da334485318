//! Device signing keys: the [`Signer`] trait that hardware keystores implement,
//! signature normalisation, and a software key for the CLI, tests and devices
//! without a usable keystore.
//!
//! Only ECDSA P-256 with SHA-256 (COSE ES256) is used: it is the one curve both
//! Android StrongBox and the iOS Secure Enclave offer.

use super::sha256;
use crate::error::{Error, Result};
use crate::hex;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use std::fmt;
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// Length of an uncompressed SEC1 P-256 public key (0x04 ‖ x ‖ y).
pub const PUBLIC_KEY_LEN: usize = 65;
/// Length of a raw ES256 signature (r ‖ s, 32 bytes each).
pub const SIGNATURE_LEN: usize = 64;

const SCALAR_LEN: usize = 32;

/// A device key that signs evidence records. Implemented in Rust by
/// [`SoftwareKey`] and on the platform side by Android Keystore / Secure Enclave
/// glue; the core verifies every signature it gets back before using it.
pub trait Signer: Send + Sync {
    /// The SEC1 uncompressed P-256 public key, 65 bytes.
    fn public_key(&self) -> Vec<u8>;

    /// ECDSA P-256 over SHA-256 of `message` (the signer hashes, as
    /// `SHA256withECDSA` and `ecdsaSignatureMessageX962SHA256` do). Returns either
    /// a DER `Ecdsa-Sig-Value` (Android Keystore, JCA) or raw r ‖ s (Secure
    /// Enclave, ring); [`normalize_signature`] accepts both.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// The device key id: SHA-256 of the SEC1 public key bytes.
pub fn key_id(public_key: &[u8]) -> [u8; 32] {
    sha256(public_key)
}

/// Whether `signature` (raw r ‖ s) is an ECDSA P-256 / SHA-256 signature over
/// `message` by the SEC1 public key: the one check behind records (COSE),
/// checkpoints and case-file manifests.
pub fn signature_verifies(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key)
        .verify(message, signature)
        .is_ok()
}

/// Converts a signer's output to raw r ‖ s.
///
/// DER is tried first when the bytes start with a SEQUENCE tag, and must then be
/// strict (minimal lengths, no superfluous leading zeros, no trailing bytes);
/// otherwise exactly 64 bytes are taken as raw r ‖ s. A raw signature that also
/// happens to be valid strict DER (odds below 2^-32) would be misread; the caller
/// verifies every signature anyway, so that shows up as a failed signature and a
/// retry signs afresh. Zero r or s is refused as garbage.
pub fn normalize_signature(sig: &[u8]) -> Result<[u8; SIGNATURE_LEN]> {
    let raw = match parse_der_signature(sig) {
        Some(raw) => raw,
        None => sig.try_into().map_err(|_| Error::SignatureInvalid)?,
    };
    let (r, s) = raw.split_at(SCALAR_LEN);
    if r.iter().all(|&b| b == 0) || s.iter().all(|&b| b == 0) {
        return Err(Error::SignatureInvalid);
    }
    Ok(raw)
}

/// `SEQUENCE { INTEGER r, INTEGER s }` in strict DER, or `None`.
fn parse_der_signature(der: &[u8]) -> Option<[u8; SIGNATURE_LEN]> {
    // Two INTEGERs of at most 33 content bytes fit in a short-form length.
    let (&[0x30, len], body) = der.split_first_chunk::<2>()? else {
        return None;
    };
    if usize::from(len) != body.len() {
        return None;
    }
    let (r, rest) = parse_der_uint(body)?;
    let (s, rest) = parse_der_uint(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let mut raw = [0u8; SIGNATURE_LEN];
    raw[SCALAR_LEN - r.len()..SCALAR_LEN].copy_from_slice(r);
    raw[SIGNATURE_LEN - s.len()..].copy_from_slice(s);
    Some(raw)
}

/// One non-negative DER INTEGER of at most 32 magnitude bytes: returns the
/// magnitude without its sign-padding zero, and the bytes after it.
fn parse_der_uint(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&[0x02, len], rest) = der.split_first_chunk::<2>()? else {
        return None;
    };
    let len = usize::from(len);
    if len == 0 || len > rest.len() {
        return None;
    }
    let (int, rest) = rest.split_at(len);
    let magnitude = match int {
        // A leading zero is only allowed (and then required) before a high bit.
        [0x00, next, ..] if next & 0x80 != 0 => &int[1..],
        [0x00, _, ..] => return None,
        [first, ..] if first & 0x80 != 0 => return None, // negative
        _ => int,
    };
    (magnitude.len() <= SCALAR_LEN).then_some((magnitude, rest))
}

/// A P-256 key held by the core itself, stored as PKCS#8 DER.
pub struct SoftwareKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl SoftwareKey {
    /// Loads the key at `path`, creating it on first use.
    ///
    /// A new key is written owner-only (0600, set at creation, so it is never
    /// readable by others even briefly) to a temporary file, synced, and then
    /// hard-linked into place: unlike a rename, the link fails if another key
    /// appeared there meanwhile, and that key is loaded instead. An existing
    /// file that is not a valid key is refused with `KeyUnavailable` and left
    /// untouched: replacing it would silently break the device's record chain.
    pub fn load_or_create(path: &Path) -> Result<SoftwareKey> {
        match fs::read(path) {
            Ok(pkcs8) => Self::from_pkcs8(&pkcs8),
            Err(e) if e.kind() == ErrorKind::NotFound => Self::create(path),
            Err(e) => Err(Error::Io(e)),
        }
    }

    fn create(path: &Path) -> Result<SoftwareKey> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| key_unavailable("system random generator failed"))?;
        let temp = temp_path(path, &rng)?;
        if let Err(e) = write_private(&temp, pkcs8.as_ref()) {
            // Best effort: the temp file may hold private key material.
            let _ = fs::remove_file(&temp);
            return Err(Error::Io(e));
        }
        let linked = fs::hard_link(&temp, path);
        let removed = fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                removed?;
                sync_parent(path)?;
                Self::from_pkcs8(pkcs8.as_ref())
            }
            // Another caller created the key first: that one is the device key.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Self::from_pkcs8(&fs::read(path)?),
            Err(e) => Err(Error::Io(e)),
        }
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<SoftwareKey> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|_| key_unavailable("key file is not a valid P-256 PKCS#8 key"))?;
        Ok(SoftwareKey { pair, rng })
    }
}

impl Signer for SoftwareKey {
    fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let sig = self
            .pair
            .sign(&self.rng, message)
            .map_err(|_| key_unavailable("signing failed"))?;
        Ok(sig.as_ref().to_vec())
    }
}

impl fmt::Debug for SoftwareKey {
    /// Shows the key id only, never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = hex::encode(&key_id(&self.public_key()));
        f.debug_struct("SoftwareKey").field("key_id", &id).finish()
    }
}

fn key_unavailable(reason: &str) -> Error {
    Error::KeyUnavailable {
        reason: reason.to_owned(),
    }
}

/// A fresh, unguessable name next to `path`, so a temp file left by a crash
/// never collides with the next attempt.
fn temp_path(path: &Path, rng: &SystemRandom) -> Result<PathBuf> {
    let nonce: [u8; 8] = ring::rand::generate(rng)
        .map_err(|_| key_unavailable("system random generator failed"))?
        .expose();
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", hex::encode(&nonce)));
    Ok(path.with_file_name(name))
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = crate::private_files::options()
        .create_new(true)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes the new directory entry durable (evidence must survive power loss).
fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    /// Raw r ‖ s to strict DER, as Android Keystore returns it.
    pub(crate) fn raw_to_der(raw: &[u8; SIGNATURE_LEN]) -> Vec<u8> {
        let int = |scalar: &[u8]| {
            let start = scalar
                .iter()
                .position(|&b| b != 0)
                .unwrap_or(SCALAR_LEN - 1);
            let mut out = vec![0x02, 0];
            if scalar[start] & 0x80 != 0 {
                out.push(0);
            }
            out.extend_from_slice(&scalar[start..]);
            out[1] = (out.len() - 2) as u8;
            out
        };
        let body = [int(&raw[..SCALAR_LEN]), int(&raw[SCALAR_LEN..])].concat();
        [vec![0x30, body.len() as u8], body].concat()
    }

    fn raw(r: &[u8], s: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        out[SCALAR_LEN - r.len()..SCALAR_LEN].copy_from_slice(r);
        out[SIGNATURE_LEN - s.len()..].copy_from_slice(s);
        out
    }

    #[test]
    fn der_and_raw_signatures_normalise_to_the_same_bytes() {
        let high = [0xffu8; 32];
        let low = {
            let mut s = [0x11u8; 32];
            s[0] = 0x7f;
            s
        };
        let cases = [
            raw(&high, &high),               // both need a sign-padding zero: 33-byte INTEGERs
            raw(&low, &low),                 // full 32 bytes, no padding
            raw(&[0x01], &[0x80]),           // very short r; short s with high bit set
            raw(&[0x00, 0x00, 0x42], &high), // leading zero bytes of r dropped in DER
        ];
        for case in cases {
            let der = raw_to_der(&case);
            assert_eq!(normalize_signature(&der).unwrap(), case, "{der:02x?}");
            assert_eq!(normalize_signature(&case).unwrap(), case);
        }
        // A known Android-style vector: r with high bit set (0x00-padded), 31-byte s.
        let der = [
            [0x30, 0x44, 0x02, 0x21, 0x00].as_slice(),
            &[0x80; 32],
            &[0x02, 0x1f],
            &[0x01; 31],
        ]
        .concat();
        let expected = raw(&[0x80; 32], &[0x01; 31]);
        assert_eq!(normalize_signature(&der).unwrap(), expected);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let good = raw_to_der(&raw(&[0x80; 32], &[0x01; 32]));
        let mut cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "empty"),
            (vec![0u8; 63], "63 raw bytes"),
            (vec![0u8; 65], "65 raw bytes"),
            (vec![0u8; 64], "zero r and s"),
            (good[..good.len() - 1].to_vec(), "truncated DER"),
            ([good.as_slice(), &[0]].concat(), "trailing byte"),
            (
                vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x81],
                "negative s",
            ),
            (
                vec![0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01],
                "padded r",
            ),
            (vec![0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01], "empty r"),
            (
                vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01],
                "zero r",
            ),
            (
                [
                    vec![0x30, 0x25, 0x02, 0x21, 0x01],
                    vec![0x11; 32],
                    vec![0x02, 0x01, 0x01],
                ]
                .concat(),
                "33-byte r",
            ),
            (
                vec![0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
                "long-form length",
            ),
        ];
        let mut wrong_tag = good.clone();
        wrong_tag[2] = 0x03;
        cases.push((wrong_tag, "BIT STRING instead of INTEGER"));
        for (sig, what) in cases {
            assert_eq!(
                normalize_signature(&sig).map_err(|e| e.code()),
                Err("signature_invalid"),
                "{what}"
            );
        }
    }

    #[test]
    fn load_or_create_twice_gives_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.p8");
        let first = SoftwareKey::load_or_create(&path).unwrap();
        let second = SoftwareKey::load_or_create(&path).unwrap();
        assert_eq!(first.public_key(), second.public_key());
        assert_eq!(first.public_key().len(), PUBLIC_KEY_LEN);
        assert_eq!(first.public_key()[0], 0x04);
        // Only the key file remains: no temp files with key material left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("device.p8")]);
    }

    #[test]
    fn software_key_signatures_verify_with_ring() {
        let dir = tempfile::tempdir().unwrap();
        let key = SoftwareKey::load_or_create(&dir.path().join("k")).unwrap();
        let sig = key.sign(b"message").unwrap();
        let sig = normalize_signature(&sig).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key())
            .verify(b"message", &sig)
            .unwrap();
        assert_eq!(key_id(&key.public_key()), sha256(&key.public_key()));
        assert!(!format!("{key:?}").is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.p8");
        SoftwareKey::load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn corrupt_key_file_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.p8");
        SoftwareKey::load_or_create(&path).unwrap();
        let mut damaged = fs::read(&path).unwrap();
        let last = damaged.len() - 1;
        damaged[last] ^= 0x01; // the public key no longer matches the private key
        for contents in [damaged, b"not a key".to_vec(), Vec::new()] {
            fs::write(&path, &contents).unwrap();
            let err = SoftwareKey::load_or_create(&path).unwrap_err();
            assert_eq!(err.code(), "key_unavailable");
            assert_eq!(
                fs::read(&path).unwrap(),
                contents,
                "file must stay untouched"
            );
        }
    }

    #[test]
    fn missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = SoftwareKey::load_or_create(&dir.path().join("no/such/dir/k")).unwrap_err();
        assert_eq!(err.code(), "io_error");
    }
}

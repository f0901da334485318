//! Signed checkpoints: the bureau's statement "the custody log held `tree_size`
//! records with root `root` at `time_ms`".
//!
//! The device puts the latest checkpoint it holds into its next evidence record, so
//! a capture is bracketed between two bureau-signed times even when the device
//! clock is wrong. Signatures are ECDSA P-256 with SHA-256 (raw r ‖ s, 64 bytes),
//! the algorithm the whole system already uses, verifiable with only the bureau's
//! public key.

use super::merkle::Hash;
use crate::error::{Error, Result};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};

/// Leads every signed checkpoint, so a bureau signature over a checkpoint can never
/// be taken for one over another bureau message, and the layout can be versioned.
const CHECKPOINT_CONTEXT: &[u8; 32] = b"fieldproof-bureau/checkpoint/v1\0";

/// Length of [`Checkpoint::to_bytes`].
pub const CHECKPOINT_LEN: usize = CHECKPOINT_CONTEXT.len() + 8 + 32 + 8;

/// The state of the custody log at one moment, as the bureau signs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub tree_size: u64,
    pub root: Hash,
    /// Bureau wall-clock time, UTC milliseconds.
    pub time_ms: i64,
}

impl Checkpoint {
    /// The canonical bytes that are signed, a fixed 80-byte layout:
    ///
    /// | offset | length | content                                       |
    /// |-------:|-------:|-----------------------------------------------|
    /// |      0 |     32 | ASCII `fieldproof-bureau/checkpoint/v1` + 0x00 |
    /// |     32 |      8 | `tree_size`, unsigned big-endian              |
    /// |     40 |     32 | `root`                                        |
    /// |     72 |      8 | `time_ms`, two's-complement big-endian        |
    ///
    /// Fixed widths leave exactly one encoding per checkpoint, with nothing to parse.
    pub fn to_bytes(&self) -> [u8; CHECKPOINT_LEN] {
        let mut bytes = [0u8; CHECKPOINT_LEN];
        let fields: [&[u8]; 4] = [
            CHECKPOINT_CONTEXT,
            &self.tree_size.to_be_bytes(),
            &self.root,
            &self.time_ms.to_be_bytes(),
        ];
        let mut offset = 0;
        for field in fields {
            bytes[offset..offset + field.len()].copy_from_slice(field);
            offset += field.len();
        }
        bytes
    }
}

/// The bureau's ECDSA P-256 signing key.
#[derive(Debug)]
pub struct BureauKey {
    key_pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl BureauKey {
    /// Generates a new key as a PKCS#8 v1 document, the form in which it is stored
    /// (the caller keeps those bytes secret) and later loaded with [`Self::from_pkcs8`].
    pub fn generate_pkcs8() -> Result<Vec<u8>> {
        let document =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| Error::RandomUnavailable)?;
        Ok(document.as_ref().to_vec())
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self> {
        let rng = SystemRandom::new();
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|_| Error::InvalidBureauKey)?;
        Ok(Self { key_pair, rng })
    }

    /// The SEC1 uncompressed public key (65 bytes) that verifiers are given.
    pub fn public_key(&self) -> &[u8] {
        self.key_pair.public_key().as_ref()
    }

    /// Signs [`Checkpoint::to_bytes`]; returns raw r ‖ s.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<Vec<u8>> {
        self.sign_message(&checkpoint.to_bytes())
    }

    /// ECDSA P-256 over SHA-256 of `message`, raw r ‖ s. Every message the bureau
    /// signs starts with its own context (checkpoint layout, COSE Sig_structure),
    /// so one signature can never pass for another kind.
    pub fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>> {
        let signature = self
            .key_pair
            .sign(&self.rng, message)
            .map_err(|_| Error::RandomUnavailable)?;
        Ok(signature.as_ref().to_vec())
    }
}

/// Whether `signature` (raw r ‖ s) is the bureau's signature over `checkpoint`,
/// given the bureau's SEC1 public key.
pub fn verify_checkpoint(public_key: &[u8], checkpoint: &Checkpoint, signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key)
        .verify(&checkpoint.to_bytes(), signature)
        .is_ok()
}

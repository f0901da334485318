//! Signed checkpoints: the bureau's statement "the custody log held `tree_size`
//! records with root `root` at `time_ms`".
//!
//! The device puts the latest checkpoint it holds into its next evidence record, so
//! a capture is bracketed between two bureau-signed times even when the device
//! clock is wrong. Signatures are ECDSA P-256 with SHA-256 (raw r ‖ s, 64 bytes),
//! the algorithm the whole system already uses, verifiable with only the bureau's
//! public key.

use super::Checkpoint;
use crate::error::{Error, Result};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

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

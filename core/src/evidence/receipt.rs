//! Bureau receipts: the bureau's proof that its custody log holds one of this
//! device's evidence records — an RFC 9162 inclusion proof against a checkpoint the
//! bureau signed. Checked with nothing but the bureau's public key, offline.
//!
//! A checkpoint is signed (ECDSA P-256, SHA-256, raw r ‖ s) over 80 bytes:
//! `fieldproof-bureau/checkpoint/v1\0` (32), `tree_size` u64 BE, `root` (32),
//! `time_ms` i64 BE (see the bureau's sync-api.md). Leaves are the exact signed
//! record bytes, hashed as RFC 9162 §2.1 says.

use super::keys::signature_verifies;
use super::merkle::{leaf_hash, verify_inclusion};
use crate::hex;
use serde::{Deserialize, Deserializer, Serialize};

/// Leads every signed checkpoint, so a bureau signature over a checkpoint can never
/// be taken for one over another bureau message, and the layout can be versioned.
const CHECKPOINT_CONTEXT: &[u8; 32] = b"fieldproof-bureau/checkpoint/v1\0";

/// Length of [`Checkpoint::to_bytes`].
pub const CHECKPOINT_LEN: usize = CHECKPOINT_CONTEXT.len() + 8 + 32 + 8;

/// The state of the custody log at one moment, as the bureau signs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub tree_size: u64,
    pub root: [u8; 32],
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
        bytes[..32].copy_from_slice(CHECKPOINT_CONTEXT);
        bytes[32..40].copy_from_slice(&self.tree_size.to_be_bytes());
        bytes[40..72].copy_from_slice(&self.root);
        bytes[72..].copy_from_slice(&self.time_ms.to_be_bytes());
        bytes
    }
}

/// Whether `signature` (raw r ‖ s) is the bureau's signature over `checkpoint`,
/// given the bureau's SEC1 public key.
pub fn verify_checkpoint(public_key: &[u8], checkpoint: &Checkpoint, signature: &[u8]) -> bool {
    signature_verifies(public_key, &checkpoint.to_bytes(), signature)
}

/// The bureau's signed statement "the custody log held `tree_size` records with
/// root `root` at `time_ms`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub tree_size: u64,
    #[serde(
        serialize_with = "hex::serialize",
        deserialize_with = "hex::deserialize32"
    )]
    pub root: [u8; 32],
    /// Bureau wall clock, UTC ms.
    pub time_ms: i64,
    #[serde(serialize_with = "hex::serialize", deserialize_with = "hex_in")]
    pub signature: Vec<u8>,
}

/// Proof that the record at `leaf_index` is in the tree of `checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub leaf_index: u64,
    pub checkpoint: SignedCheckpoint,
    /// The audit path, leaf end first.
    #[serde(
        serialize_with = "hex::serialize_list",
        deserialize_with = "hex::deserialize_list32"
    )]
    pub inclusion_proof: Vec<[u8; 32]>,
}

/// Why a receipt does not prove what it claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptFailure {
    /// The checkpoint is not signed by the bureau key.
    BadCheckpointSignature,
    /// The proof does not lead from the record to the checkpoint's root.
    NotIncluded,
}

impl ReceiptFailure {
    pub fn code(self) -> &'static str {
        match self {
            ReceiptFailure::BadCheckpointSignature => "bad_checkpoint_signature",
            ReceiptFailure::NotIncluded => "not_included",
        }
    }
}

impl SignedCheckpoint {
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            tree_size: self.tree_size,
            root: self.root,
            time_ms: self.time_ms,
        }
    }

    pub fn verify(&self, bureau_public_key: &[u8]) -> bool {
        verify_checkpoint(bureau_public_key, &self.checkpoint(), &self.signature)
    }
}

impl Receipt {
    /// Checks that this receipt proves `signed_record` (the exact COSE bytes) is in
    /// the log of the bureau whose key is `bureau_public_key`.
    pub fn verify(
        &self,
        signed_record: &[u8],
        bureau_public_key: &[u8],
    ) -> Result<(), ReceiptFailure> {
        if !self.checkpoint.verify(bureau_public_key) {
            return Err(ReceiptFailure::BadCheckpointSignature);
        }
        let included = verify_inclusion(
            &leaf_hash(signed_record),
            self.leaf_index,
            self.checkpoint.tree_size,
            &self.inclusion_proof,
            &self.checkpoint.root,
        );
        if included {
            Ok(())
        } else {
            Err(ReceiptFailure::NotIncluded)
        }
    }
}

fn hex_in<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    hex::decode(&text).ok_or_else(|| serde::de::Error::custom("not hex"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::merkle::node_hash;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    /// The root of `leaves` and the audit path of leaf `index`, computed the
    /// RFC's recursive way (MTH and PATH), independently of the verifier.
    fn root_and_path(leaves: &[&[u8]], index: usize) -> ([u8; 32], Vec<[u8; 32]>) {
        fn mth(leaves: &[&[u8]]) -> [u8; 32] {
            match leaves.len() {
                1 => leaf_hash(leaves[0]),
                n => {
                    let k = 1 << (n - 1).ilog2();
                    node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
                }
            }
        }
        fn path(m: usize, leaves: &[&[u8]]) -> Vec<[u8; 32]> {
            let n = leaves.len();
            if n == 1 {
                return Vec::new();
            }
            let k = 1 << (n - 1).ilog2();
            if m < k {
                let mut p = path(m, &leaves[..k]);
                p.push(mth(&leaves[k..]));
                p
            } else {
                let mut p = path(m - k, &leaves[k..]);
                p.push(mth(&leaves[..k]));
                p
            }
        }
        (mth(leaves), path(index, leaves))
    }

    #[test]
    fn inclusion_proofs_verify_for_every_leaf_of_every_size() {
        let records: Vec<Vec<u8>> = (0..9u8).map(|i| vec![i; 3 + i as usize]).collect();
        for size in 1..=records.len() {
            let leaves: Vec<&[u8]> = records[..size].iter().map(Vec::as_slice).collect();
            for index in 0..size {
                let (root, proof) = root_and_path(&leaves, index);
                let leaf = leaf_hash(leaves[index]);
                assert!(verify_inclusion(
                    &leaf,
                    index as u64,
                    size as u64,
                    &proof,
                    &root
                ));
                assert!(!verify_inclusion(
                    &leaf,
                    index as u64 + 1,
                    size as u64,
                    &proof,
                    &root
                ));
                let other = leaf_hash(b"another record");
                assert!(!verify_inclusion(
                    &other,
                    index as u64,
                    size as u64,
                    &proof,
                    &root
                ));
            }
        }
    }

    #[test]
    fn receipts_check_signature_and_inclusion() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let records: [&[u8]; 3] = [b"one", b"two", b"three"];
        let (root, inclusion_proof) = root_and_path(&records, 1);
        let mut checkpoint = SignedCheckpoint {
            tree_size: 3,
            root,
            time_ms: 1_790_000_000_000,
            signature: Vec::new(),
        };
        checkpoint.signature = key
            .sign(&rng, &checkpoint.checkpoint().to_bytes())
            .unwrap()
            .as_ref()
            .to_vec();
        let receipt = Receipt {
            leaf_index: 1,
            checkpoint,
            inclusion_proof,
        };
        let public_key = key.public_key().as_ref();
        assert_eq!(receipt.verify(b"two", public_key), Ok(()));
        assert_eq!(
            receipt.verify(b"one", public_key),
            Err(ReceiptFailure::NotIncluded)
        );
        let mut forged = receipt.clone();
        forged.checkpoint.time_ms += 1;
        assert_eq!(
            forged.verify(b"two", public_key),
            Err(ReceiptFailure::BadCheckpointSignature)
        );

        let json = serde_json::to_string(&receipt).unwrap();
        assert!(
            json.contains(&hex::encode(&root)),
            "hashes travel as hex: {json}"
        );
        assert_eq!(serde_json::from_str::<Receipt>(&json).unwrap(), receipt);
    }
}

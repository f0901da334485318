//! The custody log: an append-only Merkle log (RFC 9162 §2.1 hashing) of every
//! evidence record the bureau accepted.
//!
//! Each leaf is the exact signed evidence-record bytes, never a re-encoding, so
//! anyone holding a record can recompute its leaf hash. The bureau signs
//! [`Checkpoint`]s (tree size, root, time) over the log; an inclusion proof ties a
//! record to a checkpoint, and a consistency proof shows that a later checkpoint
//! only appended to an earlier one, so no accepted record can quietly disappear.
//!
//! [`CustodyLog`] is the in-memory tree; [`persisted`] keeps its leaves in the
//! database and hands out signed checkpoints and receipts.

pub mod alarms;
mod checkpoint;
pub mod persisted;

pub use checkpoint::BureauKey;
// The hashing, the proof verifiers and the checkpoint layout are the core's, so a
// device checks receipts with the very code that built the log.
pub use fieldproof_core::evidence::merkle::{
    empty_root, leaf_hash, node_hash, verify_consistency, verify_inclusion, Hash,
};
pub use fieldproof_core::evidence::receipt::{
    verify_checkpoint, Checkpoint, Receipt, SignedCheckpoint, CHECKPOINT_LEN,
};
pub use persisted::LogCache;

use crate::error::{Error, Result};
use fieldproof_core::evidence::merkle::split;

/// The append-only Merkle tree over the accepted evidence records.
///
/// It keeps every complete, aligned subtree hash: `levels[h][i]` is the hash of
/// leaves `i·2^h .. (i+1)·2^h`, and `levels[0]` holds the leaf hashes. Appending
/// adds at most one node per level, and every subtree that the RFC's recursion
/// visits (for roots of any past size and for proofs) is one of these or splits
/// into O(log n) of them. So a root costs O(log n) hashes and a proof O(log² n),
/// at 64 bytes of memory per leaf.
#[derive(Default)]
pub struct CustodyLog {
    levels: Vec<Vec<Hash>>,
}

impl CustodyLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one evidence record (its exact signed bytes) and returns its index.
    pub fn append(&mut self, leaf: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(leaf))
    }

    /// Appends a leaf by its hash (as the persisted log stores it).
    pub fn append_leaf_hash(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.len();
        let mut hash = leaf_hash;
        for height in 0.. {
            if height == self.levels.len() {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[height];
            nodes.push(hash);
            // An odd count means the new node has no sibling yet: nothing above changes.
            if nodes.len() % 2 == 1 {
                break;
            }
            hash = node_hash(&nodes[nodes.len() - 2], &nodes[nodes.len() - 1]);
        }
        index
    }

    /// Number of records in the log.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, Vec::len) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current root, MTH of all records.
    pub fn root(&self) -> Hash {
        self.tree_root(self.len())
    }

    /// The root the log had when it held `tree_size` records.
    pub fn root_at(&self, tree_size: u64) -> Result<Hash> {
        self.check_size(tree_size)?;
        Ok(self.tree_root(tree_size))
    }

    /// The audit path of record `index` in the tree of `tree_size` records
    /// (RFC 9162 §2.1.3.1 `PATH`), leaf end first.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>> {
        self.check_size(tree_size)?;
        if index >= tree_size {
            return Err(Error::LeafIndexOutOfRange { index, tree_size });
        }
        let mut path = Vec::new();
        self.path(index, 0, tree_size, &mut path);
        Ok(path)
    }

    /// The proof that the tree of `new_size` records extends the tree of `old_size`
    /// (RFC 9162 §2.1.4.1 `PROOF`). Empty when there is nothing to prove
    /// (`old_size` 0 or equal to `new_size`), as [`verify_consistency`] expects.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(Error::TreeSizesOutOfOrder { old_size, new_size });
        }
        let mut proof = Vec::new();
        if old_size > 0 && old_size < new_size {
            self.subproof(old_size, 0, new_size, true, &mut proof);
        }
        Ok(proof)
    }

    fn check_size(&self, tree_size: u64) -> Result<()> {
        let log_size = self.len();
        if tree_size > log_size {
            return Err(Error::TreeSizeTooLarge {
                tree_size,
                log_size,
            });
        }
        Ok(())
    }

    /// MTH of the first `tree_size` leaves; `tree_size` is within the log.
    fn tree_root(&self, tree_size: u64) -> Hash {
        if tree_size == 0 {
            empty_root()
        } else {
            self.subtree_root(0, tree_size)
        }
    }

    /// MTH of leaves `start..end`, a non-empty range reached by the RFC's recursion
    /// from the whole tree. Such a range starts at a multiple of the smallest power
    /// of two not below its length, so a power-of-two range is a stored subtree.
    fn subtree_root(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n.is_power_of_two() {
            debug_assert_eq!(start % n, 0, "complete subtrees are aligned");
            let height = n.trailing_zeros();
            return self.levels[height as usize][(start >> height) as usize];
        }
        let mid = start + split(n);
        node_hash(&self.subtree_root(start, mid), &self.subtree_root(mid, end))
    }

    /// `PATH(index - start, D[start:end])`, appended to `out`.
    fn path(&self, index: u64, start: u64, end: u64, out: &mut Vec<Hash>) {
        let n = end - start;
        if n == 1 {
            return;
        }
        let mid = start + split(n);
        if index < mid {
            self.path(index, start, mid, out);
            out.push(self.subtree_root(mid, end));
        } else {
            self.path(index, mid, end, out);
            out.push(self.subtree_root(start, mid));
        }
    }

    /// `SUBPROOF(m, D[start:end], b)`, appended to `out`. `old_root_known` is the
    /// RFC's `b`: whether the first `m` leaves here are the whole old tree, whose
    /// root the verifier already holds and so need not be sent.
    fn subproof(&self, m: u64, start: u64, end: u64, old_root_known: bool, out: &mut Vec<Hash>) {
        let n = end - start;
        if m == n {
            if !old_root_known {
                out.push(self.subtree_root(start, end));
            }
            return;
        }
        let k = split(n);
        let mid = start + k;
        if m <= k {
            self.subproof(m, start, mid, old_root_known, out);
            out.push(self.subtree_root(mid, end));
        } else {
            self.subproof(m - k, mid, end, false, out);
            out.push(self.subtree_root(start, mid));
        }
    }
}

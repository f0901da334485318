//! RFC 9162 §2.1 tree hashing and proof verification: the bureau builds its custody
//! log with these, and a device checks its receipts with the same code.
//!
//! Leaves and interior nodes are hashed with different prefixes (0x00, 0x01), so a
//! leaf can never be passed off as an interior node. The verifiers follow the RFC's
//! algorithms step by step, so they can be read against its text; they are what a
//! device, a reviewer or an offline `fieldproof verify` runs with nothing but the
//! proof and a signed checkpoint.

use ring::digest::{Context, SHA256};

/// A SHA-256 tree hash: a leaf hash, a subtree hash or a root.
pub type Hash = [u8; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(context.finish().as_ref());
    hash
}

/// MTH of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// SHA-256(0x00 ‖ leaf); the leaf is the exact signed evidence-record bytes.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    sha256(&[&[LEAF_PREFIX], leaf])
}

/// SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[NODE_PREFIX], left, right])
}

/// The RFC's `k` for a tree of `n > 1` leaves: the largest power of two smaller than
/// `n`. The left subtree holds `k` leaves and is always complete.
pub fn split(n: u64) -> u64 {
    debug_assert!(n > 1, "only trees of two or more leaves split");
    1 << (n - 1).ilog2()
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2): that the leaf with `leaf_hash`
/// is at `index` in the tree of `tree_size` leaves whose root is `root`.
///
/// The caller must take `tree_size` and `root` from one signed checkpoint: trees of
/// different sizes can share an audit-path shape, so only the pair is meaningful.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    // 1. The index must lie inside the tree.
    if index >= tree_size {
        return false;
    }
    // 2.–3. fn and sn walk up from the leaf and from the last leaf; r climbs the path.
    let (mut fn_, mut sn) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    // 4. One step up per proof element.
    for p in proof {
        if sn == 0 {
            return false; // proof longer than the tree is high
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            // Skip the levels where this node is a lone right-edge child.
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. The path must reach exactly the root.
    sn == 0 && r == *root
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2): that the tree of `new_size`
/// leaves with `new_root` extends the tree of `old_size` leaves with `old_root`,
/// i.e. the log only appended.
///
/// The RFC defines proofs for `0 < old_size < new_size`; the two trivial cases need
/// no proof: a tree is consistent with itself, and the empty tree with every tree.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    // 1. A non-trivial proof is never empty.
    if proof.is_empty() {
        return false;
    }
    // 2. If the old tree is complete, its root is the proof's implicit first element.
    let implicit: &[Hash] = if old_size.is_power_of_two() {
        std::slice::from_ref(old_root)
    } else {
        &[]
    };
    let mut path = implicit.iter().chain(proof);
    // 3.–4. Start at the old tree's last leaf, skipping levels where it is a right child.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. fr rebuilds the old root, sr the new one, from the same first node.
    let Some(&first) = path.next() else {
        return false;
    };
    let (mut fr, mut sr) = (first, first);
    // 6. One step up per remaining element.
    for c in path {
        if sn == 0 {
            return false; // proof longer than the new tree is high
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7. Both roots rebuilt, and the whole height of the new tree climbed.
    fr == *old_root && sr == *new_root && sn == 0
}

//! The custody log against the RFC 6962 / RFC 9162 reference vectors (the
//! Certificate Transparency test tree of eight leaves), every proof of every tree
//! up to 64 records with tampering, and signed checkpoints.

use fieldproof_bureau::custody_log::{
    empty_root, leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion, BureauKey,
    Checkpoint, CustodyLog, Hash, CHECKPOINT_LEN,
};

const REFERENCE_LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

/// MTH of the first n reference leaves, n = 0..=8.
const REFERENCE_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (index, tree size, audit path).
const REFERENCE_INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, consistency proof).
const REFERENCE_CONSISTENCY: [(u64, u64, &[&str]); 4] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// Largest tree whose every proof is checked exhaustively.
const MAX_SIZE: u64 = 64;

fn hash(hex: &str) -> Hash {
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap();
    }
    out
}

fn hashes(hex: &[&str]) -> Vec<Hash> {
    hex.iter().map(|h| hash(h)).collect()
}

fn reference_log() -> CustodyLog {
    let mut log = CustodyLog::new();
    for leaf in REFERENCE_LEAVES {
        log.append(leaf);
    }
    log
}

fn record(index: u64) -> Vec<u8> {
    format!("evidence record {index}").into_bytes()
}

/// One record more than `MAX_SIZE`, so a claimed "size + 1" has a root too.
fn exhaustive_log() -> CustodyLog {
    let mut log = CustodyLog::new();
    for index in 0..=MAX_SIZE {
        log.append(&record(index));
    }
    log
}

fn flip_bit(hash: &Hash, bit: usize) -> Hash {
    let mut flipped = *hash;
    flipped[(bit / 8) % 32] ^= 1 << (bit % 8);
    flipped
}

/// Every way of flipping one bit in one element of `proof`, one bit per element
/// (a different bit each time, so all byte positions get hit across the proofs).
fn proofs_with_one_flipped_bit(
    proof: &[Hash],
    seed: usize,
) -> impl Iterator<Item = Vec<Hash>> + '_ {
    (0..proof.len()).map(move |i| {
        let mut tampered = proof.to_vec();
        tampered[i] = flip_bit(&proof[i], seed * 31 + i * 97);
        tampered
    })
}

/// Proofs one element too short and one too long.
fn resized_proofs(proof: &[Hash], extra: &Hash) -> Vec<Vec<Hash>> {
    let mut longer = proof.to_vec();
    longer.push(*extra);
    let mut variants = vec![longer];
    if let Some((_, shorter)) = proof.split_last() {
        variants.push(shorter.to_vec());
    }
    variants
}

#[test]
fn roots_match_the_reference_tree_at_every_size() {
    let mut log = CustodyLog::new();
    assert!(log.is_empty());
    assert_eq!(log.root(), hash(REFERENCE_ROOTS[0]));
    assert_eq!(empty_root(), hash(REFERENCE_ROOTS[0]));
    for (index, leaf) in REFERENCE_LEAVES.iter().enumerate() {
        assert_eq!(log.append(leaf), index as u64);
        assert_eq!(log.len(), index as u64 + 1);
        assert_eq!(
            log.root(),
            hash(REFERENCE_ROOTS[index + 1]),
            "size {}",
            index + 1
        );
    }
    for (size, root) in REFERENCE_ROOTS.iter().enumerate() {
        assert_eq!(
            log.root_at(size as u64).unwrap(),
            hash(root),
            "root_at({size})"
        );
    }
}

#[test]
fn inclusion_proofs_match_the_reference_tree() {
    let log = reference_log();
    for (index, tree_size, expected) in REFERENCE_INCLUSION {
        let proof = log.inclusion_proof(index, tree_size).unwrap();
        assert_eq!(proof, hashes(expected), "PATH({index}, D[{tree_size}])");
        let leaf = leaf_hash(REFERENCE_LEAVES[index as usize]);
        let root = hash(REFERENCE_ROOTS[tree_size as usize]);
        assert!(verify_inclusion(&leaf, index, tree_size, &proof, &root));
    }
}

#[test]
fn consistency_proofs_match_the_reference_tree() {
    let log = reference_log();
    for (old_size, new_size, expected) in REFERENCE_CONSISTENCY {
        let proof = log.consistency_proof(old_size, new_size).unwrap();
        assert_eq!(proof, hashes(expected), "PROOF({old_size}, D[{new_size}])");
        let old_root = hash(REFERENCE_ROOTS[old_size as usize]);
        let new_root = hash(REFERENCE_ROOTS[new_size as usize]);
        assert!(verify_consistency(
            old_size, new_size, &old_root, &new_root, &proof
        ));
    }
}

#[test]
fn every_inclusion_proof_verifies_and_any_tampering_fails() {
    let log = exhaustive_log();
    for tree_size in 1..=MAX_SIZE {
        let root = log.root_at(tree_size).unwrap();
        for index in 0..tree_size {
            let leaf = leaf_hash(&record(index));
            let proof = log.inclusion_proof(index, tree_size).unwrap();
            let case = format!("index {index}, size {tree_size}");
            assert!(
                verify_inclusion(&leaf, index, tree_size, &proof, &root),
                "{case}"
            );

            let seed = (tree_size * MAX_SIZE + index) as usize;
            for tampered in proofs_with_one_flipped_bit(&proof, seed) {
                assert!(
                    !verify_inclusion(&leaf, index, tree_size, &tampered, &root),
                    "{case}"
                );
            }
            for resized in resized_proofs(&proof, &root) {
                assert!(
                    !verify_inclusion(&leaf, index, tree_size, &resized, &root),
                    "{case}"
                );
            }
            let other_leaf = flip_bit(&leaf, seed);
            assert!(
                !verify_inclusion(&other_leaf, index, tree_size, &proof, &root),
                "{case}"
            );
            let other_root = flip_bit(&root, seed);
            assert!(
                !verify_inclusion(&leaf, index, tree_size, &proof, &other_root),
                "{case}"
            );

            for wrong_index in [index.wrapping_sub(1), index + 1, index ^ 2, tree_size] {
                if wrong_index != index && wrong_index <= tree_size {
                    let ok = verify_inclusion(&leaf, wrong_index, tree_size, &proof, &root);
                    assert!(!ok, "{case} claimed as index {wrong_index}");
                }
            }
            // A size is only ever claimed together with its root (one checkpoint).
            for wrong_size in [tree_size - 1, tree_size + 1, tree_size * 2] {
                if wrong_size > index && wrong_size <= log.len() {
                    let wrong_root = log.root_at(wrong_size).unwrap();
                    let ok = verify_inclusion(&leaf, index, wrong_size, &proof, &wrong_root);
                    assert!(!ok, "{case} claimed for size {wrong_size}");
                }
            }
        }
    }
}

#[test]
fn every_consistency_proof_verifies_and_any_tampering_fails() {
    let log = exhaustive_log();
    let verify = verify_consistency;
    for new_size in 0..=MAX_SIZE {
        let new_root = log.root_at(new_size).unwrap();

        // Nothing to prove: the empty tree, and a tree against itself.
        for trivial in [0, new_size] {
            let old_root = log.root_at(trivial).unwrap();
            let proof = log.consistency_proof(trivial, new_size).unwrap();
            assert!(proof.is_empty());
            assert!(verify(trivial, new_size, &old_root, &new_root, &proof));
        }
        let other_root = flip_bit(&new_root, new_size as usize);
        assert!(!verify(new_size, new_size, &new_root, &other_root, &[]));
        assert!(!verify(0, new_size, &other_root, &new_root, &[]));

        for old_size in 1..new_size {
            let old_root = log.root_at(old_size).unwrap();
            let proof = log.consistency_proof(old_size, new_size).unwrap();
            let case = format!("old {old_size}, new {new_size}");
            assert!(!proof.is_empty(), "{case}");
            assert!(
                verify(old_size, new_size, &old_root, &new_root, &proof),
                "{case}"
            );

            let seed = (new_size * MAX_SIZE + old_size) as usize;
            for tampered in proofs_with_one_flipped_bit(&proof, seed) {
                assert!(
                    !verify(old_size, new_size, &old_root, &new_root, &tampered),
                    "{case}"
                );
            }
            for resized in resized_proofs(&proof, &old_root) {
                assert!(
                    !verify(old_size, new_size, &old_root, &new_root, &resized),
                    "{case}"
                );
            }
            assert!(
                !verify(old_size, new_size, &old_root, &new_root, &[]),
                "{case}"
            );
            assert!(
                !verify(old_size, new_size, &new_root, &old_root, &proof),
                "{case}"
            );
            let flipped_old = flip_bit(&old_root, seed);
            assert!(
                !verify(old_size, new_size, &flipped_old, &new_root, &proof),
                "{case}"
            );
            let flipped_new = flip_bit(&new_root, seed);
            assert!(
                !verify(old_size, new_size, &old_root, &flipped_new, &proof),
                "{case}"
            );

            for (old, new) in [
                (old_size - 1, new_size),
                (old_size + 1, new_size),
                (old_size ^ 2, new_size),
                (old_size, new_size - 1),
                (old_size, new_size + 1),
                (old_size, new_size * 2),
            ] {
                if (old, new) != (old_size, new_size) && old <= new && new <= log.len() {
                    let (claimed_old, claimed_new) =
                        (log.root_at(old).unwrap(), log.root_at(new).unwrap());
                    let ok = verify(old, new, &claimed_old, &claimed_new, &proof);
                    assert!(!ok, "{case} claimed for old {old}, new {new}");
                }
            }
        }
    }
}

#[test]
fn requests_outside_the_log_fail_with_stable_codes() {
    let log = reference_log();
    let code = |err: fieldproof_bureau::Error| err.code();
    assert_eq!(code(log.root_at(9).unwrap_err()), "tree_size_too_large");
    assert_eq!(
        code(log.inclusion_proof(8, 8).unwrap_err()),
        "leaf_index_out_of_range"
    );
    assert_eq!(
        code(log.inclusion_proof(0, 0).unwrap_err()),
        "leaf_index_out_of_range"
    );
    assert_eq!(
        code(log.inclusion_proof(0, 9).unwrap_err()),
        "tree_size_too_large"
    );
    assert_eq!(
        code(log.consistency_proof(5, 4).unwrap_err()),
        "tree_sizes_out_of_order"
    );
    assert_eq!(
        code(log.consistency_proof(1, 9).unwrap_err()),
        "tree_size_too_large"
    );

    let root = log.root();
    assert!(!verify_inclusion(&leaf_hash(b""), 8, 8, &[], &root));
    assert!(!verify_consistency(5, 4, &root, &root, &[]));
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        tree_size: 37,
        root: [0x11; 32],
        time_ms: 1_700_000_000_123,
    }
}

#[test]
fn checkpoint_encoding_is_the_documented_layout() {
    let expected = [
        // "fieldproof-bureau/checkpoint/v1" 0x00
        "6669656c6470726f6f662d6275726561752f636865636b706f696e742f763100",
        "0000000000000025", // tree_size 37
        "1111111111111111111111111111111111111111111111111111111111111111",
        "0000018bcfe5687b", // time_ms 1_700_000_000_123
    ]
    .concat();
    let bytes = checkpoint().to_bytes();
    assert_eq!(bytes.len(), CHECKPOINT_LEN);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, expected);

    let before_1970 = Checkpoint {
        time_ms: -5,
        ..checkpoint()
    };
    assert_eq!(
        before_1970.to_bytes()[72..],
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb]
    );
}

#[test]
fn checkpoint_signature_round_trips_through_pkcs8() {
    let pkcs8 = BureauKey::generate_pkcs8().unwrap();
    let key = BureauKey::from_pkcs8(&pkcs8).unwrap();
    let reloaded = BureauKey::from_pkcs8(&pkcs8).unwrap();
    assert_eq!(key.public_key(), reloaded.public_key());
    assert_eq!(key.public_key().len(), 65);
    assert_eq!(key.public_key()[0], 0x04, "SEC1 uncompressed");

    let signature = key.sign_checkpoint(&checkpoint()).unwrap();
    assert_eq!(signature.len(), 64);
    assert!(verify_checkpoint(
        key.public_key(),
        &checkpoint(),
        &signature
    ));
    let by_reloaded = reloaded.sign_checkpoint(&checkpoint()).unwrap();
    assert!(verify_checkpoint(
        key.public_key(),
        &checkpoint(),
        &by_reloaded
    ));
}

#[test]
fn tampered_checkpoints_and_signatures_fail() {
    let key = BureauKey::from_pkcs8(&BureauKey::generate_pkcs8().unwrap()).unwrap();
    let signature = key.sign_checkpoint(&checkpoint()).unwrap();
    let public_key = key.public_key();

    let tampered = [
        Checkpoint {
            tree_size: 38,
            ..checkpoint()
        },
        Checkpoint {
            root: flip_bit(&checkpoint().root, 77),
            ..checkpoint()
        },
        Checkpoint {
            time_ms: checkpoint().time_ms + 1,
            ..checkpoint()
        },
    ];
    for changed in tampered {
        assert!(
            !verify_checkpoint(public_key, &changed, &signature),
            "{changed:?}"
        );
    }
    for bit in [0, 255, 256, 511] {
        let mut flipped = signature.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert!(
            !verify_checkpoint(public_key, &checkpoint(), &flipped),
            "bit {bit}"
        );
    }
    assert!(!verify_checkpoint(
        public_key,
        &checkpoint(),
        &signature[..63]
    ));

    let other = BureauKey::from_pkcs8(&BureauKey::generate_pkcs8().unwrap()).unwrap();
    assert!(!verify_checkpoint(
        other.public_key(),
        &checkpoint(),
        &signature
    ));
}

#[test]
fn a_damaged_key_document_is_refused() {
    let mut pkcs8 = BureauKey::generate_pkcs8().unwrap();
    let err = BureauKey::from_pkcs8(&pkcs8[..pkcs8.len() - 1]).unwrap_err();
    assert_eq!(err.code(), "invalid_bureau_key");
    let last = pkcs8.len() - 1;
    pkcs8[last] ^= 0x01; // corrupts the embedded public key
    assert_eq!(
        BureauKey::from_pkcs8(&pkcs8).unwrap_err().code(),
        "invalid_bureau_key"
    );
}

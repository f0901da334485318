"""RFC 9162 §2.1 (Merkle tree hashing, inclusion and consistency proofs), written
from the RFC text alone, not from the Rust code: the independent yardstick that the
bureau's custody log is checked against."""

import hashlib


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def split(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """§2.1.1 Merkle Tree Hash."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """§2.1.3.1 PATH(m, D_n)."""
    n = len(leaves)
    if n == 1:
        return []
    k = split(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """§2.1.4.1 SUBPROOF(m, D_n, b)."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def verify_inclusion(hash_: bytes, leaf_index: int, tree_size: int,
                     inclusion_path: list[bytes], root_hash: bytes) -> bool:
    """§2.1.3.2, step by step."""
    if leaf_index >= tree_size:  # 1
        return False
    fn, sn = leaf_index, tree_size - 1  # 2
    r = hash_  # 3
    for p in inclusion_path:  # 4
        if sn == 0:  # a
            return False
        if fn & 1 or fn == sn:  # b
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # c
        sn >>= 1
    return sn == 0 and r == root_hash  # 5


def verify_consistency(first: int, second: int, first_hash: bytes,
                       second_hash: bytes, consistency_path: list[bytes]) -> bool:
    """§2.1.4.2, step by step; defined for 0 < first < second."""
    assert 0 < first < second
    if not consistency_path:  # 1
        return False
    if first & (first - 1) == 0:  # 2
        consistency_path = [first_hash] + consistency_path
    fn, sn = first - 1, second - 1  # 3
    while fn & 1:  # 4
        fn >>= 1
        sn >>= 1
    fr = sr = consistency_path[0]  # 5
    for c in consistency_path[1:]:  # 6
        if sn == 0:  # a
            return False
        if fn & 1 or fn == sn:  # b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # c
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0  # 7

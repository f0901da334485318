"""Independent check of the bureau's custody log against RFC 9162 §2.1.

Everything here is written from the RFC text, not from the Rust code. The Rust
log is run through its `custody_log_dump` example: random leaves (fixed seed) go
in, the root, the leaf hashes and every inclusion and consistency proof come out
as JSON. This file recomputes the roots from the leaves, checks every proof with
its own verifiers (§2.1.3.2, §2.1.4.2), and compares every proof with the one its
own PATH and PROOF (§2.1.3.1, §2.1.4.1) produce."""

import hashlib
import json
import random
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LEAF_COUNT = 37
SEED = 9162


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


def flip_first_bit(hashes: list[bytes], i: int) -> list[bytes]:
    tampered = list(hashes)
    tampered[i] = bytes([tampered[i][0] ^ 0x01]) + tampered[i][1:]
    return tampered


def unhex(hashes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hashes]


@pytest.fixture(scope="module")
def leaves() -> list[bytes]:
    rng = random.Random(SEED)
    # The empty leaf first: a legal record of zero bytes must hash like any other.
    return [b""] + [rng.randbytes(rng.randrange(1, 200)) for _ in range(LEAF_COUNT - 1)]


@pytest.fixture(scope="module")
def roots(leaves) -> list[bytes]:
    """Our own MTH of every prefix, sizes 0..LEAF_COUNT."""
    return [mth(leaves[:n]) for n in range(LEAF_COUNT + 1)]


@pytest.fixture(scope="module")
def dump(leaves) -> dict:
    result = subprocess.run(
        ["cargo", "run", "-q", "-p", "fieldproof-bureau", "--example", "custody_log_dump"],
        cwd=REPO,
        input="".join(leaf.hex() + "\n" for leaf in leaves),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"custody_log_dump failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout)


def test_own_code_reproduces_the_rfc6962_reference_root():
    reference = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
                 bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
    assert mth(reference).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_root_and_leaf_hashes(dump, leaves, roots):
    assert dump["size"] == LEAF_COUNT
    assert dump["leaf_hashes"] == [leaf_hash(leaf).hex() for leaf in leaves]
    assert dump["root"] == roots[LEAF_COUNT].hex()


def test_every_inclusion_proof(dump, leaves, roots):
    expected = {(i, n) for n in range(1, LEAF_COUNT + 1) for i in range(n)}
    assert {(e["index"], e["tree_size"]) for e in dump["inclusion"]} == expected
    for entry in dump["inclusion"]:
        index, tree_size, proof = entry["index"], entry["tree_size"], unhex(entry["path"])
        case = f"index {index}, size {tree_size}"
        assert proof == path(index, leaves[:tree_size]), case
        hash_ = leaf_hash(leaves[index])
        assert verify_inclusion(hash_, index, tree_size, proof, roots[tree_size]), case
        for i in range(len(proof)):
            tampered = flip_first_bit(proof, i)
            assert not verify_inclusion(hash_, index, tree_size, tampered, roots[tree_size]), case


def test_every_consistency_proof(dump, leaves, roots):
    expected = {(m, n) for n in range(LEAF_COUNT + 1) for m in range(n + 1)}
    assert {(e["old"], e["new"]) for e in dump["consistency"]} == expected
    for entry in dump["consistency"]:
        old, new, proof = entry["old"], entry["new"], unhex(entry["proof"])
        case = f"old {old}, new {new}"
        if old == 0 or old == new:
            assert proof == [], f"{case}: nothing to prove"
            continue
        assert proof == subproof(old, leaves[:new], True), case
        assert verify_consistency(old, new, roots[old], roots[new], proof), case
        for i in range(len(proof)):
            tampered = flip_first_bit(proof, i)
            assert not verify_consistency(old, new, roots[old], roots[new], tampered), case

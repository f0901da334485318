"""Independent check of the bureau's custody log against RFC 9162 §2.1.

Everything here is written from the RFC text, not from the Rust code. The Rust
log is run through its `custody_log_dump` example: random leaves (fixed seed) go
in, the root, the leaf hashes and every inclusion and consistency proof come out
as JSON. This file recomputes the roots from the leaves, checks every proof with
its own verifiers (§2.1.3.2, §2.1.4.2), and compares every proof with the one its
own PATH and PROOF (§2.1.3.1, §2.1.4.1) produce."""

import json
import random
import subprocess
from pathlib import Path

import pytest

from rfc9162 import leaf_hash, mth, path, subproof, verify_consistency, verify_inclusion

REPO = Path(__file__).resolve().parents[2]
LEAF_COUNT = 37
SEED = 9162


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

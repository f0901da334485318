"""Checks a running bureau's custody log from the outside, with RFC 9162 code
written from the RFC (rfc9162.py) and the bureau's public key only.

    python3 check_bureau_log.py BUREAU_URL ADMIN_TOKEN

It downloads every logged record, recomputes each leaf hash and the root, checks
the bureau's signature on the latest checkpoint, verifies an inclusion proof for
every record and consistency proofs from every smaller size, and makes sure that
tampered proofs fail. Prints one summary line; exits non-zero on any failure.
Used by bureau/tests/custody_python.rs against a bureau it fills."""

import json
import struct
import sys
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from rfc9162 import leaf_hash, mth, verify_consistency, verify_inclusion

CHECKPOINT_CONTEXT = b"fieldproof-bureau/checkpoint/v1\x00"


def get(base: str, path: str, token: str | None = None):
    request = urllib.request.Request(base + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def checkpoint_bytes(tree_size: int, root: bytes, time_ms: int) -> bytes:
    """The 80-byte layout the bureau signs (README, custody log)."""
    return CHECKPOINT_CONTEXT + struct.pack(">Q", tree_size) + root + struct.pack(">q", time_ms)


def signature_ok(public_key: bytes, message: bytes, raw: bytes) -> bool:
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_key)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def tampered(proof: list[bytes]) -> list[bytes]:
    return [bytes([proof[0][0] ^ 1]) + proof[0][1:]] + proof[1:]


def main(base: str, admin_token: str) -> list[str]:
    failures = []
    public_key = bytes.fromhex(get(base, "/v1/bureau")["public_key"])
    checkpoint = get(base, "/v1/custody/checkpoint")
    size, root = checkpoint["tree_size"], bytes.fromhex(checkpoint["root"])
    records = []
    while len(records) < size:
        page = get(base, f"/v1/admin/custody/entries?start={len(records)}&limit=100", admin_token)
        if not page:
            break
        for entry in page:
            if entry["leaf_index"] != len(records):
                failures.append(f"entry {entry['leaf_index']} out of place")
            records.append(bytes.fromhex(entry["record"]))
    if len(records) != size:
        failures.append(f"{len(records)} records for a tree of {size}")
    if mth(records[:size]) != root:
        failures.append("root recomputed from the records differs from the checkpoint")
    message = checkpoint_bytes(size, root, checkpoint["time_ms"])
    signature = bytes.fromhex(checkpoint["signature"])
    if not signature_ok(public_key, message, signature):
        failures.append("checkpoint signature does not verify with the bureau key")
    if signature_ok(public_key, checkpoint_bytes(size + 1, root, checkpoint["time_ms"]), signature):
        failures.append("checkpoint signature verifies for another tree size")
    for index, record in enumerate(records):
        proof = get(base, f"/v1/custody/inclusion?leaf_index={index}&tree_size={size}")
        path = [bytes.fromhex(h) for h in proof["proof"]]
        if bytes.fromhex(proof["leaf_hash"]) != leaf_hash(record):
            failures.append(f"leaf {index}: leaf hash differs")
        if not verify_inclusion(leaf_hash(record), index, size, path, root):
            failures.append(f"leaf {index}: inclusion proof fails")
        if path and verify_inclusion(leaf_hash(record), index, size, tampered(path), root):
            failures.append(f"leaf {index}: tampered inclusion proof passes")
    for old in range(1, size):
        proof = get(base, f"/v1/custody/consistency?old_size={old}&new_size={size}")
        path = [bytes.fromhex(h) for h in proof["proof"]]
        if not verify_consistency(old, size, mth(records[:old]), root, path):
            failures.append(f"consistency {old} -> {size} fails")
        if verify_consistency(old, size, mth(records[:old]), root, tampered(path)):
            failures.append(f"tampered consistency {old} -> {size} passes")
    print(f"checked {len(records)} records, {size} inclusion proofs, {max(size - 1, 0)} consistency proofs:"
          f" {len(failures)} failures")
    return failures


if __name__ == "__main__":
    problems = main(sys.argv[1], sys.argv[2])
    for problem in problems:
        print("FAIL:", problem)
    sys.exit(1 if problems else 0)

"""An independent verifier of Fieldproof case files, written from
docs/evidence-bundle.md (not from the Rust code) with pycose, cbor2 and
cryptography. The Rust e2e test tests/e2e/tests/case_file.rs runs it on the good
and on every tampered case file and requires the same verdict and the same
failures (code and file) as `fieldproof verify`.

    python3 case_file_verifier.py CASE.zip --bureau-key bureau-key.hex

prints one JSON object {ok, failures: [{file, code, detail}], flags: [...]}
and exits 0 only when the case file passes."""

import argparse
import hashlib
import json
import math
import re
import stat
import struct
import sys
import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pycose.headers import KID
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import Sign1Message

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rfc9162 import leaf_hash, verify_inclusion  # noqa: E402

FORMAT = "fieldproof-case-file/v1"
MANIFEST, SIGNATURE, BUREAU_KEY = "manifest.json", "manifest.sig", "bureau-key.hex"
MANIFEST_CONTEXT = b"fieldproof-bureau/case-file-manifest/v1\0"
CHECKPOINT_CONTEXT = b"fieldproof-bureau/checkpoint/v1\0"
MAX_ENTRIES, MAX_ENTRY, MAX_TOTAL, MAX_RATIO = 200_000, 4 << 30, 64 << 30, 200
MANIFEST_FIELDS = {"format", "inspection_id", "amendment_line", "created_ms", "bureau_key_id",
                   "checkpoint", "files", "officers", "records", "omitted"}
GPX_NS = "http://www.topografix.com/GPX/1/1"
FIELDPROOF_NS = "https://fieldproof.org/xmlns/gpx/1"
MEDIA_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic"}
FAR_FROM_SITE_M = 500.0
TIME_WINDOW_SLACK_MS = 15 * 60 * 1000
CONTENT_FIELDS = ("amends_id", "answers", "checklist_id", "checklist_version", "county_code", "ended_at_ms",
                  "findings", "id", "matter", "officer_id", "responsible_party", "revision", "site",
                  "started_at_ms", "task_id", "township_code")


def content_sha256(inspection: dict) -> bytes:
    """SHA-256 of an inspection's canonical content (docs/evidence-bundle.md)."""
    kept = {k: inspection.get(k) for k in CONTENT_FIELDS}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return sha256(text.encode("utf-8"))


def distance_m(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance on the mean sphere: within 0.5 % of the WGS-84
    geodesic, which only matters metres from the 500 m threshold."""
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def e7(degrees: float) -> int:
    """Degrees × 10^7, rounded half away from zero (as the spec says)."""
    scaled = degrees * 1e7
    return int(math.floor(abs(scaled) + 0.5)) * (1 if scaled >= 0 else -1)


def seal(fixes) -> bytes:
    """The segment seal: SHA-256 over 21 big-endian bytes per fix."""
    h = hashlib.sha256()
    for time_ms, lat_e7, lon_e7, accuracy_mm, mock in fixes:
        h.update(struct.pack(">qiiiB", time_ms, lat_e7, lon_e7, -1 if accuracy_mm is None else accuracy_mm, mock))
    return h.digest()


def rfc3339_ms(text: str) -> int:
    when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return round(when.timestamp() * 1000)


def fixes_from_gpx(data: bytes):
    """One track of one segment; every point with a time."""
    root = ElementTree.fromstring(data)
    if root.tag != f"{{{GPX_NS}}}gpx":
        return None
    segments = root.findall(f"{{{GPX_NS}}}trk/{{{GPX_NS}}}trkseg")
    if len(root.findall(f"{{{GPX_NS}}}trk")) != 1 or len(segments) != 1:
        return None
    fixes = []
    for point in segments[0].findall(f"{{{GPX_NS}}}trkpt"):
        time = point.find(f"{{{GPX_NS}}}time")
        accuracy = point.find(f"{{{GPX_NS}}}extensions/{{{FIELDPROOF_NS}}}accuracy_m")
        mock = point.find(f"{{{GPX_NS}}}extensions/{{{FIELDPROOF_NS}}}mock")
        if time is None:
            return None
        fixes.append((rfc3339_ms(time.text), e7(float(point.get("lat"))), e7(float(point.get("lon"))),
                      None if accuracy is None else int(math.floor(float(accuracy.text) * 1000 + 0.5)),
                      mock is not None and mock.text.strip() == "true"))
    return fixes


def fixes_from_geojson(data: bytes):
    feature = json.loads(data)
    geometry, properties = feature["geometry"], feature["properties"]
    if geometry is None:
        positions = []
    elif geometry["type"] == "LineString":
        positions = geometry["coordinates"]
    elif geometry["type"] == "Point":
        positions = [geometry["coordinates"]]
    else:
        return None
    columns = [properties["time_ms"], properties["accuracy_mm"], properties["mock"]]
    if any(len(c) != len(positions) for c in columns):
        return None
    if not all(isinstance(m, bool) for m in columns[2]):
        return None
    return [(time, e7(lat), e7(lon), accuracy, mock)
            for (lon, lat), time, accuracy, mock in zip(positions, *columns)]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ecdsa_ok(public_sec1: bytes, message: bytes, raw_signature: bytes) -> bool:
    """ECDSA P-256 / SHA-256 over `message`, signature raw r || s."""
    if len(raw_signature) != 64:
        return False
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_sec1)
        r, s = int.from_bytes(raw_signature[:32], "big"), int.from_bytes(raw_signature[32:], "big")
        key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def cose_key(public_sec1: bytes) -> EC2Key:
    return EC2Key(crv=P256, x=public_sec1[1:33], y=public_sec1[33:65])


def decode_sign1(data: bytes) -> Sign1Message:
    """A tagged COSE_Sign1. cbor2 6 gives arrays as tuples, which pycose's own
    decode() does not take, so the envelope is decoded here and handed over."""
    tagged = cbor2.loads(data)
    if not isinstance(tagged, cbor2.CBORTag) or tagged.tag != 18:
        raise ValueError("not a tagged COSE_Sign1")
    items = [dict(item) if isinstance(item, Mapping) else item for item in tagged.value]
    return Sign1Message.from_cose_obj(items, True)


def open_sign1(data: bytes, public_sec1: bytes):
    """(message, payload map) of a COSE_Sign1 signed by `public_sec1`, or None."""
    try:
        message = decode_sign1(data)
        message.key = cose_key(public_sec1)
        if not message.verify_signature():
            return None
        return message, cbor2.loads(message.payload)
    except Exception:  # any malformed input is simply not a valid message
        return None


def safe_name(name: str) -> bool:
    name = name[:-1] if name.endswith("/") else name
    return (bool(name) and not name.startswith("/") and "\\" not in name and ":" not in name
            and not any(ord(c) < 32 or ord(c) == 127 for c in name)
            and all(part not in ("", ".", "..") for part in name.split("/")))


class Verifier:
    def __init__(self, path: Path, key: bytes | None, key_id: bytes | None):
        self.path, self.key_given, self.key_id_given = path, key, key_id
        self.failures, self.flags = [], []
        self.intact = set()

    def fail(self, file, code, detail=""):
        self.failures.append({"file": file, "code": code, "detail": detail})

    def flag(self, file, code, detail=""):
        self.flags.append({"file": file, "code": code, "detail": detail})

    # 1. the archive
    def open(self):
        data = self.path.read_bytes()
        try:
            self.zip = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile:
            self.fail("", "truncated_archive" if data[:4] == b"PK\x03\x04" else "not_a_zip")
            return False
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            self.fail("", "too_many_entries")
            return False
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            self.fail("", "duplicate_entry")
            return False
        total = 0
        for info in infos:
            name = info.filename
            if not safe_name(name):
                return self.fail(name, "unsafe_entry_name") or False
            if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
                return self.fail(name, "symlink_entry") or False
            if info.flag_bits & 0x1:
                return self.fail(name, "encrypted_entry") or False
            if info.compress_type == zipfile.ZIP_DEFLATED:
                if info.file_size > max(info.compress_size, 1) * MAX_RATIO and info.file_size > 1 << 20:
                    return self.fail(name, "compression_ratio") or False
            elif info.compress_type != zipfile.ZIP_STORED:
                return self.fail(name, "unsupported_compression") or False
            total += info.file_size
            if info.file_size > MAX_ENTRY or total > MAX_TOTAL:
                return self.fail(name, "entry_too_large") or False
        self.files = {i.filename: i for i in infos if not i.is_dir()}
        return True

    def read(self, name):
        if name not in self.files:
            self.fail(name, "file_missing")
            return None
        try:
            return self.zip.read(name)
        except Exception as e:  # CRC or data errors
            self.fail(name, "file_unreadable", str(e))
            return None

    def run(self):
        if not self.open():
            return
        manifest_bytes = self.read(MANIFEST)
        if manifest_bytes is None:
            return
        try:
            manifest = json.loads(manifest_bytes)
            assert isinstance(manifest, dict) and set(manifest) == MANIFEST_FIELDS
        except (ValueError, AssertionError):
            return self.fail(MANIFEST, "manifest_invalid")
        if manifest["format"] != FORMAT:
            return self.fail(MANIFEST, "unsupported_format")
        key = self.bureau_key(manifest)
        if key is None:
            return
        signature = self.read(SIGNATURE)
        if signature is not None and not ecdsa_ok(key, MANIFEST_CONTEXT + sha256(manifest_bytes), signature):
            self.fail(SIGNATURE, "manifest_signature_invalid")
        self.check_files(manifest)
        self.check_checkpoint(manifest["checkpoint"], key)
        certificates = self.certificates(key)
        records = self.records(manifest)
        self.chains(manifest, certificates, records)
        revisions = self.revisions(manifest)
        self.against_case(manifest, records, revisions)

    # 3. the bureau key
    def bureau_key(self, manifest):
        text = self.read(BUREAU_KEY)
        if text is None:
            return None
        try:
            key = bytes.fromhex(text.decode().strip())
            assert len(key) == 65 and key[0] == 4
        except (ValueError, UnicodeDecodeError, AssertionError):
            self.fail(BUREAU_KEY, "bureau_key_invalid")
            return None
        given_ok = key == self.key_given if self.key_given is not None else sha256(key) == self.key_id_given
        if not given_ok:
            self.fail(BUREAU_KEY, "bureau_key_mismatch")
            return None
        if manifest["bureau_key_id"] != sha256(key).hex():
            self.fail(MANIFEST, "bureau_key_mismatch")
        return key

    # 5. every file
    def check_files(self, manifest):
        listed = {f["path"]: f for f in manifest["files"]}
        if len(listed) != len(manifest["files"]):
            self.fail(MANIFEST, "manifest_invalid")
        for name in sorted(self.files):
            if name not in (MANIFEST, SIGNATURE) and name not in listed:
                self.fail(name, "file_not_in_manifest")
        for entry in manifest["files"]:
            data = self.read(entry["path"]) if entry["path"] in self.files else None
            if entry["path"] not in self.files:
                self.fail(entry["path"], "file_missing")
            elif data is not None:
                if len(data) == entry["size"] and sha256(data).hex() == entry["sha256"]:
                    self.intact.add(entry["path"])
                else:
                    self.fail(entry["path"], "file_hash_mismatch")

    # 6. the checkpoint
    def check_checkpoint(self, cp, key):
        message = (CHECKPOINT_CONTEXT + cp["tree_size"].to_bytes(8, "big") + bytes.fromhex(cp["root"])
                   + cp["time_ms"].to_bytes(8, "big", signed=True))
        if not ecdsa_ok(key, message, bytes.fromhex(cp["signature"])):
            self.fail(MANIFEST, "checkpoint_signature_invalid")

    # 7. certificates
    def certificates(self, key):
        out = {}
        for name in sorted(n for n in self.files if n.startswith("certificates/")):
            data = self.read(name)
            opened = open_sign1(data, key) if data is not None else None
            cert = opened[1] if opened else None
            valid = (isinstance(cert, dict) and cert.get("v") == 1 and isinstance(cert.get("public_key"), bytes)
                     and cert.get("key_id") == sha256(cert["public_key"]))
            if not valid:
                self.fail(name, "certificate_invalid")
            elif name != f"certificates/{cert['device_id']}.cose":
                self.fail(name, "certificate_misplaced")
            else:
                out[cert["device_id"]] = cert
        return out

    # 8. records
    def records(self, manifest):
        cp = manifest["checkpoint"]
        size, root = cp["tree_size"], bytes.fromhex(cp["root"])
        listed = {r["path"] for r in manifest["records"]}
        for name in sorted(self.files):
            if name.startswith("records/") and name not in listed:
                self.fail(name, "record_not_listed")
        leaves, out = set(), {}
        for entry in manifest["records"]:
            if entry["seq"] < 1 or entry["path"] != f"records/{entry['device_id']}/{entry['seq']:012d}.cose":
                self.fail(entry["path"], "record_misplaced")
                continue
            data = self.read(entry["path"])
            if data is None:
                continue
            if entry["leaf_index"] in leaves:
                self.fail(entry["path"], "duplicate_record")
            leaves.add(entry["leaf_index"])
            proof = [bytes.fromhex(h) for h in entry["inclusion_proof"]]
            if not verify_inclusion(leaf_hash(data), entry["leaf_index"], size, proof, root):
                self.fail(entry["path"], "not_included")
            key = (entry["device_id"], entry["seq"])
            if key in out:
                self.fail(entry["path"], "duplicate_record")
            out[key] = (entry, data)
        for o in manifest["omitted"]:
            if o["leaf_index"] in leaves:
                self.fail(MANIFEST, "duplicate_record")
            leaves.add(o["leaf_index"])
            proof = [bytes.fromhex(h) for h in o["inclusion_proof"]]
            if not verify_inclusion(bytes.fromhex(o["leaf_hash"]), o["leaf_index"], size, proof, root):
                self.fail(MANIFEST, "not_included")
        return out

    # 9. chains
    def chains(self, manifest, certificates, records):
        omitted = {}
        for o in manifest["omitted"]:
            key = (o["device_id"], o["seq"])
            if key in records or key in omitted:
                self.fail(MANIFEST, "duplicate_record")
            omitted[key] = o
        for device in sorted({d for d, _ in records}):
            cert = certificates.get(device)
            if cert is None:
                self.fail(f"certificates/{device}.cose", "unknown_signer")
                continue
            seqs = [s for d, s in records if d == device]
            first, last = min(seqs), max(seqs)
            # Only the named seqs are walked: a hostile manifest may claim 1 and 2**60.
            named = sorted({s for d, s in list(records) + list(omitted) if d == device and first <= s <= last})
            head = None  # (public key, seq, payload hash)
            expected = first
            for seq in named:
                if seq > expected:
                    self.fail(MANIFEST, "chain_gap")
                    head = None
                expected = seq + 1
                if (device, seq) in records:
                    entry, data = records[(device, seq)]
                    head = self.judge(entry["path"], data, head or self.start(cert, data, seq))
                else:
                    key = head[0] if head else cert["public_key"]
                    head = (key, seq, bytes.fromhex(omitted[(device, seq)]["payload_sha256"]))

    @staticmethod
    def start(cert, data, seq):
        try:
            prev = cbor2.loads(decode_sign1(data).payload).get("prev")
        except Exception:
            prev = None
        return (cert["public_key"], seq - 1, prev)

    def judge(self, path, data, head):
        public_key, head_seq, head_hash = head
        try:
            message = decode_sign1(data)
            payload = cbor2.loads(message.payload)
            assert isinstance(payload, dict) and isinstance(payload.get("seq"), int)
        except Exception:
            self.fail(path, "record_undecodable")
            return None
        kid = sha256(public_key)
        message.key = cose_key(public_key)
        try:
            signed = message.uhdr.get(KID) == kid and payload.get("kid") == kid and message.verify_signature()
        except Exception:
            signed = False
        if not signed:
            self.fail(path, "record_signature_invalid")
            return None
        if payload["seq"] != head_seq + 1 or payload.get("prev") != head_hash:
            self.fail(path, "chain_broken")
            return None
        if payload.get("kind") == "key_rotation":
            public_key = payload["new_key"]
        return (public_key, payload["seq"], sha256(message.payload))

    # 10. revisions
    def revisions(self, manifest):
        out = []
        for i, inspection_id in enumerate(manifest["amendment_line"], start=1):
            path = f"inspection/revisions/{i:02d}-{inspection_id}.json"
            data = self.read(path)
            if data is None:
                continue
            try:
                revision = json.loads(data)
                assert isinstance(revision, dict) and isinstance(revision.get("site"), dict)
            except (ValueError, AssertionError):
                self.fail(path, "inspection_invalid")
                continue
            if revision.get("id") != inspection_id:
                self.fail(path, "inspection_mismatch")
            else:
                out.append(revision)
        if not manifest["amendment_line"] or manifest["amendment_line"][-1] != manifest["inspection_id"]:
            self.fail(MANIFEST, "manifest_invalid")
        return out

    # 11. records against the case
    def against_case(self, manifest, records, revisions):
        files = {f["path"]: f for f in manifest["files"]}
        line = set(manifest["amendment_line"])
        checked_tracks = set()
        for (device, seq), (entry, data) in sorted(records.items()):
            try:
                payload = cbor2.loads(decode_sign1(data).payload)
            except Exception:
                continue
            kind = payload.get("kind")
            if kind in ("capture", "import", "acknowledgement"):
                media = payload["media"]
                path = f"media/{media['sha256'].hex()}.{MEDIA_EXT.get(media['mime'], 'bin')}"
                listed = files.get(path)
                if listed is None:
                    self.fail(entry["path"], "media_missing")
                elif listed["sha256"] != media["sha256"].hex() or listed["size"] != media["size"]:
                    self.fail(path, "media_mismatch")
            if kind in ("capture", "import", "note", "acknowledgement"):
                if (payload.get("context") or {}).get("inspection") not in line:
                    self.fail(entry["path"], "record_outside_case")
            if kind == "track_segment":
                checked_tracks |= self.track_files(device, seq, payload["segment"])
            self.flags_for(entry["path"], payload, revisions)
        for name in sorted(self.files):
            if name.startswith("tracks/") and name not in checked_tracks:
                self.fail(name, "track_file_unmatched")

    def track_files(self, device, seq, segment):
        """The segment's GPX and GeoJSON, where present, recompute its seal."""
        checked = set()
        for ext, read_fixes in (("gpx", fixes_from_gpx), ("geojson", fixes_from_geojson)):
            path = f"tracks/{device}/{seq:012d}.{ext}"
            if path not in self.files:
                continue
            checked.add(path)
            data = self.read(path)
            if data is None:
                continue
            try:
                fixes = read_fixes(data)
            except Exception:
                fixes = None
            if fixes is None:
                self.fail(path, "track_file_invalid")
            elif len(fixes) != segment["point_count"] or seal(fixes) != segment["points_sha256"]:
                self.fail(path, "track_points_mismatch")
        return checked

    def flags_for(self, path, payload, revisions):
        """What a reviewer must see; flags, not failures."""
        if not revisions:
            return
        latest = revisions[-1]
        if payload.get("kind") == "acknowledgement":
            hashes = [content_sha256(r) for r in revisions]
            if payload["acknowledgement"]["inspection_sha256"] != hashes[-1]:
                self.flag(path, "acknowledgement_outdated")
        fix = payload.get("fix")
        if fix:
            if fix.get("mock") is True:
                self.flag(path, "mock_location")
            site = latest["site"]
            if distance_m(fix["lat_e7"] / 1e7, fix["lon_e7"] / 1e7, site["lat"], site["lon"]) > FAR_FROM_SITE_M:
                self.flag(path, "far_from_site")
        if payload.get("kind") in ("capture", "import", "acknowledgement"):
            start = min(r["started_at_ms"] for r in revisions)
            ends = [r["ended_at_ms"] for r in revisions if r.get("ended_at_ms") is not None]
            wall = payload["wall_ms"]
            if wall < start - TIME_WINDOW_SLACK_MS or (ends and wall > max(ends) + TIME_WINDOW_SLACK_MS):
                self.flag(path, "outside_time_window")


def verify(path: Path, key: bytes | None = None, key_id: bytes | None = None) -> dict:
    verifier = Verifier(path, key, key_id)
    verifier.run()
    return {"ok": not verifier.failures, "failures": verifier.failures, "flags": verifier.flags}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case_file", type=Path)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--bureau-key", type=Path)
    group.add_argument("--bureau-key-id")
    args = parser.parse_args()
    if args.bureau_key:
        report = verify(args.case_file, key=bytes.fromhex(args.bureau_key.read_text().strip()))
    else:
        report = verify(args.case_file, key_id=bytes.fromhex(args.bureau_key_id))
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Case files through the Python bindings and the CLI: a case synced to a real
bureau on loopback is taken out with `fieldproof admin inspections bundle`
(over HTTPS, pinned) and verified offline by `verify_case_file` — as a
reviewer's tablet app would — and by `fieldproof verify`."""

import json
import subprocess

import pytest

from bureau import bureau  # noqa: F401  (the module's bureau fixture)
from fieldproof_ffi import BureauSync, FieldproofError, InspectionStore, verify_case_file
from test_sync import field_work, sync_until_done


@pytest.fixture
def case_file(tmp_path, bureau):
    store = InspectionStore.open(str(tmp_path / "device.db"))
    sync = BureauSync(store)
    sync.enroll(bureau.url, bureau.enrollment_code(), bureau.tls_pin)
    inspection_id, photo = field_work(store)
    sync_until_done(sync)
    path = tmp_path / "case.zip"
    written = bureau.admin("inspections", "bundle", inspection_id, "-o", str(path))
    assert written["bytes"] == path.stat().st_size > photo.size
    return inspection_id, photo, path


def key_bytes(bureau):
    return (bureau.data / "bureau-key.hex").read_bytes()


def test_a_case_file_verifies_offline_through_the_bindings(case_file, bureau, tmp_path):
    inspection_id, photo, path = case_file
    report = verify_case_file(str(path), key_bytes(bureau), None)
    assert report.ok, report.failures
    assert report.inspection_id == inspection_id
    assert [item.kind for item in report.items] == ["capture"]
    assert report.items[0].intact and report.items[0].media.startswith(f"media/{photo.sha256}")
    assert len(report.signers) == 1 and report.signers[0].jurisdiction == "430121"
    assert report.limits, "a report always says what a pass does not prove"

    by_id = verify_case_file(str(path), None, report.bureau_key_id)
    assert by_id.ok

    tampered = tmp_path / "tampered.zip"
    data = bytearray(path.read_bytes())
    at = data.find(bytes.fromhex("ffd8ffe1"))  # the photo's first bytes, stored uncompressed
    assert at > 0
    data[at + 2000] ^= 0x01
    tampered.write_bytes(bytes(data))
    report = verify_case_file(str(tampered), key_bytes(bureau), None)
    assert not report.ok
    # A bit flipped in the zip on disk: the entry's CRC no longer holds.
    assert [(f.code, f.file) for f in report.failures] == [("file_unreadable", report.items[0].media)], report.failures
    assert not report.items[0].intact


def test_bad_keys_and_missing_files_are_errors_with_codes(case_file, bureau, tmp_path):
    _, _, path = case_file
    with pytest.raises(FieldproofError.InvalidInput) as err:
        verify_case_file(str(path), None, None)
    assert err.value.code == "invalid_field"
    with pytest.raises(FieldproofError.InvalidInput):
        verify_case_file(str(path), b"not a key", None)
    with pytest.raises(FieldproofError.Storage) as err:
        verify_case_file(str(tmp_path / "absent.zip"), key_bytes(bureau), None)
    assert err.value.code == "io_error"


def test_the_cli_verifier_exits_0_only_on_a_pass(case_file, bureau, tmp_path):
    _, _, path = case_file
    key = bureau.data / "bureau-key.hex"

    def run(zip_path):
        return subprocess.run(
            [str(bureau.binary), "verify", str(zip_path), "--bureau-key", str(key), "--json"],
            capture_output=True, text=True, timeout=60,
        )

    good = run(path)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["ok"] is True
    text = subprocess.run([str(bureau.binary), "verify", str(path), "--bureau-key", str(key)],
                          capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and "PASS" in text.stdout and "What a pass does not prove" in text.stdout

    cut = tmp_path / "cut.zip"
    cut.write_bytes(path.read_bytes()[:1000])
    bad = run(cut)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["failures"][0]["code"] == "truncated_archive"

    missing = run(tmp_path / "absent.zip")
    assert missing.returncode == 4 and "cannot_read" in missing.stderr


def signature_png() -> bytes:
    """A PNG of signature strokes (240 x 80 greyscale), as a signing pad gives it."""
    import math
    import struct
    import zlib

    rows = b"".join(
        b"\0" + bytes(0 if abs(y - (40 + 25 * math.sin(x / 18))) < 2.5 else 255 for x in range(240))
        for y in range(80)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 240, 80, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_an_acknowledgement_travels_into_the_case_file(tmp_path, bureau):
    from fieldproof_ffi import AcknowledgementInput, CaptureContext, CaptureSource, SignerRole

    store = InspectionStore.open(str(tmp_path / "device.db"))
    sync = BureauSync(store)
    sync.enroll(bureau.url, bureau.enrollment_code(), bureau.tls_pin)
    inspection_id, _ = field_work(store)
    context = CaptureContext(source=CaptureSource.CAMERA, inspection_id=None, task_id=None, officer_id=None,
                             monotonic_ms=None, boot_id=None, app_version="python-test")
    png = signature_png()
    ack = store.acknowledge(inspection_id, AcknowledgementInput(role=SignerRole.PARTY, name="张三", refused=False,
                                                               image_png=png), None, context)
    assert ack.role == SignerRole.PARTY and len(ack.inspection_sha256) == 64
    with pytest.raises(FieldproofError.InvalidInput) as err:
        store.acknowledge(inspection_id, AcknowledgementInput(role=SignerRole.PARTY, name=None, refused=True,
                                                              image_png=png), None, context)
    assert err.value.code == "invalid_field"
    sync_until_done(sync)
    path = tmp_path / "case.zip"
    bureau.admin("inspections", "bundle", inspection_id, "-o", str(path))
    report = verify_case_file(str(path), key_bytes(bureau), None)
    assert report.ok, report.failures
    acks = [item for item in report.items if item.kind == "acknowledgement"]
    assert len(acks) == 1 and acks[0].media == f"media/{ack.image_sha256}.png" and acks[0].intact
    # Acknowledged after submission: it binds the submitted content, so nothing is flagged.
    assert all(f.code != "acknowledgement_outdated" for f in report.flags), report.flags

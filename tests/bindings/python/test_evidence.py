"""Photo evidence through the Python bindings, with an independent COSE
implementation (pycose) verifying what the core signed."""

import cbor2
import pytest
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import Sign1Message

from fieldproof_ffi import (
    CaptureContext,
    CaptureSource,
    Datum,
    Derivative,
    FieldproofError,
    Fix,
    InspectionStore,
    PhotoInput,
)
from support import corpus


def context(source=CaptureSource.CAMERA):
    return CaptureContext(
        source=source,
        inspection_id=None,
        task_id=None,
        officer_id="officer-17",
        monotonic_ms=1_000_000,
        boot_id="boot-py",
        app_version="python-test",
    )


@pytest.fixture
def store(tmp_path):
    return InspectionStore.open(str(tmp_path / "device.db"))


def decode_sign1(signed: bytes) -> Sign1Message:
    """pycose's own decoder trips over the frozendict current cbor2 returns for a
    map inside a tag; unwrap the tag here and let pycose do the rest (the
    Sig_structure and the ES256 verification)."""
    tagged = cbor2.loads(signed)
    assert tagged.tag == 18, "a tagged COSE_Sign1"
    protected, unprotected, payload, signature = tagged.value
    return Sign1Message.from_cose_obj([protected, dict(unprotected), payload, signature], True)


def device_key(store) -> EC2Key:
    public = store.device_public_key()
    assert len(public) == 65 and public[0] == 4
    return EC2Key(crv=P256, x=public[1:33], y=public[33:])


def test_capture_and_independent_cose_verification(store):
    path = corpus() / "photos" / "camera" / "nikon_coolpix_p6000_gps_DSCN0010.jpg"
    fix = Fix(lat=43.4674, lon=11.8851, datum=Datum.WGS84, accuracy_m=6.0, altitude_m=None, speed_mps=None, bearing_deg=None, time_ms=1_790_000_000_000, provider="gps", mock=False)
    photo = store.capture_photo(PhotoInput.PATH(str(path)), fix, context())
    assert (photo.width, photo.height, photo.thumbnail) == (640, 480, Derivative.OK)
    assert abs(photo.exif_position.lat - 43.46745) < 1e-4
    assert store.thumbnail(photo.id)[:2] == b"\xff\xd8"

    signed = store.evidence_record(photo.record_seq)
    message = decode_sign1(signed)
    message.key = device_key(store)
    assert message.verify_signature(), "pycose verifies the core's ES256 signature"
    payload = cbor2.loads(message.payload)
    assert payload["seq"] == photo.record_seq and payload["kind"] == "capture"
    assert payload["media"]["sha256"].hex() == photo.sha256
    assert payload["media"]["size"] == path.stat().st_size
    assert payload["fix"]["lat_e7"] == 434674000
    # Deterministic CBOR: re-encoding the decoded payload canonically gives the same bytes.
    assert cbor2.dumps(payload, canonical=True) == message.payload

    tampered = bytearray(signed)
    index = tampered.find(bytes.fromhex(photo.sha256))
    tampered[index] ^= 0x01
    bad = decode_sign1(bytes(tampered))
    bad.key = device_key(store)
    assert not bad.verify_signature(), "a flipped bit in the payload breaks the signature"


def test_bytes_import_notes_and_verification(store):
    data = (corpus() / "photos" / "odd" / "truncated_progressive.jpg").read_bytes()
    photo = store.capture_photo(PhotoInput.BYTES(data), None, context(CaptureSource.IMPORT))
    assert photo.thumbnail == Derivative.UNAVAILABLE and photo.warnings
    assert store.preview(photo.id) is None
    seq = store.record_note("现场有人阻挠取证", context())
    assert seq == photo.record_seq + 1
    assert store.record_app_start(context()) == seq + 1
    report = store.verify_evidence()
    assert (report.records, report.photos, report.failures) == (3, 1, [])
    assert store.prepare_previews(1000).remaining == 0
    scan = store.scan_media()
    assert scan.orphans == [] and scan.temp_files_removed == 0


def test_non_images_are_refused_and_nothing_is_recorded(store):
    with pytest.raises(FieldproofError.InvalidInput) as err:
        store.capture_photo(PhotoInput.BYTES(b"GIF89a is not a camera format we take"), None, context())
    assert err.value.code == "unsupported_media"
    with pytest.raises(FieldproofError.NotFound):
        store.evidence_record(1)
    with pytest.raises(FieldproofError.InvalidInput) as err:
        store.capture_photo(PhotoInput.PATH("/x.jpg"), Fix(lat=float("nan"), lon=0.0, datum=Datum.WGS84, accuracy_m=None, altitude_m=None, speed_mps=None, bearing_deg=None, time_ms=1_790_000_000_000, provider="gps", mock=False), context())
    assert err.value.code == "invalid_coordinate"
    assert store.verify_evidence().records == 0

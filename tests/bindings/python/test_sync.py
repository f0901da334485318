"""Sync with a real bureau on loopback through the Python bindings: the built-in
transport and a Python one (urllib), progress, interrupts from another thread, an
unreachable bureau and a revoked device."""

import base64
import hashlib
import http.client
import socket
import sqlite3
import ssl
import threading
import time
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bureau import Bureau, bureau  # noqa: F401  (the module's bureau fixture)
from fieldproof_ffi import (
    Answer,
    AnswerValue,
    BureauSync,
    CaptureContext,
    CaptureSource,
    Datum,
    DraftFields,
    ErrorClass,
    FieldproofError,
    GeoPoint,
    HttpHeader,
    HttpResponse,
    InspectionStore,
    OpState,
    PhotoInput,
    Progress,
    Status,
    SyncListener,
    SyncOptions,
    TaskState,
    Transport,
    TransportError,
    UploadState,
)
from support import corpus

TIMEOUT_MS = 60_000
SMALL_PHOTO = "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg"  # one tus request
LARGE_PHOTO = "photos/camera/canon_sx60_orient6.jpg"  # creation + PATCH chunks


def yes(item):
    return Answer(item_id=item, value=AnswerValue.YES_NO(True))


def field_work(store, photo=SMALL_PHOTO):
    """A submitted straw-burning inspection with one corpus photo, recorded offline."""
    fields = DraftFields(
        township_code="430121101",
        county_code=None,
        site=GeoPoint(lat=28.25, lon=113.08, datum=Datum.WGS84),
        address="黄花镇村口",
        task_id=None,
        officer_id="officer-py",
        started_at_ms=1_790_000_000_000,
        ended_at_ms=None,
        findings="",
        responsible_party=None,
    )
    answers = [yes(i) for i in ("fire_on_arrival", "extinguished", "responsible_party_identified", "warning_issued")]
    answers += [
        Answer(item_id="burned_area_mu", value=AnswerValue.NUMBER(1.5)),
        Answer(item_id="material", value=AnswerValue.CHOICE("rice_straw")),
    ]
    inspection = store.create_draft("straw_burning", fields, answers)
    context = CaptureContext(
        source=CaptureSource.CAMERA,
        inspection_id=inspection.id,
        task_id=None,
        officer_id="officer-py",
        monotonic_ms=None,
        boot_id=None,
        app_version="python-sync-test",
    )
    captured = store.capture_photo(PhotoInput.PATH(str(corpus() / photo)), None, context)
    store.submit(inspection.id)
    return inspection.id, captured


def sync_until_done(sync, calls=5):
    """Calls sync_once until no work is left (at most `calls` times); the reports."""
    reports = []
    for _ in range(calls):
        report = sync.sync_once(TIMEOUT_MS)
        reports.append(report)
        assert report.last_error is None, report
        if report.work_left.ops == 0 and report.work_left.uploads == 0:
            return reports
    pytest.fail(f"work still left after {calls} calls: {reports[-1]}")


def assert_delivered(store, inspection_id, photo):
    """The inspection applied, the photo held complete, its record's receipt verified."""
    status = store.inspection_sync(inspection_id)
    assert status.state == OpState.APPLIED and status.reason is None, status
    photo_sync = store.photo_sync(photo.id)
    assert photo_sync.upload == UploadState.COMPLETE, photo_sync
    assert photo_sync.uploaded_bytes == photo_sync.size == photo.size
    assert photo_sync.photo_op.state == OpState.APPLIED and photo_sync.record_op.state == OpState.APPLIED
    receipt = store.receipt(photo.record_seq)
    assert receipt is not None and len(receipt.checkpoint.root) == 32
    assert all(len(step) == 32 for step in receipt.inclusion_proof)
    verified = store.verify_receipts()
    assert verified.receipts >= 1 and verified.failures == [], verified
    checkpoint = store.latest_checkpoint()
    assert checkpoint is not None and checkpoint.tree_size > receipt.leaf_index
    assert len(checkpoint.signature) == 64


class Recorder(SyncListener):
    """Keeps every progress event; `then` runs on the first one."""

    def __init__(self, then=None):
        self.events = []
        self.then = then

    def on_progress(self, progress):
        self.events.append(progress)
        if self.then is not None and len(self.events) == 1:
            self.then()


class UrllibTransport(Transport):
    """The platform's HTTP stack, as an app would plug in its own: Python's urllib,
    holding the bureau to the request's TLS pin before anything is sent."""

    def __init__(self):
        self.requests = []

    def send(self, request):
        self.requests.append((request.method, request.url))
        body = bytes(request.body) if request.body or request.method in ("POST", "PATCH", "PUT") else None
        outgoing = urllib.request.Request(request.url, data=body, method=request.method)
        for header in request.headers:
            outgoing.add_header(header.name, header.value)
        opener = urllib.request.build_opener(PinnedHttps(request.tls_pin))
        try:
            with opener.open(outgoing, timeout=request.timeout_ms / 1000) as answer:
                return response(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as refused:  # 4xx/5xx are answers, not failures
            return response(refused.code, refused.headers, refused.read())
        except urllib.error.URLError as err:
            if isinstance(err.reason, PinMismatch):
                raise TransportError.PinMismatch()
            if isinstance(err.reason, TimeoutError):
                raise TransportError.Timeout(str(err.reason))
            raise TransportError.Offline(str(err.reason))
        except TimeoutError as err:
            raise TransportError.Timeout(str(err))
        except OSError as err:  # refused, reset, cut mid-answer
            raise TransportError.Offline(str(err))


class PinMismatch(OSError):
    """The server's key is not the pinned one."""


def spki_pin(certificate_der):
    """`sha256/` + base64 SHA-256 of a certificate's SubjectPublicKeyInfo."""
    key = x509.load_der_x509_certificate(certificate_der).public_key()
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256/" + base64.b64encode(hashlib.sha256(spki).digest()).decode()


class PinnedHttps(urllib.request.HTTPSHandler):
    """HTTPS that checks the server's key against `pin` right after the handshake,
    before the request goes out; the CA chain and host name are not consulted."""

    def __init__(self, pin):
        context = ssl.create_default_context()
        if pin is not None:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        super().__init__(context=context)
        self.pin = pin

    def https_open(self, req):
        pin = self.pin

        class Connection(http.client.HTTPSConnection):
            def connect(self):
                super().connect()
                if pin is not None and spki_pin(self.sock.getpeercert(binary_form=True)) != pin:
                    self.sock.close()
                    raise PinMismatch("the server's TLS key is not the pinned one")

        return self.do_open(Connection, req, context=self._context)


def response(status, headers, body):
    return HttpResponse(status=status, headers=[HttpHeader(name=k, value=v) for k, v in headers.items()], body=body)


class FailingTransport(Transport):
    """A platform stack that never gets an answer."""

    def __init__(self, error):
        self.error = error
        self.calls = 0

    def send(self, request):
        self.calls += 1
        raise self.error


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"https://127.0.0.1:{port}"


@pytest.fixture
def store(tmp_path):
    return InspectionStore.open(str(tmp_path / "device.db"))


def test_built_in_transport_enrolls_and_syncs_until_nothing_is_left(store, bureau):
    with pytest.raises(FieldproofError.InvalidState) as err:
        BureauSync(store).sync_once(TIMEOUT_MS)
    assert err.value.code == "not_enrolled"
    assert store.enrollment() is None

    listener = Recorder()
    sync = BureauSync(store, listener=listener)
    enrollment = sync.enroll(bureau.url, bureau.enrollment_code(), bureau.tls_pin)
    assert (enrollment.server_url, enrollment.jurisdiction, enrollment.role) == (bureau.url, "430121", "township_staff")
    assert len(enrollment.bureau_public_key) == 65 and enrollment.certificate
    assert store.enrollment() == enrollment

    inspection_id, photo = field_work(store)
    assert store.inspection_sync(inspection_id).state == OpState.PENDING
    assert store.photo_sync(photo.id).upload == UploadState.NOT_STARTED
    task = bureau.admin("tasks", "create", "--jurisdiction", "430121", "--title", "核查卫星火点", "--lat", "28.25", "--lon", "113.08")

    reports = sync_until_done(sync)
    # The inspection, the photo's record, its photo.upload, and a task.state
    # (received) for each task pulled: the one made above, and any an earlier
    # test of this module's bureau made for the county.
    assert sum(r.ops_pushed for r in reports) == 3 + len(store.tasks())
    assert sum(r.receipts for r in reports) >= 1
    assert sum(r.bytes_uploaded for r in reports) == photo.size
    assert sum(r.records_pulled for r in reports) >= 1  # the task at least
    last = reports[-1]
    assert not last.cancelled and last.next_attempt_ms is None
    assert_delivered(store, inspection_id, photo)
    assert task["id"] in [t.id for t in store.tasks()]

    assert any(e.is_PUSHED() and e.ops > 0 for e in listener.events), listener.events
    assert any(e.is_PULLED() for e in listener.events), listener.events
    uploads = [e for e in listener.events if e.is_UPLOADING() and e.role == "original"]
    assert uploads[-1].photo_id == photo.id and uploads[-1].sent == uploads[-1].size == photo.size

    # The bureau's review comes back by pull.
    bureau.admin("review", "accept", inspection_id, "--comment", "证据齐全")
    again = sync.sync_once(TIMEOUT_MS)
    assert again.ops_pushed == 0 and again.bytes_uploaded == 0 and again.records_pulled >= 1
    review = store.review(inspection_id)
    assert review.decision == Status.ACCEPTED and review.comment == "证据齐全"
    assert store.get_inspection(inspection_id).status == Status.ACCEPTED

    # The task was taken in when pulled; declining it needs a reason, and the
    # dispatcher sees it declined after the next sync.
    assert store.task_progress(task["id"]).state == TaskState.RECEIVED
    with pytest.raises(FieldproofError.InvalidInput) as err:
        store.decline_task(task["id"], "  ")
    assert err.value.code == "invalid_field"
    declined = store.decline_task(task["id"], "道路中断，无法到达")
    assert (declined.state, declined.reason) == (TaskState.DECLINED, "道路中断，无法到达")
    with pytest.raises(FieldproofError.InvalidState) as err:
        store.decline_task(task["id"], "再次")
    assert err.value.code == "task_finished"
    assert sync.sync_once(TIMEOUT_MS).ops_pushed == 1
    assert bureau.admin("tasks", "list", "--state", "declined")["id"] == task["id"]


def test_python_transport_does_a_full_sync(store, bureau):
    transport = UrllibTransport()
    sync = BureauSync(store, transport=transport)
    sync.enroll(bureau.url, bureau.enrollment_code(), bureau.tls_pin)
    # A challenge, then the enrollment signed over it.
    assert transport.requests == [("POST", f"{bureau.url}/v1/enroll/challenge"), ("POST", f"{bureau.url}/v1/enroll")]
    inspection_id, photo = field_work(store, LARGE_PHOTO)

    reports = sync_until_done(sync)
    assert sum(r.ops_pushed for r in reports) == 3 + len(store.tasks())  # tasks taken in: task.state
    assert sum(r.bytes_uploaded for r in reports) == photo.size
    assert_delivered(store, inspection_id, photo)
    methods = {method for method, _ in transport.requests}
    assert {"POST", "GET", "PATCH"} <= methods, transport.requests
    assert all(url.startswith(bureau.url) for _, url in transport.requests)


def test_an_unreachable_bureau_is_reported_offline_and_nothing_is_lost(store, bureau):
    BureauSync(store).enroll(bureau.url, bureau.enrollment_code(), bureau.tls_pin)
    inspection_id, photo = field_work(store)

    offline = BureauSync(store, options=SyncOptions(server_url=closed_port_url()))
    before = int(time.time() * 1000)
    report = offline.sync_once(TIMEOUT_MS)
    assert report.last_error is not None, report
    assert (report.last_error.code, report.last_error.error_class) == ("offline", ErrorClass.OFFLINE)
    assert (report.ops_pushed, report.bytes_uploaded, report.cancelled) == (0, 0, False)
    assert report.work_left.ops == 3 and report.work_left.uploads == 1
    assert report.next_attempt_ms is not None and report.next_attempt_ms > before
    status = store.inspection_sync(inspection_id)
    assert status.state == OpState.PENDING and status.attempts == 1 and status.last_error == "offline"

    # A platform transport's failures land in the same classes.
    for error, code in [(TransportError.Timeout("stalled"), "timeout"), (RuntimeError("bug in the app"), "offline")]:
        failing = FailingTransport(error)
        report = BureauSync(store, transport=failing).sync_once(TIMEOUT_MS)
        assert failing.calls == 1
        assert (report.last_error.code, report.last_error.error_class) == (code, ErrorClass.OFFLINE), report

    # Back online: everything arrives, once.
    reports = sync_until_done(BureauSync(store))
    assert sum(r.ops_pushed for r in reports) == 3 + len(store.tasks())  # tasks taken in: task.state
    assert_delivered(store, inspection_id, photo)


def test_interrupt_from_another_thread_ends_the_running_call_only(store, bureau):
    holder = {}

    def interrupt_from_another_thread():
        other = threading.Thread(target=lambda: holder["sync"].interrupt())
        other.start()
        other.join(timeout=10)
        assert not other.is_alive()

    sync = BureauSync(store, listener=Recorder(then=interrupt_from_another_thread))
    holder["sync"] = sync
    sync.enroll(bureau.url, bureau.enrollment_code(), bureau.tls_pin)
    inspection_id, photo = field_work(store)

    report = sync.sync_once(TIMEOUT_MS)
    assert report.cancelled and report.last_error is None, report
    assert report.ops_pushed >= 1 and report.work_left.uploads == 1
    assert report.next_attempt_ms is not None
    # The interrupt ended that call, not the next ones.
    sync_until_done(sync)
    assert_delivered(store, inspection_id, photo)


def test_a_revoked_device_gets_an_auth_error_and_stops_asking(store, bureau):
    transport = UrllibTransport()
    sync = BureauSync(store, transport=transport)
    enrollment = sync.enroll(bureau.url, bureau.enrollment_code(), bureau.tls_pin)
    field_work(store)
    revoked = bureau.revoke(enrollment.device_id)
    assert revoked["revoked_ms"] is not None

    report = sync.sync_once(TIMEOUT_MS)
    assert (report.last_error.code, report.last_error.error_class) == ("device_revoked", ErrorClass.AUTH), report
    assert report.next_attempt_ms is None and report.work_left.ops > 0
    sent = len(transport.requests)
    assert sync.sync_once(TIMEOUT_MS).last_error == report.last_error
    assert len(transport.requests) == sent, "no request until the device enrolls again"

    # A revoked key cannot enroll again, even with a fresh code: an InvalidState
    # error with the bureau's code, as for every refusal.
    with pytest.raises(FieldproofError.InvalidState) as err:
        sync.enroll(bureau.url, bureau.enrollment_code(), bureau.tls_pin)
    assert err.value.code == "device_revoked"
    with pytest.raises(FieldproofError.InvalidInput) as err:
        sync.enroll(bureau.url, "AAAA-BBBB-CCCC-DDDD", bureau.tls_pin)
    assert err.value.code == "unknown_enrollment_code"
    with pytest.raises(FieldproofError.Network) as err:
        BureauSync(store).enroll(closed_port_url(), "AAAA-BBBB-CCCC-DDDD")
    assert err.value.code == "offline"


def test_a_rewritten_custody_log_is_reported_and_the_held_checkpoint_kept(store, tmp_path):
    data = tmp_path / "bureau"
    first = Bureau(data)
    try:
        sync = BureauSync(store)
        sync.enroll(first.url, first.enrollment_code(), first.tls_pin)
        field_work(store)
        sync_until_done(sync)
        held = store.latest_checkpoint()
        assert held is not None and held.tree_size >= 1
    finally:
        first.stop()
    # Someone with the bureau's database rewrites a logged record and drops the
    # checkpoints signed over it; the bureau, started again, signs the new tree.
    with sqlite3.connect(data / "bureau.sqlite3") as db:
        db.execute("UPDATE custody_log SET leaf_hash = zeroblob(32) WHERE leaf_index = 0")
        db.execute("DELETE FROM checkpoints")
    again = Bureau(data)
    try:
        sync = BureauSync(store, options=SyncOptions(server_url=again.url))
        report = sync.sync_once(TIMEOUT_MS)
        assert (report.last_error.code, report.last_error.error_class) == ("log_inconsistent", ErrorClass.CUSTODY), report
        assert store.latest_checkpoint() == held
    finally:
        again.stop()


def test_a_pinned_device_talks_to_no_other_tls_key(store, bureau, tmp_path):
    transport = UrllibTransport()
    BureauSync(store, transport=transport).enroll(bureau.url, bureau.enrollment_code(), bureau.tls_pin)
    assert store.enrollment().tls_pin == bureau.tls_pin and bureau.url.startswith("https://")
    field_work(store)
    impostor = Bureau(tmp_path / "impostor")
    try:
        assert impostor.tls_pin != bureau.tls_pin
        for platform in (transport, None):
            sync = BureauSync(store, transport=platform, options=SyncOptions(server_url=impostor.url))
            report = sync.sync_once(TIMEOUT_MS)
            assert (report.last_error.code, report.last_error.error_class) == ("tls_pin_mismatch", ErrorClass.AUTH), report
        # Enrolling with the real bureau's pin at the impostor's address fails the same way.
        with pytest.raises(FieldproofError.Network) as err:
            BureauSync(InspectionStore.open(str(tmp_path / "other.db"))).enroll(
                impostor.url, impostor.enrollment_code(), bureau.tls_pin
            )
        assert err.value.code == "tls_pin_mismatch"
    finally:
        impostor.stop()
    # The real bureau still takes the work.
    sync_until_done(BureauSync(store, transport=transport))

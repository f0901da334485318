"""A live bureau for the API tests: the real `fieldproof serve` on loopback with a
fresh SQLite data folder, seeded the way a bureau is used: boundaries from the
corpus, staff accounts, enrolled devices (`fieldproof device`) that recorded
inspections with real photos and synced them. The tests then hold every kind of
credential the API knows (admin token, device token, staff session) and can
fingerprint everything the bureau keeps, to show that a refused request changed
nothing.

Run by scripts/test-api (FIELDPROOF_BIN names the CLI; FIELDPROOF_CORPUS the corpus).
"""

import collections
import hashlib
import json
import os
import pathlib
import queue
import sqlite3
import subprocess
import tempfile
import threading
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("FIELDPROOF_BIN", ROOT / "target/debug/fieldproof"))
CORPUS = pathlib.Path(os.environ.get("FIELDPROOF_CORPUS", ROOT.parent / "shared/corpus"))
SPEC = ROOT / "bureau/openapi.yaml"
# The bureau's request log, kept for a failure's post-mortem.
ARTIFACTS = ROOT / "target/test-artifacts/api"
# Examples per operation and caller (scripts/test-api sets it).
EXAMPLES = int(os.environ.get("FIELDPROOF_FUZZ_EXAMPLES", "10"))
ADMIN_TOKEN = "api-test-admin-token-0123456789abcdef"
PASSWORD = "correct horse battery staple"

# The fuzzer sends thousands of requests from one address in a few minutes: the
# rate limits (tested in bureau/tests/rate_limits.rs) are raised so that its requests
# reach the handlers instead of stopping at 429.
CONFIG = """
[limits]
enroll_per_minute = 1000000
auth_failures_per_minute = 1000000
device_requests_per_minute = 1000000
"""

# What a refused request may still write, each on purpose:
# - login_failures: counting a failed login is what slows the next guess;
# - custody_alarms: a device asking for a proof beyond the log is the alarm;
# - user_sessions.last_seen_ms: a session's idle clock moves with every request.
VOLATILE_TABLES = {"login_failures", "custody_alarms"}
VOLATILE_COLUMNS = {("user_sessions", "last_seen_ms")}


def cli(*args):
    """Runs the CLI with --json; its output lines, parsed."""
    done = subprocess.run([str(BIN), *args, "--json"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"fieldproof {' '.join(args[:3])}: {done.stdout}{done.stderr}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


class Bureau:
    """The bureau under test, and the credentials and records it was seeded with."""

    def __init__(self, url, data):
        self.url = url
        self.data = data
        self.admin_token = ADMIN_TOKEN
        self.device_token = None
        self.sessions = {}  # caller -> [(cookie, CSRF token)], the last in use
        self.ids = {}

    @staticmethod
    def answered(operation, caller, status):
        """Notes a fuzzed request's answer for the summary."""
        ANSWERS.append((operation, caller, status))

    def request(self, method, path, body=None, headers=None, raw=None):
        """One request; (status, headers, parsed JSON body or None)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Authorization": f"Bearer {self.admin_token}"}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                status, got, text = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, text = error.code, error.headers, error.read()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return status, got, parsed

    def fingerprint(self):
        """A digest of everything the bureau keeps: every table of its database
        (read-only, apart from the volatile parts above) and every file in its
        photo store."""
        digest = hashlib.sha256()
        db = sqlite3.connect(f"file:{self.data / 'bureau.sqlite3'}?mode=ro", uri=True, timeout=30)
        try:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            for table in tables:
                if table in VOLATILE_TABLES:
                    continue
                columns = [
                    r[1] for r in db.execute(f'PRAGMA table_info("{table}")')
                    if (table, r[1]) not in VOLATILE_COLUMNS
                ]
                listed = ", ".join(f'"{c}"' for c in columns)
                digest.update(f"\0table {table} ({listed})\0".encode())
                for row in db.execute(f'SELECT {listed} FROM "{table}" ORDER BY {listed}'):
                    digest.update(repr(row).encode())
        finally:
            db.close()
        for path in sorted(self.data.rglob("*")):
            if path.is_file() and not path.name.startswith("bureau.sqlite3"):
                digest.update(f"\0file {path.relative_to(self.data)} {path.stat().st_size}".encode())
        return digest.hexdigest()


def _start(data, config, log):
    child = subprocess.Popen(
        [str(BIN), "serve", "--data", str(data), "--config", str(config),
         "--listen", "127.0.0.1:0", "--json"],
        env={**os.environ, "FIELDPROOF_ADMIN_TOKEN": ADMIN_TOKEN},
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in child.stdout], daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            child.kill()
            raise AssertionError("the bureau did not say where it listens within 60 s")
        started = json.loads(line)
        if "url" in started:
            return child, started["url"]


def _device(bureau, folder, name, township, officer):
    db = folder / f"{name}.db"
    status, _, code = bureau.request("POST", "/v1/admin/enrollment-codes", {
        "officer_name": officer, "jurisdiction": township, "role": "township_staff"})
    assert status == 201, code
    [enrolled] = cli("device", "--db", str(db), "enroll", "--server", bureau.url, "--code", code["code"])
    return db, enrolled


def _inspection(db, township, officer, photo=None):
    [created] = cli("inspections", "create", "--db", str(db), "--matter", "straw_burning",
                    "--township", township, "--lat", "28.2476", "--lon", "113.0855", "--datum", "gcj02",
                    "--address", "田间", "--officer", officer, "--findings", "发现焚烧痕迹",
                    "--party-name", "张三")
    for item, value in [("fire_on_arrival", "yes"), ("burned_area_mu", "2.5"), ("material", "rice_straw"),
                        ("extinguished", "yes"), ("extinguish_method", "water"),
                        ("responsible_party_identified", "yes"), ("warning_issued", "yes")]:
        cli("inspections", "answer", "--db", str(db), created["id"], item, value)
    if photo is not None:
        cli("evidence", "ingest", "--db", str(db), "--inspection", created["id"],
            "--officer", officer, str(photo))
    cli("inspections", "submit", "--db", str(db), created["id"])
    return created["id"]


def _user(bureau, username, role, jurisdiction):
    """A staff account with one grant; its id."""
    status, _, user = bureau.request("POST", "/v1/admin/users", {
        "username": username, "display_name": username, "password": PASSWORD,
        "grants": [{"role": role, "jurisdiction": jurisdiction}]})
    assert status == 201, user
    return user["id"]


def _one(database, query):
    """The first value `query` finds in the SQLite file `database`, read-only."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return db.execute(query).fetchone()[0]
    finally:
        db.close()


def _sign_in(bureau, username):
    """A staff session: (its cookie's value, its CSRF token)."""
    status, got, session = bureau.request("POST", "/v1/session", {"username": username, "password": PASSWORD},
                                          headers={"Authorization": ""})
    assert status == 200, session
    return got["Set-Cookie"].split(";")[0].split("=", 1)[1], session["csrf_token"]


ANSWERS = []


def pytest_terminal_summary(terminalreporter):
    """How many requests the fuzzer sent and what came back, by caller and status
    class (also in target/test-artifacts/api/answers.json)."""
    if not ANSWERS:
        return
    by = collections.Counter((caller, f"{status // 100}xx") for _, caller, status in ANSWERS)
    operations = {operation for operation, _, _ in ANSWERS}
    ok = {operation for operation, _, status in ANSWERS if 200 <= status < 300}
    terminalreporter.write_line(
        f"schemathesis: {len(ANSWERS)} requests to {len(operations)} operations; "
        f"{len(ok)} operations answered 2xx at least once")
    for caller in sorted({c for c, _ in by}):
        counts = ", ".join(f"{cls} {n}" for (c, cls), n in sorted(by.items()) if c == caller)
        terminalreporter.write_line(f"  {caller}: {counts}")
    (ARTIFACTS / "answers.json").write_text(json.dumps(ANSWERS))


@pytest.fixture(scope="session")
def bureau():
    assert BIN.exists(), f"{BIN} is missing: build it first (cargo build -p fieldproof-cli)"
    boundaries = CORPUS / "boundaries/counties_by_city/430100.json"
    photos = sorted((CORPUS / "photos/camera").glob("*.jpg"))
    assert boundaries.exists() and photos, f"the corpus is absent at {CORPUS} (set FIELDPROOF_CORPUS)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fieldproof-api-") as tmp, \
            open(ARTIFACTS / "bureau.log", "wb") as log:
        folder = pathlib.Path(tmp)
        data = folder / "bureau"
        config = folder / "bureau.toml"
        config.write_text(CONFIG)
        child, url = _start(data, config, log)
        try:
            b = Bureau(url, data)
            status, _, loaded = b.request("POST", "/v1/admin/boundaries?datum=gcj02",
                                          raw=boundaries.read_bytes(),
                                          headers={"Content-Type": "application/json"})
            assert status == 200, loaded
            _user(b, "fuzz.admin", "admin", "43")
            _user(b, "fuzz.reviewer", "reviewer", "430121")
            db, enrolled = _device(b, folder, "here", "430121101", "王五")
            b.ids["device"] = enrolled["device_id"]
            b.ids["plain"] = _inspection(db, "430121101", enrolled["officer_id"])
            b.ids["photo"] = _inspection(db, "430121101", enrolled["officer_id"], photos[0])
            [report] = cli("device", "--db", str(db), "sync")
            assert report.get("last_error") is None, report
            b.device_token = _one(db, "SELECT token FROM enrollment")
            # Records the fuzzer may name, besides the ids it makes up; revoking and
            # disabling are tried on spares, so the credentials above keep working.
            _, spare = _device(b, folder, "spare", "430121101", "赵六")
            b.ids["spare_device"] = spare["device_id"]
            b.ids["spare_user"] = _user(b, "fuzz.spare", "reviewer", "430121")
            _, _, case = b.request("GET", f"/v1/admin/inspections/{b.ids['photo']}")
            [b.ids["sha"]] = [r["media_sha256"] for r in case["evidence_records"] if r["media_sha256"]]
            b.ids["upload"] = _one(data / "bureau.sqlite3", "SELECT id FROM uploads")
            # Signing out is fuzzed too, and fuzzed logins soon make this address wait
            # (429): every session the run may end is opened now.
            for caller, username in [("staff_admin", "fuzz.admin"), ("staff_reviewer", "fuzz.reviewer")]:
                b.sessions[caller] = [_sign_in(b, username) for _ in range(2 * EXAMPLES + 4)]
            yield b
        finally:
            child.terminate()
            child.wait(timeout=30)

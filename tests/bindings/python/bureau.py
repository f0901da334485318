"""A real bureau on loopback for the sync binding tests: the `fieldproof` binary's
`serve` on a free port over HTTPS (a self-signed certificate devices pin),
administered with `fieldproof admin`. Every wait is bounded."""

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

import pytest

ADMIN_TOKEN = "python-bindings-test-admin-token"
START_TIMEOUT_S = 60
ADMIN_TIMEOUT_S = 30


def fieldproof_binary() -> Path:
    """FIELDPROOF_BIN (set by scripts/test-bindings), else target/debug/fieldproof."""
    default = Path(__file__).resolve().parents[3] / "target" / "debug" / "fieldproof"
    configured = os.environ.get("FIELDPROOF_BIN")
    path = Path(configured) if configured else default
    if not path.is_file():
        pytest.fail(f"fieldproof binary not found at {path}: build it (cargo build -p fieldproof-cli) or set FIELDPROOF_BIN")
    return path


class Bureau:
    """`fieldproof serve --json` on 127.0.0.1:0 with its own data folder."""

    def __init__(self, data: Path):
        self.binary = fieldproof_binary()
        self.data = data
        env = dict(os.environ, FIELDPROOF_ADMIN_TOKEN=ADMIN_TOKEN)
        env.pop("FIELDPROOF_DATABASE_URL", None)
        self.process = subprocess.Popen(
            [str(self.binary), "serve", "--data", str(data), "--listen", "127.0.0.1:0", "--tls-self-signed", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            self.url, self.tls_pin = self._listening_url()
        except BaseException:
            self.stop()
            raise

    def _listening_url(self) -> str:
        lines: queue.Queue = queue.Queue()

        def read():
            for line in self.process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"fieldproof serve printed no listening line within {START_TIMEOUT_S} s")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"fieldproof serve ended (status {self.process.wait(5)}) without a listening line")
            listening = json.loads(line)
            if listening.get("url"):
                return listening["url"], listening["tls_pin"]

    def admin(self, *args: str) -> dict:
        """Runs `fieldproof admin --json ARGS` against this bureau; its one JSON line."""
        env = dict(os.environ, FIELDPROOF_ADMIN_TOKEN=ADMIN_TOKEN)
        done = subprocess.run(
            [str(self.binary), "admin", "--server", self.url, "--tls-pin", self.tls_pin, "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=ADMIN_TIMEOUT_S,
        )
        assert done.returncode == 0, f"fieldproof admin {' '.join(args)}: {done.stdout} {done.stderr}"
        return json.loads(done.stdout.splitlines()[0])

    def enrollment_code(self, officer: str = "测试员", jurisdiction: str = "430121") -> str:
        return self.admin(
            "enrollment-code", "create", "--officer", officer, "--jurisdiction", jurisdiction, "--role", "township_staff"
        )["code"]

    def revoke(self, device_id: str) -> dict:
        return self.admin("devices", "revoke", device_id)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def bureau(tmp_path_factory):
    server = Bureau(tmp_path_factory.mktemp("bureau"))
    yield server
    server.stop()


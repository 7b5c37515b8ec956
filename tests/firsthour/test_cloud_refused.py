"""A connection refused at once is said as refused, at once (no retries)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.cloud.conftest import cli_env, make_bundle
from wizard.cloud.sandbox import Sandbox


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_is_said_at_once(cloud_box: Sandbox, tmp_path: Path) -> None:
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    url = f"http://127.0.0.1:{closed_port()}/services/objectstorage"
    log = tmp_path / "run.log"
    result = subprocess.run(
        [sys.executable, "-m", "wizard", "upload", "--log-file", str(log), "--eucarc",
         str(cloud_box.eucarc), "-U", url, "-b", "refused", "-m", str(made.manifest)],
        env=cli_env(cloud_box), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    # Before the error, only the parts check's progress line ("Checking the parts…").
    errors = [x for x in result.stderr.splitlines() if x.startswith("euca-windows-wizard:")]
    assert len(errors) == 1, result.stderr
    line = errors[0]
    assert f"{url} refused the connection (nothing listens at 127.0.0.1:" in line
    assert "within" not in line and "tries" not in line
    # Tried once: no retry was logged (and so no backoff was waited for).
    assert "trying again" not in log.read_text()

"""Helpers of the session-operations tests: sessions on disk, and real lock holders.

A session's state file is written in the format the runner writes
(SESSION-API.md: ``{"version": 1, "steps": {id: {"status", "outputs", ...}}}``)
so listing and attach are tested on the files they will meet; the end-to-end
tests (test_ops_detach.py) run the real runner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from wizard.core.events import Event
from wizard.session.answers import Answers, BuildAnswers, CloudAnswers
from wizard.session.eventlog import EventLog
from wizard.session.store import SessionPaths, create_session

ROOT = Path(__file__).resolve().parents[2]
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def env() -> dict[str, str]:
    """The environment for a child process: this work tree's code, the test's XDG folders."""
    return dict(os.environ, PYTHONPATH=str(ROOT))


def new_session(name: str, mode: str = "memdisk", folder: Path | None = None) -> SessionPaths:
    disk = (folder or Path("/nonexistent")) / "xp.img"
    build = BuildAnswers(name=name, bucket="winxp-images", arch="i386", mode=mode, disk=disk,
                         floppy=disk.with_name("boot.img") if mode == "memdisk" else None,
                         memdisk=Path("/usr/lib/syslinux/memdisk") if mode == "memdisk"
                         else None)
    cloud = CloudAnswers(s3_url="http://127.0.0.1:9/services/objectstorage",
                         ec2_url="http://127.0.0.1:9/services/compute",
                         access_key="AKIAEXAMPLE", secret_key=SECRET, account="123456789012")
    return SessionPaths(create_session(Answers(cloud, build)))


def write_state(paths: SessionPaths, steps: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """``steps``: id -> (status, outputs)."""
    data = {"version": 1, "steps": {
        step: {"status": status, "outputs": outputs, "inputs": {}, "updated": time.time()}
        for step, (status, outputs) in steps.items()}}
    paths.state.write_text(json.dumps(data))
    os.chmod(paths.state, 0o600)


def write_events(paths: SessionPaths, events: list[Event]) -> None:
    with EventLog(paths.events) as log:
        for event in events:
            log(event)


# A build stand-in: holds the session's lock, appends the events it is given
# on stdin (one JSON event a line, "exit" to end), ends on SIGTERM as a build
# does (StepFailed "interrupted"), or dies to SIGKILL.
HOLDER = r"""
import signal, sys
from wizard.core.events import StepFailed, from_json
from wizard.session.eventlog import EventLog
from wizard.session.lock import BuildLock
from wizard.session.store import SessionPaths
paths = SessionPaths(sys.argv[1])
def stop(signum, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, stop)
with BuildLock(paths.lock), EventLog(paths.events) as log:
    print("held", flush=True)
    current = ""
    try:
        for line in sys.stdin:
            if line.strip() == "exit":
                break
            event = from_json(line)
            current = event.step
            log(event)
            print("logged", flush=True)
    except KeyboardInterrupt:
        log(StepFailed(current, "interrupted by SIGTERM", "run the same command again to resume"))
"""


class Holder:
    """A real process that holds a session's lock and writes its event log."""

    def __init__(self, name: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, name],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env())
        assert self._read() == "held"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def log(self, event: Event) -> None:
        from wizard.core.events import to_json

        assert self.proc.stdin is not None
        self.proc.stdin.write(to_json(event) + "\n")
        self.proc.stdin.flush()
        assert self._read() == "logged"

    def finish(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write("exit\n")
        self.proc.stdin.flush()
        return self.wait()

    def kill(self, signum: int = signal.SIGKILL) -> int:
        os.kill(self.proc.pid, signum)
        return self.wait()

    def wait(self) -> int:
        code = self.proc.wait(timeout=60)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                stream.close()
        return code

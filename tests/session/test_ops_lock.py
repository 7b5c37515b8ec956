"""The build lock against real processes: held, refused with the pid, freed by kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.core.errors import WizardError
from wizard.session.lock import BuildLock, running_pid

ROOT = Path(__file__).resolve().parents[2]

# A build stand-in: takes the lock, says so, optionally starts a tool that
# would inherit every inheritable descriptor, then waits to be killed.
HOLDER = """
import subprocess, sys, time
from pathlib import Path
from wizard.session.lock import BuildLock
lock = BuildLock(Path(sys.argv[1]))
lock.acquire()
if len(sys.argv) > 2:
    tool = subprocess.Popen(["sleep", "300"], close_fds=False)
    print(tool.pid, flush=True)
print("held", flush=True)
time.sleep(300)
"""


def _start_holder(lock: Path, with_tool: bool = False) -> tuple[subprocess.Popen[str], int | None]:
    args = [sys.executable, "-c", HOLDER, str(lock)] + (["tool"] if with_tool else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout is not None
    tool = int(proc.stdout.readline()) if with_tool else None
    assert proc.stdout.readline() == "held\n"
    return proc, tool


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout:
        proc.stdout.close()


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    folder = tmp_path / "winxp"
    folder.mkdir(mode=0o700)
    return folder / "build.lock"


def test_no_lock_file_means_no_build(lock_path: Path) -> None:
    assert running_pid(lock_path) is None


def test_a_running_build_is_seen_and_a_second_one_refused_naming_its_pid(lock_path: Path) -> None:
    proc, _ = _start_holder(lock_path)
    try:
        assert running_pid(lock_path) == proc.pid
        with pytest.raises(WizardError) as caught:
            BuildLock(lock_path).acquire()
        assert f"process {proc.pid}" in caught.value.message
        assert "'winxp'" in caught.value.message
        assert "attach winxp" in (caught.value.fix or "")
        # The refused attempt disturbed nothing: the holder still holds it.
        assert running_pid(lock_path) == proc.pid
    finally:
        _kill(proc)


def test_kill_9_frees_the_lock(lock_path: Path) -> None:
    proc, _ = _start_holder(lock_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # The dead build's pid is still written in the file; the lock says it is gone.
    assert lock_path.read_text().strip() == str(proc.pid)
    assert running_pid(lock_path) is None
    with BuildLock(lock_path) as lock:
        assert lock.held
        assert running_pid(lock_path) == os.getpid()
    assert running_pid(lock_path) is None
    assert lock_path.read_text() == ""
    assert proc.stdout is not None
    proc.stdout.close()


def test_a_tool_the_build_started_does_not_keep_the_lock(lock_path: Path) -> None:
    proc, tool = _start_holder(lock_path, with_tool=True)
    assert tool is not None
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        os.kill(tool, 0)  # the tool outlived the build...
        assert running_pid(lock_path) is None  # ...without the build's lock
    finally:
        os.kill(tool, signal.SIGKILL)
        if proc.stdout:
            proc.stdout.close()


def test_the_lock_file_is_private_and_not_followed_through_a_link(lock_path: Path,
                                                                   tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with BuildLock(lock_path):
            assert (os.stat(lock_path).st_mode & 0o777) == 0o600
    finally:
        os.umask(old)
    lock_path.unlink()
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    os.symlink(target, lock_path)
    with pytest.raises(WizardError, match="is a symbolic link"):
        BuildLock(lock_path).acquire()
    assert target.read_text() == "keep"


def test_the_same_process_cannot_take_it_twice(lock_path: Path) -> None:
    with BuildLock(lock_path):
        with pytest.raises(WizardError) as caught:
            BuildLock(lock_path).acquire()
        assert f"process {os.getpid()}" in caught.value.message

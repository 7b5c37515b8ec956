"""The sandbox cloud behind ``--sandbox``, in a process of its own.

A build started from the wizard runs detached and must outlive the wizard
(an SSH drop, Ctrl+Q); an in-process sandbox would die with the TUI and take
the build's cloud with it. So the wizard runs ``euca-windows-wizard sandbox
--exit-when-idle GRACE`` as a detached child (own session, no terminal,
output to a file), and reuses one that a previous wizard left serving a
build. While it runs, the wizard holds the sandbox's lease
(``wizard.cloud.lease``). Quitting with no build on it, the last wizard stops
it at once; otherwise it ends by itself GRACE seconds after the last wizard
and the last build using it are gone (``wizard.session.sandboxuse``), so a
wizard killed with its link never leaves it running for ever.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from wizard import PROGRAM
from wizard.cloud.lease import SandboxLease, serving_pid
from wizard.core.dirs import private_dir, state_dir
from wizard.core.errors import WizardError
from wizard.core.files import write_atomic

READY = "Serving until Ctrl+C."
START_TIMEOUT = 60.0
# Seconds the sandbox serves on with no wizard and no build: a wizard relaunched
# at once after a drop, or a build still starting, finds it.
IDLE_GRACE = 10.0
# How long a quitting wizard waits for the sandbox it stops to be gone.
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class SandboxHost:
    """A running sandbox process and the files it wrote."""

    folder: Path
    pid: int
    # This wizard's lease on it (none for a host only looked at).
    lease: SandboxLease | None = field(default=None, compare=False, repr=False)

    @property
    def eucarc(self) -> Path:
        return self.folder / "eucarc"

    @property
    def disk(self) -> Path:
        return self.folder / "sample-disk.img"

    @property
    def floppy(self) -> Path:
        return self.folder / "sample-floppy.img"

    @property
    def sample_memdisk(self) -> Path:
        """Written only where the system has no memdisk of its own."""
        return self.folder / "sample-memdisk"

    def alive(self) -> bool:
        return _alive(self.pid)

    def stop(self) -> None:
        """SIGTERM: the sandbox command stops its servers and exits."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            (self.folder / "pid").unlink()
        if self.lease is not None:
            self.lease.release()

    def leave(self) -> bool:
        """The wizard is quitting: stop the sandbox if nothing else needs it (no other
        wizard, no build running on it), else leave it serving; True if it was stopped.
        It is gone (its folder free) when this returns True, so a wizard started next
        never reuses a sandbox that is stopping."""
        from wizard.session.sandboxuse import builds_using

        lease = self.lease
        if lease is None:
            return False
        try:
            if not lease.last_user() or builds_using(self.folder):
                return False
            self.stop_and_wait()
            return True
        finally:
            lease.release()

    def stop_and_wait(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop it and wait until it no longer holds its folder; False if it still does."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            (self.folder / "pid").unlink()
        deadline = time.monotonic() + timeout
        while serving_pid(self.folder) == self.pid and _alive(self.pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


def default_folder() -> Path:
    return state_dir() / "tui-sandbox"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0): reap it if it is one.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def running_sandbox(folder: Path | None = None) -> SandboxHost | None:
    """The sandbox a previous wizard left serving: its pid file (written once it served)
    names the process that holds the sandbox folder's lock."""
    folder = folder or default_folder()
    try:
        pid = int((folder / "pid").read_text().strip())
    except (OSError, ValueError):
        return None
    host = SandboxHost(folder, pid)
    if serving_pid(folder) != pid:  # stopped, or its pid taken by another process since
        return None
    return host if host.alive() and host.eucarc.is_file() else None


def start_sandbox_process(folder: Path | None = None, *,
                          idle_grace: float = IDLE_GRACE) -> SandboxHost:
    """Start (or reuse) the sandbox and hold a lease on it; returns once it serves.
    WizardError if it cannot. ``idle_grace``: see ``IDLE_GRACE``."""
    folder = folder or default_folder()
    private_dir(folder)
    # The lease first: a sandbox ending now is waited for, never reused, and a new one
    # sees a wizard from its first check.
    lease = SandboxLease(folder)
    lease.acquire(START_TIMEOUT)
    try:
        return _start(folder, lease, idle_grace)
    except BaseException:
        lease.release()
        raise


def _start(folder: Path, lease: SandboxLease, idle_grace: float) -> SandboxHost:
    found = running_sandbox(folder)
    if found is not None:
        return SandboxHost(folder, found.pid, lease)
    output = folder / "sandbox.out"
    env = dict(os.environ)
    # The project may run from a checkout (not installed): the child finds it too.
    root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    with _new_file(output) as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wizard", "sandbox", "--dir", str(folder),
             "--exit-when-idle", f"{idle_grace:g}"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, env=env,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = output.read_text(errors="replace")
        if READY in text:
            write_atomic(folder / "pid", f"{process.pid}\n".encode(), mode=0o600)
            return SandboxHost(folder, process.pid, lease)
        if process.poll() is not None:
            raise _start_failure(text, output)
        time.sleep(0.1)
    process.terminate()
    raise WizardError("the sandbox cloud did not start within a minute",
                      f"see {output}")


def _start_failure(text: str, output: Path) -> WizardError:
    """Why the sandbox process ended before serving: its own error and fix when it said
    one (a folder in use), the install fix only when moto could not be imported."""
    last = (text.strip().splitlines()[-1:] or ["no output"])[0]
    said = last.removeprefix(f"{PROGRAM}: error: ")
    if said != last:
        message, _, fix = said.rstrip(".").partition(". Fix: ")
        # The child's flag (--dir) means nothing to the screen that started it.
        fix = re.sub(r" \(--[a-z-]+\)$", "", fix)
        return WizardError(f"the sandbox cloud did not start: {message}", fix or None)
    if "No module named 'moto" in text:
        return WizardError(f"the sandbox cloud did not start ({last})",
                           "install the sandbox extra: pip install "
                           "'euca-windows-wizard[sandbox]'")
    return WizardError(f"the sandbox cloud did not start ({last})", f"see {output}")


def _new_file(path: Path) -> BinaryIO:
    """``path`` made anew by this call: the old one (or a link planted there) removed,
    then created exclusively, never written through a link."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
    except FileExistsError:
        raise WizardError(f"{path} was made by another program as the sandbox started",
                          f"remove {path} and start the sandbox again") from None
    return os.fdopen(fd, "wb")

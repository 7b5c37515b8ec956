"""A wizard's claim on the sandbox cloud it uses, and the sandbox's own claim at its end.

The wizard's sandbox runs in a process of its own so that a detached build
outlives the wizard; it must then also end when nothing needs it any more,
a wizard killed with the link included. Each wizard using the sandbox in
FOLDER holds a shared ``flock`` on ``FOLDER/wizards.lock`` (a
``SandboxLease``) for its whole life; the kernel drops it when the wizard
dies, ``kill -9`` included, so no pid file can outlive its owner. The file
is opened close-on-exec: the sandbox and the builds a wizard starts must not
inherit the lease and keep it held.

A sandbox that finds itself unused takes the lock exclusively (``claim_end``,
which fails while any wizard holds a lease) and keeps it until its process
has gone: a wizard arriving meanwhile waits in ``SandboxLease.acquire`` and
then starts a new sandbox, never reusing one that is stopping.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from pathlib import Path

from wizard.core.errors import WizardError

LEASE_FILE = "wizards.lock"
# The lock a running sandbox holds on its folder (``cloud.sandbox``), its pid in it.
FOLDER_LOCK = (".cloud", "lock")
_MODE = 0o600


def lease_path(folder: Path) -> Path:
    return Path(folder) / LEASE_FILE


def folder_lock_path(folder: Path) -> Path:
    return Path(folder).joinpath(*FOLDER_LOCK)


def serving_pid(folder: Path) -> int | None:
    """The pid of the sandbox holding ``folder`` now (its lock probed, never waited for);
    None when none does, 0 for a holder whose pid is not written yet."""
    try:
        fd = os.open(folder_lock_path(folder), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            with contextlib.suppress(OSError, ValueError):
                return int(os.pread(fd, 32, 0).decode("ascii", "replace").strip() or 0)
            return 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _open(path: Path) -> int:
    """The lease file, made if need be, never through a link planted under its name."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, _MODE)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise WizardError(f"cannot open the sandbox's lease file {path} ({exc.strerror})",
                              "choose a folder you can write for the sandbox",
                              key="sandbox.folder") from None
        raise WizardError(f"the sandbox's lease file {path} is a symbolic link; the wizard "
                          "never writes through a link",
                          f"remove {path} (the wizard makes its own)",
                          key="sandbox.folder") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device: not ours
        os.close(fd)
        raise WizardError(f"the sandbox's lease file {path} is not a file",
                          f"remove {path} (the wizard makes its own)", key="sandbox.folder")
    return fd


class SandboxLease:
    """``SandboxLease(folder).acquire()``: this wizard uses the sandbox in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.path = lease_path(folder)
        self._fd: int | None = None

    def acquire(self, timeout: float = 60.0) -> None:
        """Hold the lease; waits (up to ``timeout``) while a sandbox there is ending."""
        fd = _open(self.path)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WizardError(
                        f"the sandbox in {self.path.parent} did not finish stopping within "
                        f"{timeout:.0f} s", "start the wizard again") from None
                time.sleep(0.05)
        self._fd = fd

    def last_user(self) -> bool:
        """Whether no other wizard holds a lease; asked once, when leaving. If so the
        shared lock becomes exclusive: no sandbox can claim its end meanwhile and a new
        wizard waits. If not, the lease may be lost (Linux drops a shared flock before
        it tries the exclusive one): release it next."""
        if self._fd is None:
            return False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.close(fd)  # the last descriptor closed drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None


def wizards_attached(folder: Path) -> bool:
    """Whether a wizard holds a lease on the sandbox in ``folder`` (a probe that never waits)."""
    try:
        fd = os.open(lease_path(folder), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False  # no lease file: no wizard ever used this folder
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False
    finally:
        os.close(fd)


def claim_end(folder: Path) -> int | None:
    """The sandbox's claim to end: a descriptor holding the lease file exclusively, or
    None when a wizard holds a lease. Keep it open until the process exits."""
    fd = _open(lease_path(folder))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def give_up_claim(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)

"""The build lock: a running build holds it for its whole life; a dead one frees it.

The build takes ``flock(LOCK_EX | LOCK_NB)`` on the session's ``build.lock``
and writes its pid there. The kernel drops the lock when the holder dies,
``kill -9`` included, so "is a build running?" is answered by trying the lock
(``running_pid``, a shared probe that never blocks), not by trusting a pid
file that outlived its process. The file is opened close-on-exec: a tool the
build runs (make, qemu-img) must not inherit the descriptor and keep the lock
held after the build has gone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shlex
import stat
import time
from pathlib import Path
from types import TracebackType

from wizard import PROGRAM
from wizard.core.errors import WizardError

_MODE = 0o600


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text:
            return int(text)
    return None


def _holder_pid(fd: int) -> int:
    """The pid a holder wrote, waiting briefly: a build writes it just after taking the
    lock, so a probe can land in between. 0 when no pid appears (a holder that is not
    this program)."""
    for _ in range(100):
        pid = _read_pid(fd)
        if pid:
            return pid
        time.sleep(0.01)
    return 0


def _open(path: Path, flags: int) -> int:
    """The lock file, opened; a link, a FIFO or a device planted in its place is
    refused in one line (O_NONBLOCK: opening a FIFO would wait for a writer)."""
    try:
        fd = os.open(path, flags | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, _MODE)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise _not_a_lock(path, "a symbolic link") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _not_a_lock(path, "not a plain file")
    return fd


def _not_a_lock(path: Path, what: str) -> WizardError:
    return WizardError(f"the build lock {path} is {what}, which no build of this program "
                       "makes", f"remove it (rm {shlex.quote(str(path))}) and run again")


def _try_exclusive(fd: int) -> bool:
    """Take the lock without waiting for a build; a viewer's probe (``running_pid``
    holds a shared lock for a few microseconds) is waited out, never mistaken for one."""
    for _ in range(20):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.01)
    return False


class BuildLock:
    """``with BuildLock(paths.lock):`` — the build's claim on its session.

    Refuses at once (never waits) when another process holds it, with a
    WizardError naming that process.
    """

    def __init__(self, path: Path, session: str | None = None) -> None:
        self.path = Path(path)
        self.session = session or self.path.parent.name
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = _open(self.path, os.O_RDWR | os.O_CREAT)
        try:
            os.fchmod(fd, _MODE)
            if not _try_exclusive(fd):
                pid = _holder_pid(fd)
                who = f"process {pid}" if pid else "another process"
                raise WizardError(
                    f"session {self.session!r} is being built by {who} right now",
                    f"follow it with `{PROGRAM} attach {self.session}`, or stop it with "
                    f"`{PROGRAM} sessions stop {self.session}` and run again",
                ) from None
            data = f"{os.getpid()}\n".encode("ascii")
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            # No pid left behind for a probe to read once the build is over.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> BuildLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def running_pid(path: Path) -> int | None:
    """The pid of the build holding the lock at ``path``, or None when no build runs.

    A shared, non-blocking probe: it never disturbs the holder and never waits.
    0 means a process holds the lock without having written its pid.
    """
    try:
        fd = _open(Path(path), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder_pid(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)

"""One bundle of a name in a folder at a time: a flock on ``.NAME.bundle-lock``.

Two runs writing the same bundle name into one folder would share part file
names: one fails on the other's part, and neither bundle is whole. The
second run is refused at once, naming the process that holds the lock.

The lock file lives beside the parts and holds the holder's pid (for the
message only: the flock is the lock). It is removed when the bundle ends;
one left by a killed run (kill -9, a power cut) holds no lock and is taken
over by the next run. Removing it on release is safe because a run that
locked a file no longer at that path (removed by the holder in between)
lets go and tries again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType

from wizard.core.errors import WizardError
from wizard.core.logs import get_logger

log = get_logger(__name__)
_TRIES = 20  # each retry means the holder released in between: a few suffice


def lock_path(destination: Path, name: str) -> Path:
    """The lock file of the bundle ``name`` in ``destination``."""
    return Path(destination) / f".{name}.bundle-lock"


class BundleLock:
    """Held while a bundle of ``name`` is made in ``destination`` (a context manager)."""

    def __init__(self, destination: Path, name: str) -> None:
        self.destination = Path(destination)
        self.name = name
        self.path = lock_path(destination, name)
        self._fd: int | None = None

    def __enter__(self) -> BundleLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or raise WizardError naming the process that has it."""
        for _ in range(_TRIES):
            # O_NOFOLLOW: a link planted under the lock's name is refused,
            # never followed (the pid would be written through it).
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                             0o600)
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                raise WizardError(
                    f"{self.path} is a link, not the lock file of a bundle; it was not made "
                    "by this tool", "remove it, or choose another folder for the bundle",
                    key="build.folder") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_pid(fd)
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                who = f"process {holder}" if holder else "another process"
                raise WizardError(
                    f"another bundle named {self.name} is being made in {self.destination} "
                    f"({who})",
                    "wait for it to finish (the same command then reuses its bundle), or "
                    "choose another folder for the bundle, or another name for it",
                    key="build.folder",
                ) from None
            if _same_file(fd, self.path):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode("ascii"))
                self._fd = fd
                log.debug("locked %s", self.path)
                return
            os.close(fd)  # the holder removed it as we opened it: try the new one
        raise WizardError(f"cannot lock the bundle {self.name} in {self.destination}: its "
                          "lock file keeps changing", "make sure no other program works in "
                          "that folder, or choose another folder for the bundle",
                          key="build.folder")

    def release(self) -> None:
        """Let go of the lock and remove its file (while still holding it)."""
        if self._fd is None:
            return
        if _same_file(self._fd, self.path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.lstat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None

"""The part files: the ciphertext cut into parts of exactly ``part_size`` bytes.

Each part is created exclusively (never another's file, never through a
link) and hashed as it is written. The writer keeps what it created, and
only that: clean-up removes those files while they are still the ones it
wrote, and ``check`` says whether every one is there, unchanged, before a
manifest names them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

from wizard.bundle.manifest import Part, part_name
from wizard.core.errors import WizardError
from wizard.core.logs import get_logger

log = get_logger(__name__)


def _identity(info: os.stat_result) -> tuple[int, ...]:
    """What tells the file written from any other: its inode, size and times.

    An inode number is reused at once by a file created after another is
    removed, so the inode alone would take a replacement for the part; the
    change time is set by the kernel on every write and cannot be set back.
    """
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class PartWriter:
    """Cut the ciphertext into parts of exactly ``part_size`` bytes as it flows."""

    def __init__(self, folder: Path, prefix: str, part_size: int, max_parts: int) -> None:
        self.folder = folder
        self.prefix = prefix
        self.part_size = part_size
        self.max_parts = max_parts
        self.parts: list[Part] = []
        # Only files this run created, each with its identity when written:
        # clean-up and the final check touch these and nothing else.
        self.paths: list[Path] = []
        self._ids: list[tuple[int, ...]] = []
        # The part being opened: a signal (Ctrl+C) can land between the
        # create and the line that records it, and a file created but not
        # recorded would be left behind. It is this run's unless the create
        # said it exists; under the bundle's lock no other run of the tool
        # writes parts of this name.
        self._opening: Path | None = None
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha1()  # noqa: S324 - the format's part digest
        self._filled = 0
        self.total = 0

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            if self._file is None:
                self._open()
            room = self.part_size - self._filled
            chunk = view[:room]
            assert self._file is not None
            self._file.write(chunk)
            self._hash.update(chunk)
            self._filled += len(chunk)
            self.total += len(chunk)
            view = view[len(chunk):]
            if self._filled == self.part_size:
                # Close a full part at once: a ciphertext that ends exactly
                # here must not leave an empty last part (section 1.5).
                self._close()

    def _open(self) -> None:
        index = len(self.parts)
        path = self.folder / part_name(self.prefix, index, self.max_parts)
        self._opening = path
        try:
            # Exclusive: never another's file, never through a planted link.
            self._file = open(path, "xb")  # noqa: SIM115 - closed in _close
        except FileExistsError:
            self._opening = None
            raise WizardError(
                f"the part {path} appeared while this bundle was being made (another program "
                "writes bundles of that name into that folder)",
                "stop the other program, or choose another folder for the bundle",
                key="build.folder") from None
        # Recorded only once created: a path this run did not create is
        # never this run's to remove.
        self.paths.append(path)
        self._opening = None
        self._hash = hashlib.sha1()  # noqa: S324
        self._filled = 0

    def _close_file(self) -> None:
        """Close the open part, keeping its identity (taken while it is held open)."""
        assert self._file is not None
        self._file.flush()
        self._ids.append(_identity(os.fstat(self._file.fileno())))
        self._file.close()
        self._file = None

    def _close(self) -> None:
        if self._file is None:
            return
        self._close_file()
        self.parts.append(Part(len(self.parts), self.paths[-1].name, self._hash.hexdigest()))
        log.debug("wrote part %s (%d bytes, SHA-1 %s)", self.paths[-1], self._filled,
                  self.parts[-1].sha1)

    def finish(self) -> None:
        self._close()

    def _ours(self, index: int) -> bool:
        """Whether the file at the path of part ``index`` is still the one written."""
        try:
            info = os.lstat(self.paths[index])
        except FileNotFoundError:
            return False
        return stat.S_ISREG(info.st_mode) and _identity(info) == self._ids[index]

    def check(self) -> None:
        """Every part there, the very file written, unchanged: before a manifest names them.

        Each part's SHA-1 was taken from the bytes written into that file;
        the same file, with the size and change time it had when closed, still
        holds them, without reading the whole bundle a second time.
        """
        for index, path in enumerate(self.paths):
            if not self._ours(index):
                raise WizardError(
                    f"the part {path} was removed or replaced while this bundle was being made; "
                    "the bundle is not whole",
                    f"make sure no other program works in {self.folder}, then bundle again")

    def abort(self) -> None:
        removed = 0
        if self._file is not None:
            # The part still open: its inode cannot be another file's while
            # it is held, so it is removed by that (a full disk may fail the
            # flush that closing would do first).
            held = os.fstat(self._file.fileno())
            with contextlib.suppress(OSError):
                info = os.lstat(self.paths[-1])
                if (info.st_dev, info.st_ino) == (held.st_dev, held.st_ino):
                    os.unlink(self.paths[-1])
                    removed += 1
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        if self._opening is not None and self._opening not in self.paths:
            with contextlib.suppress(FileNotFoundError):
                self._opening.unlink()
                removed += 1
        for index in range(len(self._ids)):
            if not self._ours(index):
                continue  # gone, or another's file now: not this run's to remove
            with contextlib.suppress(FileNotFoundError):
                self.paths[index].unlink()
                removed += 1
        if removed:
            log.info("removed the %d part file(s) of the unfinished bundle", removed)

"""Where an unbundled image lands: inside the destination folder, and only there.

The folder is opened once and every later step works relative to that open
folder (``dir_fd``), so a folder renamed or swapped for a link meanwhile
cannot redirect a write. The image is written to a temporary file created
exclusively under a name nobody can guess, never through a link, and then
given its final name in the same folder: by a hard link, which fails rather
than replace a file that appeared meanwhile, or (``force``) by a rename,
which replaces a file or link of that name without following it. Until then
the final name is untouched; on any failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from wizard.core.dirs import make_dirs, remove_created
from wizard.core.errors import WizardError

# File systems without hard links (vfat, some network and FUSE ones) answer so.
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV}
_TRIES = 20
# Room the temporary name leaves for the image's name (NAME_MAX is 255 bytes).
_TMP_NAME_BYTES = 200


def check_destination(destination: Path) -> None:
    """Refuse a destination that exists and is not a folder (before any work)."""
    if os.path.lexists(destination) and not destination.is_dir():
        raise WizardError(f"the destination {destination} is not a folder",
                          "give a folder (a missing one is created)", key="build.output")


def _refuse_taken(target: Path, info: os.stat_result, force: bool) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise WizardError(f"{target} is a folder",
                          "remove or rename it, or choose another destination folder",
                          key="build.output")
    if not force:
        raise WizardError(f"{target} already exists",
                          "remove it or choose another destination folder, or replace it",
                          key="build.replace")


def refuse_taken(destination: Path, name: str, force: bool) -> None:
    """Refuse early a final name already taken (checked again when writing)."""
    try:
        info = os.lstat(destination / name)
    except (FileNotFoundError, NotADirectoryError):
        return
    _refuse_taken(destination / name, info, force)


class Landing:
    """The destination folder, open, and the image's temporary file in it."""

    def __init__(self, destination: Path, name: str, force: bool) -> None:
        self.destination = destination
        self.name = name
        self.force = force
        self.made = make_dirs(destination)  # each level it creates 0700
        try:
            self.dir_fd = os.open(destination, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except NotADirectoryError:
            self._remove_made()
            raise WizardError(f"the destination {destination} is not a folder",
                              "give a folder (a missing one is created)",
                              key="build.output") from None
        except BaseException:
            self._remove_made()
            raise
        self.tmp_name: str | None = None
        self.placed = False

    @property
    def target(self) -> Path:
        return self.destination / self.name

    def refuse_existing(self) -> None:
        """Refuse a final name already taken (a folder always, a file unless ``force``)."""
        try:
            info = os.lstat(self.name, dir_fd=self.dir_fd)
        except FileNotFoundError:
            return
        _refuse_taken(self.target, info, self.force)

    def create(self) -> int:
        """Open a new temporary file exclusively (never through a link); its fd."""
        stem = self.name.encode("utf-8", "surrogateescape")[:_TMP_NAME_BYTES]
        stem_text = stem.decode("utf-8", "ignore")
        flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC)
        for _ in range(_TRIES):
            # Named before it is made: an interrupt (Ctrl+C, SIGTERM) landing
            # just after the open still finds the file to remove. The name
            # is unguessable, so a file already under it is nobody's.
            self.tmp_name = f".{stem_text}.{secrets.token_hex(8)}.unbundling"
            try:
                return os.open(self.tmp_name, flags, 0o644, dir_fd=self.dir_fd)
            except FileExistsError:
                self.tmp_name = None
        raise WizardError(f"cannot create a temporary file in {self.destination}",
                          "remove the .*.unbundling files there, or choose another "
                          "destination folder", key="build.output")

    def place(self) -> None:
        """Give the finished temporary file its final name, in the same folder."""
        assert self.tmp_name is not None
        fd = self.dir_fd
        if self.force:
            os.replace(self.tmp_name, self.name, src_dir_fd=fd, dst_dir_fd=fd)
        else:
            try:
                os.link(self.tmp_name, self.name, src_dir_fd=fd, dst_dir_fd=fd,
                        follow_symlinks=False)
            except FileExistsError:
                raise WizardError(
                    f"{self.target} appeared while unbundling",
                    "remove it or choose another destination folder, or replace it",
                    key="build.replace",
                ) from None
            except OSError as exc:
                if exc.errno not in _NO_LINKS:
                    raise
                # No hard links here: a rename, after one more look at the name.
                self.refuse_existing()
                os.rename(self.tmp_name, self.name, src_dir_fd=fd, dst_dir_fd=fd)
            else:
                os.unlink(self.tmp_name, dir_fd=fd)
        self.tmp_name = None
        self.placed = True
        with contextlib.suppress(OSError):
            os.fsync(fd)  # the new entry is durable only once the folder is

    def close(self) -> None:
        """Remove the temporary file (if still there) and close the folder."""
        if self.tmp_name is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp_name, dir_fd=self.dir_fd)
            self.tmp_name = None
        os.close(self.dir_fd)
        if not self.placed:
            self._remove_made()

    def _remove_made(self) -> None:
        # Only the folders this run created, and only while empty.
        remove_created(self.made)

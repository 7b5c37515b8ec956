"""Unpack a syslinux release without letting any member land outside the folder.

A tarball is checked whole before anything is written: a member with an
absolute path, a ``..`` step, or a link (symbolic or hard) whose target
resolves outside the folder refuses the whole archive, as do device files.
Python's ``data`` extraction filter (3.10.12+, 3.11.4+) is applied as well
where it exists, as a second line of defence.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from pathlib import Path, PurePosixPath
from typing import Literal

from wizard.core.errors import WizardError


def _refuse(tarball: Path, member: str, why: str) -> WizardError:
    return WizardError(
        f"refusing {tarball}: its member {member!r} {why}",
        "download the syslinux release again from kernel.org and check its signature",
    )


def _inside(name: str) -> bool:
    """Whether a relative POSIX path stays inside its top folder."""
    depth = 0
    for part in PurePosixPath(name).parts:
        if part in ("", "."):
            continue
        depth += -1 if part == ".." else 1
        if depth < 0:
            return False
    return True


def check_members(tarball: Path, members: list[tarfile.TarInfo]) -> None:
    """Raise WizardError at the first member that could escape the folder."""
    for member in members:
        name = member.name
        if name.startswith("/") or PurePosixPath(name).is_absolute() or (
            len(name) > 1 and name[1] == ":"
        ):
            raise _refuse(tarball, name, "has an absolute path")
        if ".." in PurePosixPath(name).parts or not _inside(name):
            raise _refuse(tarball, name, "points outside the folder ('..')")
        if member.issym():
            target = member.linkname
            if target.startswith("/"):
                raise _refuse(tarball, name, f"is a symbolic link to an absolute path ({target})")
            joined = posixpath.join(posixpath.dirname(name), target)
            if not _inside(joined):
                raise _refuse(tarball, name, f"is a symbolic link pointing outside ({target})")
        elif member.islnk():
            target = member.linkname
            if target.startswith("/") or not _inside(target):
                raise _refuse(tarball, name, f"is a hard link pointing outside ({target})")
        elif not (member.isfile() or member.isdir()):
            raise _refuse(tarball, name, "is a device, FIFO or other special file")


# Compressed archives by their first bytes; a plain tar by "ustar" at 257.
ReadMode = Literal["r:", "r:gz", "r:bz2", "r:xz"]
_MAGIC: tuple[tuple[bytes, ReadMode], ...] = (
    (b"\x1f\x8b", "r:gz"),
    (b"BZh", "r:bz2"),
    (b"\xfd7zXZ\x00", "r:xz"),
)


def archive_mode(tarball: Path) -> ReadMode | None:
    """The ``tarfile`` mode that opens ``tarball``, None when it is no tar archive.

    Decided from the magic bytes, not by trying every decompressor as
    ``r:*`` does: the xz reader takes zero bytes for stream padding and would
    read a large file of zeros to its end before giving up.
    """
    with open(tarball, "rb") as handle:
        head = handle.read(512)
    for magic, mode in _MAGIC:
        if head.startswith(magic):
            return mode
    if head[257:262] == b"ustar":
        return "r:"
    return None


def extract_release(tarball: Path, dest: Path) -> None:
    """Extract ``tarball`` (.tar, .tar.gz, .tar.xz, .tar.bz2) into ``dest``."""
    tarball = Path(tarball)
    try:
        mode = archive_mode(tarball)
        if mode is None:
            raise WizardError(
                f"{tarball} is not a tar archive (plain, gzip, bzip2 or xz)",
                "give a syslinux release tarball (.tar.gz, .tar.xz or .tar.bz2) or its "
                "folder",
            )
        with tarfile.open(tarball, mode) as archive:
            members = archive.getmembers()
            check_members(tarball, members)
            dest.mkdir(parents=True, exist_ok=True)
            if hasattr(tarfile, "data_filter"):
                archive.extractall(dest, members=members, filter="data")
            else:  # pragma: no cover - Python before 3.10.12 / 3.11.4
                archive.extractall(dest, members=members)  # noqa: S202 - checked above
    except FileNotFoundError as exc:
        raise WizardError(
            f"{tarball} does not exist", "give the path of a syslinux release tarball"
        ) from exc
    except (tarfile.TarError, EOFError) as exc:
        filter_error = getattr(tarfile, "FilterError", None)
        if filter_error is not None and isinstance(exc, filter_error):
            member = getattr(exc, "tarinfo", None)
            raise _refuse(tarball, getattr(member, "name", "?"),
                          f"was refused by the extraction filter ({exc})") from exc
        raise WizardError(
            f"{tarball} is damaged or cut short ({exc})",
            "give a syslinux release tarball (.tar.gz, .tar.xz or .tar.bz2) or its folder",
        ) from exc
    except OSError as exc:
        raise WizardError(
            f"cannot extract {tarball} ({exc.strerror or exc})",
            f"check the free space and permissions of {dest.parent}",
        ) from exc
    # Release tarballs sometimes carry read-only folders: make needs to write
    # in them and the clean-up to remove them. The work folder is private.
    for folder, _dirs, _files in os.walk(dest):
        Path(folder).chmod(0o700)

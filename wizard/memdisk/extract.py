"""Unpack a syslinux release so that nothing lands outside the work folder.

Release tarballs come from the internet: hostile until checked, on every
Python the tool supports (Debian 12's 3.11.2 has no tarfile extraction
filter, and where the filter exists it has had bypasses), so none is relied
on. Extraction goes in three steps:

1. Every member is checked by name before anything is written: absolute
   names, ``..`` steps, device nodes and FIFOs, names given twice (a folder
   replaced by a link), members inside a link or a file, symbolic links whose
   target leaves the folder, hard links to anything but an earlier file of
   the archive. One refused member refuses the whole archive.
2. Folders and files are written with every path component opened relative
   to its parent's descriptor without following links (``O_NOFOLLOW``), and
   files created exclusively (``O_EXCL``): no member is written through a
   link, whatever is on disk. Hard links become copies of their file.
3. Symbolic links come last, each target resolved against the tree as it
   stands on disk: a target through or onto another link (a chain, or links
   to ``.`` stacked up) or leaving the folder is refused, and every link is
   checked once more with the kernel's own resolution at the end.

A refused or failed extraction removes the folder it made. Only the
standard library and ``wizard.core`` are imported, so any Python can run it.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from wizard.core.dirs import make_dirs
from wizard.core.errors import WizardError
from wizard.core.names import shown

_FIX = "download the syslinux release again from kernel.org and check its signature"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


def _refuse(tarball: Path, member: str, why: str) -> WizardError:
    return WizardError(f"refusing {tarball}: its member {shown(member)} {why}", _FIX,
                       key="build.syslinux_source")


def _components(name: str) -> tuple[str, ...]:
    """The steps of a relative member name (``./`` and empty steps dropped)."""
    return tuple(part for part in name.split("/") if part not in ("", "."))


def _inside(steps: tuple[str, ...]) -> bool:
    """Whether ``steps`` (``..`` allowed) stay inside the top folder, as text."""
    depth = 0
    for step in steps:
        depth += -1 if step == ".." else 1
        if depth < 0:
            return False
    return True


@dataclass(frozen=True)
class _Plan:
    """The checked members, by kind, with their names split into steps."""

    folders: list[tuple[tuple[str, ...], tarfile.TarInfo]]
    files: list[tuple[tuple[str, ...], tarfile.TarInfo]]
    hard_links: list[tuple[tuple[str, ...], tuple[str, ...], tarfile.TarInfo]]
    links: list[tuple[tuple[str, ...], tarfile.TarInfo]]


def check_members(tarball: Path, members: list[tarfile.TarInfo]) -> _Plan:
    """Raise WizardError at the first member that could escape; the plan otherwise."""
    plan = _Plan([], [], [], [])
    kinds: dict[tuple[str, ...], str] = {}   # every name, and what it is
    for member in members:
        name = member.name
        if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            raise _refuse(tarball, name, "has an absolute path")
        steps = _components(name)
        if ".." in steps:
            raise _refuse(tarball, name, "points outside the folder ('..')")
        if not steps:
            if member.isdir():
                continue  # "./": the top folder itself
            raise _refuse(tarball, name, "has no name")
        if member.isdir():
            kind = "folder"
        elif member.isfile():
            kind = "file"
        elif member.issym():
            kind = "link"
        elif member.islnk():
            kind = "hard link"
        else:
            raise _refuse(tarball, name, "is a device, FIFO or other special file")
        for depth in range(1, len(steps)):
            above = kinds.get(steps[:depth])
            if above is None:
                kinds[steps[:depth]] = "folder"
            elif above != "folder":
                raise _refuse(tarball, name, f"lies inside a {above} of the archive "
                              f"({shown('/'.join(steps[:depth]))})")
        if steps in kinds:
            if kinds[steps] == "folder" == kind:
                continue  # a folder named again (or after its contents): harmless
            raise _refuse(tarball, name, f"is given twice (a {kinds[steps]}, then a {kind})")
        kinds[steps] = kind
        if kind == "folder":
            plan.folders.append((steps, member))
        elif kind == "file":
            plan.files.append((steps, member))
        elif kind == "link":
            target = member.linkname
            if target.startswith("/"):
                raise _refuse(tarball, name,
                              f"is a symbolic link to an absolute path ({shown(target)})")
            if not target or not _inside(steps[:-1] + tuple(
                    part for part in target.split("/") if part not in ("", "."))):
                raise _refuse(tarball, name,
                              f"is a symbolic link pointing outside ({shown(target)})")
            plan.links.append((steps, member))
        else:
            target = member.linkname
            source = _components(target)
            if target.startswith("/") or ".." in source or not source:
                raise _refuse(tarball, name, f"is a hard link pointing outside ({shown(target)})")
            if kinds.get(source) != "file":
                raise _refuse(tarball, name, f"is a hard link to {shown(target)}, which is "
                              "not a file earlier in the archive")
            plan.hard_links.append((steps, source, member))
    return plan


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


class _Tree:
    """The work folder, open, and folders below it opened without following links."""

    def __init__(self, tarball: Path, root_fd: int) -> None:
        self.tarball = tarball
        self.root_fd = root_fd

    def open_folder(self, steps: tuple[str, ...], member: str) -> int:
        """A descriptor of the folder ``steps`` (made 0700 where missing); never a link."""
        fd = os.dup(self.root_fd)
        try:
            for step in steps:
                try:
                    child = os.open(step, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    os.mkdir(step, 0o700, dir_fd=fd)
                    child = os.open(step, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise _refuse(self.tarball, member,
                                      "would be written through a link or a file") from None
                    raise
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def write_file(self, steps: tuple[str, ...], member: tarfile.TarInfo,
                   data: IO[bytes] | None, copy_of: tuple[str, ...] = ()) -> None:
        parent = self.open_folder(steps[:-1], member.name)
        try:
            # Owner read/write always; execute bits kept; set-id and sticky bits never.
            mode = (member.mode & 0o755) | 0o600
            try:
                out = os.open(steps[-1], _FILE_FLAGS, mode, dir_fd=parent)
            except FileExistsError:
                raise _refuse(self.tarball, member.name,
                              "collides with something already extracted") from None
            with os.fdopen(out, "wb") as handle:
                if copy_of:
                    source = self._open_file(copy_of, member.name)
                    with os.fdopen(source, "rb") as original:
                        shutil.copyfileobj(original, handle, _CHUNK)
                elif data is not None:
                    shutil.copyfileobj(data, handle, _CHUNK)
                handle.flush()
                os.fchmod(handle.fileno(), mode)
                # make compares times: shipped outputs must stay newer than sources.
                os.utime(handle.fileno(), (member.mtime, member.mtime))
        finally:
            os.close(parent)

    def _open_file(self, steps: tuple[str, ...], member: str) -> int:
        parent = self.open_folder(steps[:-1], member)
        try:
            fd = os.open(steps[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        finally:
            os.close(parent)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise _refuse(self.tarball, member, "is a hard link to something not a file")
        return fd

    def _kind(self, steps: tuple[str, ...]) -> str:
        """What ``steps`` is on disk now: "folder", "file", "link", "missing" or "other"."""
        parent = self.open_folder(steps[:-1], "/".join(steps)) if steps else os.dup(self.root_fd)
        try:
            if not steps:
                return "folder"
            try:
                info = os.lstat(steps[-1], dir_fd=parent)
            except FileNotFoundError:
                return "missing"
        finally:
            os.close(parent)
        if stat.S_ISLNK(info.st_mode):
            return "link"
        if stat.S_ISDIR(info.st_mode):
            return "folder"
        return "file" if stat.S_ISREG(info.st_mode) else "other"

    def check_target(self, steps: tuple[str, ...], member: tarfile.TarInfo) -> None:
        """Refuse a link whose target, walked on disk, meets a link or leaves the tree."""
        where = list(steps[:-1])
        parts = [part for part in member.linkname.split("/") if part not in ("", ".")]
        for position, part in enumerate(parts):
            if part == "..":
                if not where:
                    raise _refuse(self.tarball, member.name, "is a symbolic link pointing "
                                  f"outside ({shown(member.linkname)})")
                where.pop()
                continue
            where.append(part)
            kind = self._kind(tuple(where))
            if kind == "link":
                raise _refuse(self.tarball, member.name, "is a symbolic link to another "
                              f"link ({shown(member.linkname)}): link chains are refused")
            if kind == "missing" and position < len(parts) - 1:
                raise _refuse(self.tarball, member.name, "is a symbolic link through "
                              f"something missing ({shown(member.linkname)})")
            if kind in ("file", "other") and position < len(parts) - 1:
                raise _refuse(self.tarball, member.name, "is a symbolic link through a "
                              f"file ({shown(member.linkname)})")

    def make_link(self, steps: tuple[str, ...], member: tarfile.TarInfo) -> None:
        self.check_target(steps, member)
        parent = self.open_folder(steps[:-1], member.name)
        try:
            os.symlink(member.linkname, steps[-1], dir_fd=parent)
        except FileExistsError:
            raise _refuse(self.tarball, member.name,
                          "collides with something already extracted") from None
        finally:
            os.close(parent)


def _confirm_links(tarball: Path, dest: Path, links: list[tuple[tuple[str, ...],
                                                             tarfile.TarInfo]]) -> None:
    """Every link, resolved by the kernel in the finished tree, stays inside it."""
    top = os.path.realpath(dest)
    for steps, member in links:
        resolved = os.path.realpath(os.path.join(dest, *steps))
        if os.path.commonpath([top, resolved]) != top:
            raise _refuse(tarball, member.name,
                          f"is a symbolic link pointing outside ({shown(member.linkname)})")


def _extract(tarball: Path, archive: tarfile.TarFile, plan: _Plan, dest: Path) -> None:
    root_fd = os.open(dest, _DIR_FLAGS)
    try:
        tree = _Tree(tarball, root_fd)
        for steps, _member in plan.folders:
            os.close(tree.open_folder(steps, "/".join(steps)))
        for steps, member in plan.files:
            data = archive.extractfile(member)
            try:
                tree.write_file(steps, member, data)
            finally:
                if data is not None:
                    data.close()
        for steps, source, member in plan.hard_links:
            tree.write_file(steps, member, None, copy_of=source)
        for steps, member in plan.links:
            tree.make_link(steps, member)
    finally:
        os.close(root_fd)
    _confirm_links(tarball, dest, plan.links)


def extract_release(tarball: Path, dest: Path) -> None:
    """Extract ``tarball`` (.tar, .tar.gz, .tar.xz, .tar.bz2) into ``dest`` (made here)."""
    tarball, dest = Path(tarball), Path(dest)
    made = False
    try:
        mode = archive_mode(tarball)
        if mode is None:
            raise WizardError(
                f"{tarball} is not a tar archive (plain, gzip, bzip2 or xz)",
                "give a syslinux release tarball (.tar.gz, .tar.xz or .tar.bz2) or its "
                "folder",
            )
        with tarfile.open(tarball, mode) as archive:
            plan = check_members(tarball, archive.getmembers())
            make_dirs(dest.parent)  # every new level 0700
            os.mkdir(dest, 0o700)
            made = True
            _extract(tarball, archive, plan, dest)
    except BaseException as exc:
        if made:
            # shutil.rmtree never follows links: it removes them, not what they name.
            shutil.rmtree(dest, ignore_errors=True)
        _reword(tarball, dest, exc)
        raise


def _reword(tarball: Path, dest: Path, exc: BaseException) -> None:
    """Raise the operator's one-line error for a failure of the OS or of tarfile."""
    if isinstance(exc, WizardError):
        return
    if isinstance(exc, FileNotFoundError) and not os.path.lexists(tarball):
        raise WizardError(
            f"{tarball} does not exist", "give the path of a syslinux release tarball"
        ) from exc
    if isinstance(exc, (tarfile.TarError, EOFError)):
        raise WizardError(
            f"{tarball} is damaged or cut short ({exc})",
            "give a syslinux release tarball (.tar.gz, .tar.xz or .tar.bz2) or its folder",
        ) from exc
    if isinstance(exc, OSError):
        raise WizardError(
            f"cannot extract {tarball} ({exc.strerror or exc})",
            f"check the free space and permissions of {dest.parent}",
        ) from exc

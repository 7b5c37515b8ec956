"""Read the root folder of an NTFS partition inside a disk image, without root.

The Sleuth Kit (through pytsk3) reads NTFS straight from the image file at
the partition's offset: no mount, no loop device, no ntfs-3g, no root. Only
the root folder and small files in it (BOOT.INI) are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# BOOT.INI is a few hundred bytes; a larger file is read only this far.
MAX_READ = 64 * 1024
NTFS_OEM_ID = b"NTFS    "


class NtfsUnreadable(Exception):
    """The file system could not be read; the message says why, in words."""


@dataclass(frozen=True)
class NtfsRoot:
    """The root folder of one NTFS volume: names as stored, and file sizes."""

    names: tuple[str, ...]
    # Upper-case name -> size in bytes, for regular files only.
    file_sizes: dict[str, int] = field(default_factory=dict)
    # Upper-case name -> name as stored (NTFS keeps case, Windows ignores it).
    _stored: dict[str, str] = field(default_factory=dict)
    _fs: Any = None

    def read(self, name: str, limit: int = MAX_READ) -> bytes:
        """The first ``limit`` bytes of a root-folder file (any case)."""
        stored = self._stored.get(name.upper())
        if stored is None or self._fs is None:
            raise NtfsUnreadable(f"{name} is not in the root folder")
        try:
            handle = self._fs.open("/" + stored)
            size = int(handle.info.meta.size)
            data: bytes = handle.read_random(0, min(size, limit)) if size else b""
        except OSError as exc:
            raise NtfsUnreadable(f"{name} could not be read ({exc})") from exc
        return data

    def is_folder(self, path: str) -> bool:
        """Whether ``path`` (``WINDOWS/SysWOW64``, any case) is a folder on the volume."""
        if self._fs is None:
            return False
        import pytsk3

        try:
            meta = self._fs.open("/" + path.strip("/\\").replace("\\", "/")).info.meta
        except OSError:
            return False
        return meta is not None and meta.type == pytsk3.TSK_FS_META_TYPE_DIR


def read_ntfs_root(image: Path, offset: int) -> NtfsRoot:
    """The root folder of the NTFS volume starting ``offset`` bytes into ``image``."""
    try:
        with open(image, "rb") as handle:
            handle.seek(offset)
            boot = handle.read(512)
    except OSError as exc:
        raise NtfsUnreadable(f"the partition's first sector could not be read ({exc})") from exc
    if boot[3:11] != NTFS_OEM_ID:
        raise NtfsUnreadable("the partition is typed NTFS but holds no NTFS boot sector "
                             "(not formatted, or another file system)")
    try:
        import pytsk3
    except ImportError as exc:
        raise NtfsUnreadable("pytsk3 (The Sleuth Kit for Python) is not installed; "
                             "install it with: pip install pytsk3") from exc
    try:
        fs = pytsk3.FS_Info(pytsk3.Img_Info(str(image)), offset=offset)
        folder = fs.open_dir("/")
    except OSError as exc:
        raise NtfsUnreadable(f"The Sleuth Kit could not open the NTFS volume ({exc})") from exc
    names: list[str] = []
    sizes: dict[str, int] = {}
    stored: dict[str, str] = {}
    for entry in folder:
        name = entry.info.name.name.decode("utf-8", errors="replace")
        # NTFS metadata files ($MFT…) and TSK's virtual folders are not Windows' files.
        if name in (".", "..") or name.startswith("$"):
            continue
        names.append(name)
        stored[name.upper()] = name
        meta = entry.info.meta
        if meta is not None and meta.type == pytsk3.TSK_FS_META_TYPE_REG:
            sizes[name.upper()] = int(meta.size)
    return NtfsRoot(names=tuple(sorted(names, key=str.upper)), file_sizes=sizes,
                    _stored=stored, _fs=fs)

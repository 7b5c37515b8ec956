"""What an inspection of the Windows disk image found (shared by the steps).

The prerequisites step fills a ``DiskReport``; the floppy step reads it to
name the files this build's floppy needs and to check that the floppy's
BOOT.INI points at a partition and folder that exist on the disk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Partition:
    """One MBR partition, numbered from 1 as ARC paths count them."""

    number: int
    type_id: int
    active: bool
    # Both in bytes: from the start of the disk image, and the length.
    start: int
    size: int
    # Names in the partition's root folder, as stored (case kept); None
    # when the file system could not be read.
    root_entries: tuple[str, ...] | None = None

    @property
    def is_ntfs(self) -> bool:
        return self.type_id == 0x07

    def has_root_entry(self, name: str) -> bool | None:
        """Whether ``name`` is in the root folder (None when unreadable)."""
        if self.root_entries is None:
            return None
        return name.upper() in {entry.upper() for entry in self.root_entries}


@dataclass(frozen=True)
class DiskReport:
    """The findings about one disk image; ``problems`` stop a build."""

    path: Path
    format: str
    size: int
    partitions: tuple[Partition, ...] = ()
    # File name (upper case) -> size in bytes, at the root of the active
    # NTFS partition: NTLDR, NTDETECT.COM, BOOT.INI, NTBOOTDD.SYS, BOOTMGR.
    boot_files: dict[str, int] = field(default_factory=dict)
    boot_ini_text: str | None = None
    nt6: bool = False
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # The ARC paths BOOT.INI names (default= first, then each entry, no
    # repeats), as written.
    arc_paths: tuple[str, ...] = ()
    # Whether BOOT.INI boots through scsi()/signature() and so needs
    # NTBOOTDD.SYS on the floppy; None when BOOT.INI could not be read.
    needs_ntbootdd: bool | None = None
    # The recipe the findings were judged for: "memdisk" or "native".
    recipe: str = "memdisk"

    @property
    def floppy_files(self) -> tuple[str, ...]:
        """The files the memdisk recipe's floppy needs, from the disk's root."""
        files = ("NTLDR", "NTDETECT.COM", "BOOT.INI")
        return (*files, "NTBOOTDD.SYS") if self.needs_ntbootdd else files

    @property
    def system_partition(self) -> Partition | None:
        """The active NTFS partition, else the first NTFS one."""
        ntfs = [p for p in self.partitions if p.is_ntfs]
        for partition in ntfs:
            if partition.active:
                return partition
        return ntfs[0] if ntfs else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for a session's state file: the floppy step reads it back
        with ``from_dict`` after a resume, without inspecting the disk again."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiskReport:
        """The report ``as_dict`` wrote (lists back to tuples)."""
        partitions = tuple(
            Partition(**{**part, "root_entries": None if part.get("root_entries") is None
                         else tuple(part["root_entries"])})
            for part in data.get("partitions", ()))
        return cls(
            path=Path(data["path"]), format=data["format"], size=int(data["size"]),
            partitions=partitions, boot_files=dict(data.get("boot_files", {})),
            boot_ini_text=data.get("boot_ini_text"), nt6=bool(data.get("nt6", False)),
            problems=tuple(data.get("problems", ())), warnings=tuple(data.get("warnings", ())),
            arc_paths=tuple(data.get("arc_paths", ())),
            needs_ntbootdd=data.get("needs_ntbootdd"), recipe=data.get("recipe", "memdisk"),
        )

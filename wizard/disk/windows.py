"""Which Windows the disk image holds: 32-bit (i386) or 64-bit (x86_64).

A 64-bit Windows (XP x64, Server 2003 x64) keeps its 32-bit system files in
``\\WINDOWS\\SysWOW64`` beside ``system32``; a 32-bit one has no such folder.
The folder is looked for, with the NTFS reader (no root, no mounting), in
the Windows folder BOOT.INI starts (else every partition's ``WINDOWS`` or
``WINNT``). Whatever cannot be read is said, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wizard.core.errors import WizardError
from wizard.disk.bootini import parse_arc_path
from wizard.disk.formats import RAW, describe_format
from wizard.disk.inspect import inspect_disk
from wizard.disk.ntfs import NtfsUnreadable, read_ntfs_root
from wizard.disk.report import DiskReport, Partition


@dataclass(frozen=True)
class WindowsArchitecture:
    """``arch`` is ``"i386"``, ``"x86_64"`` or None (could not be told); ``why`` says how."""

    arch: str | None
    why: str


def _places(report: DiskReport) -> list[tuple[Partition, str]]:
    """(partition, Windows folder) to look in: BOOT.INI's first, then the usual names."""
    places: list[tuple[Partition, str]] = []
    if report.arc_paths:
        path = parse_arc_path(report.arc_paths[0])
        booted = next((p for p in report.partitions if p.number == path.partition), None)
        if booted is not None and path.folder:
            places.append((booted, path.folder.strip("\\").split("\\")[0]))
    for partition in report.partitions:
        for folder in ("WINDOWS", "WINNT"):
            if partition.has_root_entry(folder) and (partition, folder) not in places:
                places.append((partition, folder))
    return places


def _short(problem: str, path: Path) -> str:
    """An inspection's problem as a reason: the first clause, the image called "it"."""
    text = problem.replace(str(path), "it", 1)
    for stop in (": ", "; "):
        text = text.split(stop, 1)[0]
    return text.rstrip(".")


def windows_architecture(image: Path) -> WindowsArchitecture:
    """Read the architecture of the Windows installed on ``image``."""
    try:
        report = inspect_disk(Path(image))
    except WizardError as exc:
        return WindowsArchitecture(None, exc.message)
    if report.format != RAW:
        return WindowsArchitecture(None, f"it is a {describe_format(report.format)} image, not raw")
    places = _places(report)
    if not places:
        why = _short(report.problems[0], report.path) if report.problems else \
            "no partition holds a WINDOWS or WINNT folder"
        return WindowsArchitecture(None, why)
    for partition, folder in places:
        try:
            root = read_ntfs_root(report.path, partition.start)
        except NtfsUnreadable:
            continue
        if not root.is_folder(f"{folder}/system32"):
            continue
        where = f"partition {partition.number}"
        if root.is_folder(f"{folder}/SysWOW64"):
            return WindowsArchitecture(
                "x86_64", f"{where} has \\{folder}\\SysWOW64: a 64-bit Windows")
        return WindowsArchitecture(
            "i386", f"{where} has \\{folder}\\system32 and no \\{folder}\\SysWOW64: "
            "a 32-bit Windows")
    return WindowsArchitecture(None, "no \\WINDOWS\\system32 folder could be read on it")

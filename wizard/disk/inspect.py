"""Look inside the Windows disk image, without root and without mounting it.

``inspect_disk`` fills a ``DiskReport``: the format (raw or not), the MBR
and its partitions, the system NTFS partition, the NT boot files at its
root, and the ARC paths in BOOT.INI (read by ``wizard.disk.bootini``, the
same parser the floppy check uses). What is certain is a *problem* and stops
a build: not raw, no MBR, GPT, no NTFS partition, NT 6+ in the memdisk
recipe, a boot file missing. What could not be read (an NTFS volume the
reader cannot open) is a *warning* that says what was not checked.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from wizard.core.choices import RECIPES
from wizard.core.errors import WizardError
from wizard.core.logs import get_logger
from wizard.disk.bootini import ArcPath, BootIni, parse_boot_ini_bytes
from wizard.disk.formats import (
    RAW,
    describe_format,
    detect_format,
    image_size,
    virtual_size,
)
from wizard.disk.mbr import SECTOR, MbrEntry, read_partition_table
from wizard.disk.ntfs import NTFS_OEM_ID, NtfsRoot, NtfsUnreadable, read_ntfs_root
from wizard.disk.report import DiskReport, Partition

# A 1.44 MB floppy image, and a 2.88 MB one.
FLOPPY_SIZES = (1_474_560, 2 * 1_474_560)

log = get_logger(__name__)

# The files NTLDR-era Windows (NT 5.x) boots from, and Vista's boot manager.
BOOT_FILES = ("NTLDR", "NTDETECT.COM", "BOOT.INI", "NTBOOTDD.SYS", "BOOTMGR")


def conversion_command(image: Path, fmt: str, dest: Path) -> str:
    """The qemu-img command line that converts ``image`` to raw at ``dest``, quoted as a
    shell needs (a fix text the operator pastes: a path with a space stays one word)."""
    return " ".join(["qemu-img convert -p -f", shlex.quote(fmt), "-O raw",
                     shlex.quote(str(image)), shlex.quote(str(dest))])


def raw_name(image: Path) -> str:
    """The file name a converted image gets: ``xp.qcow2`` -> ``xp.raw``."""
    return f"{Path(image).stem or Path(image).name}.raw"


def inspect_disk(path: Path, recipe: str = "memdisk") -> DiskReport:
    """Inspect the disk image at ``path`` for ``recipe`` (memdisk or native).

    Raises WizardError only when the file cannot be opened at all; every
    finding about its contents is in the report. The report's ``size`` is
    the size of the disk inside: the file's size for raw, the virtual size
    (what conversion writes) for the other formats.
    """
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}")
    path = Path(path)
    fmt = detect_format(path)
    if fmt != RAW:
        return _not_raw(path, fmt, recipe)
    try:
        with open(path, "rb") as handle:
            # seek, not fstat: an LVM volume's st_size is 0.
            size = handle.seek(0, 2)

            def read_sector(lba: int) -> bytes:
                handle.seek(lba * SECTOR)
                return handle.read(SECTOR)

            sector0 = read_sector(0)
            table = read_partition_table(sector0, read_sector)
    except OSError as exc:
        raise WizardError(f"cannot read the disk image {path} ({exc.strerror})",
                          "check the file's permissions") from exc
    finder = _Findings(recipe)
    if size < SECTOR:
        finder.problem(f"{path} is {size} bytes: too small to be a disk image")
        return finder.report(path, fmt, size, ())
    if sector0[3:11] == NTFS_OEM_ID:
        # A volume boot sector also ends in 0x55AA: without this, its boot
        # code would be read as a partition table of garbage.
        finder.problem(
            f"{path} starts with an NTFS boot sector, not an MBR: it is the image of "
            "one partition (C:), not of the whole disk; give the image of the whole "
            "disk (the VM's disk file, or /dev/sdX rather than /dev/sdX1)"
        )
        return finder.report(path, fmt, size, ())
    if size in FLOPPY_SIZES and sector0[54:59] == b"FAT12" and sector0[11:13] == b"\x00\x02":
        # A floppy's boot sector ends in 0x55AA too: its boot code would be
        # read as a partition table of garbage ("no NTFS partition").
        finder.problem(
            f"{path} is a floppy image (1.44 MB, FAT12) given as the disk image; give the "
            "Windows system disk (the VM's disk file) as the disk image, and the floppy as "
            "build.floppy"
        )
        return finder.report(path, fmt, size, ())
    if not table.has_signature:
        finder.problem(
            f"{path} has no MBR (no 0x55AA signature in its first sector): it is not "
            "a whole-disk image; give the image of the whole disk, not of one partition"
        )
        return finder.report(path, fmt, size, ())
    if table.gpt:
        finder.problem(
            f"{path} has a GPT partition table; Windows NT 5.x (XP, Server 2003) boots "
            "only from an MBR disk: reinstall on a disk with an MBR (msdos) label"
        )
        return finder.report(path, fmt, size, _partitions(table.entries, None))
    system = _system_partition(table.entries)
    if system is None:
        kinds = ", ".join(f"{e.number}: {e.type_name}" for e in table.entries) or "none"
        finder.problem(
            f"{path} has no NTFS partition (type 0x07; partitions {kinds}); "
            "Windows must be installed on an NTFS partition of this disk"
        )
        return finder.report(path, fmt, size, _partitions(table.entries, None))
    if not any(entry.active for entry in table.entries):
        message = (f"no partition of {path} is marked active (bootable); "
                   "mark the Windows partition active (diskpart: active)")
        if recipe == "native":
            finder.problem(message)
        else:
            # The memdisk recipe starts NTLDR from the floppy: the MBR's
            # active flag is never looked at.
            finder.warn(message)
    if system.start + system.size > size:
        finder.problem(
            f"partition {system.number} ends past the end of {path}: the image is "
            "truncated; copy the whole disk again"
        )
        return finder.report(path, fmt, size, _partitions(table.entries, None))
    try:
        root = read_ntfs_root(path, system.start)
    except NtfsUnreadable as exc:
        finder.warn(
            f"could not read the NTFS file system of partition {system.number} ({exc}); "
            "NTLDR, NTDETECT.COM, BOOT.INI and NTBOOTDD.SYS were not checked"
        )
        return finder.report(path, fmt, size, _partitions(table.entries, None))
    partitions = _partitions(table.entries, (system.number, root))
    finder.look_at_root(system, root, partitions)
    return finder.report(path, fmt, size, partitions)


def _not_raw(path: Path, fmt: str, recipe: str) -> DiskReport:
    virtual = virtual_size(path, fmt)
    size = virtual or image_size(path)
    finder = _Findings(recipe)
    if virtual is None:
        finder.warn(f"the size of the disk inside {path} could not be read (qemu-img "
                    "cannot read the image, or is not installed); the free space check "
                    "counts the file's size instead")
    finder.problem(
        f"{path} is a {describe_format(fmt)} image, not raw; the cloud boots raw disk "
        f"images: convert it ({conversion_command(path, fmt, Path(raw_name(path)))}, or "
        "have the check convert it into a folder you choose)"
    )
    finder.warn("the partitions and boot files inside were not checked: "
                "they are read once the image is converted to raw")
    return finder.report(path, fmt, size, ())


def _system_partition(entries: tuple[MbrEntry, ...]) -> MbrEntry | None:
    ntfs = [entry for entry in entries if entry.type_id == 0x07]
    for entry in ntfs:
        if entry.active:
            return entry
    return ntfs[0] if ntfs else None


def _partitions(
    entries: tuple[MbrEntry, ...], read: tuple[int, NtfsRoot] | None
) -> tuple[Partition, ...]:
    result = []
    for entry in entries:
        names = read[1].names if read is not None and read[0] == entry.number else None
        result.append(Partition(entry.number, entry.type_id, entry.active, entry.start,
                                entry.size, names))
    return tuple(result)


class _Findings:
    """Problems and warnings as they are found, and what BOOT.INI said."""

    def __init__(self, recipe: str) -> None:
        self.recipe = recipe
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.boot_files: dict[str, int] = {}
        self.boot_ini_text: str | None = None
        self.nt6 = False
        self.arc_paths: tuple[str, ...] = ()
        self.needs_ntbootdd: bool | None = None

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def report(self, path: Path, fmt: str, size: int,
               partitions: tuple[Partition, ...]) -> DiskReport:
        for text in self.problems:
            log.info("disk problem: %s", text)
        for text in self.warnings:
            log.info("disk warning: %s", text)
        return DiskReport(
            path=path, format=fmt, size=size, partitions=partitions,
            boot_files=dict(self.boot_files), boot_ini_text=self.boot_ini_text,
            nt6=self.nt6, problems=tuple(self.problems), warnings=tuple(self.warnings),
            arc_paths=self.arc_paths, needs_ntbootdd=self.needs_ntbootdd, recipe=self.recipe,
        )

    def look_at_root(self, system: MbrEntry, root: NtfsRoot,
                     partitions: tuple[Partition, ...]) -> None:
        where = f"the root of partition {system.number}"
        self.boot_files = {name: root.file_sizes[name] for name in BOOT_FILES
                           if name in root.file_sizes}
        has = self.boot_files.__contains__
        if has("BOOTMGR") and not has("NTLDR"):
            self.nt6 = True
            if self.recipe == "memdisk":
                self.problem(
                    f"{where} holds BOOTMGR and no NTLDR: this is Windows Vista or later "
                    "(NT 6+), which the memdisk recipe cannot boot; use the native "
                    "recipe on Eucalyptus 3.x/4.x"
                )
            return
        if not has("NTLDR"):
            self.problem(f"{where} holds neither NTLDR nor BOOTMGR: no Windows boot loader "
                         "there; give the disk Windows was installed on")
            return
        for name in ("NTDETECT.COM", "BOOT.INI"):
            if not has(name):
                self.problem(f"{name} is missing from {where}: NTLDR cannot start Windows "
                             "without it; copy it back from the Windows CD (I386 folder) "
                             "or another XP/2003 system")
        if not has("BOOT.INI"):
            return
        try:
            data = root.read("BOOT.INI")
        except NtfsUnreadable as exc:
            self.warn(f"BOOT.INI could not be read ({exc}); its ARC paths were not checked")
            return
        boot_ini = parse_boot_ini_bytes(data)
        self.boot_ini_text = data.decode("cp1252", errors="replace")
        self._look_at_boot_ini(boot_ini, where, partitions)

    def _look_at_boot_ini(self, boot_ini: BootIni, where: str,
                          partitions: tuple[Partition, ...]) -> None:
        paths = [boot_ini.default] if boot_ini.default is not None else []
        paths += [entry.path for entry in boot_ini.entries]
        unique: list[ArcPath] = []
        for arc in paths:
            if not any(arc.same_as(seen) for seen in unique):
                unique.append(arc)
        self.arc_paths = tuple(arc.text for arc in unique)
        self.needs_ntbootdd = boot_ini.needs_ntbootdd
        for text in boot_ini.problems:
            self.problem(f"BOOT.INI at {where}: {text}")
        for text in boot_ini.notes:
            self.warn(f"BOOT.INI: {text}")
        if boot_ini.needs_ntbootdd and "NTBOOTDD.SYS" not in self.boot_files:
            self.problem(
                f"BOOT.INI boots through scsi() or signature(), which needs NTBOOTDD.SYS, "
                f"and {where} has none; copy the SCSI miniport driver there as NTBOOTDD.SYS"
            )
        boot = boot_ini.boot_path
        if boot is None:
            return
        if boot.kind == "multi":
            self.warn(
                f"BOOT.INI starts Windows through {boot.text}: it was installed on an IDE "
                "disk, while Eucalyptus attaches the disk as SCSI; unless Windows has the "
                "SCSI driver installed and BOOT.INI uses scsi(), it stops with "
                "INACCESSIBLE_BOOT_DEVICE (STOP 0x7B)"
            )
        if boot.kind == "multi" and boot.rdisk not in (None, 0):
            self.warn(
                f"BOOT.INI starts Windows from {boot.text}, the VM's BIOS disk "
                f"rdisk({boot.rdisk}); in the instance this image is the first disk: "
                f"change rdisk({boot.rdisk}) to rdisk(0) in the floppy's copy of BOOT.INI"
            )
        numbers = {partition.number for partition in partitions}
        if boot.partition is not None and boot.partition not in numbers:
            self.problem(
                f"BOOT.INI starts Windows from partition({boot.partition}), which this disk "
                f"does not have (partitions: {', '.join(map(str, sorted(numbers)))}); "
                "correct the partition() number in BOOT.INI"
            )

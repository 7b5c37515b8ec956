"""The floppy verifier: every check of a floppy image, with its result and fix.

``verify_floppy(path)`` reads the image (no root, no mounting; at most one
floppy's worth of bytes) and returns a ``FloppyReport``: one ``Check`` for
each thing the memdisk recipe needs of the floppy (BUNDLE-FORMAT.md
section 6), in the order an operator fixes them. The report is ready only
when no check failed. Whatever the image holds, the verifier returns a
report: damage is a failed check, never an exception. Only a path that is
not a readable file is a ``WizardError``.
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard import PROGRAM
from wizard.core.errors import WizardError
from wizard.disk.bootini import BootIni, parse_arc_path, parse_boot_ini_bytes
from wizard.disk.mbr import read_partition_table
from wizard.disk.report import DiskReport
from wizard.floppy.fat12 import (
    FLOPPY_MEDIA,
    FLOPPY_SECTORS,
    FLOPPY_SIZE,
    SECTOR_SIZE,
    BiosParameterBlock,
    Fat12Volume,
    FatError,
)

# The files NTLDR needs beside it on the floppy, whatever BOOT.INI says.
REQUIRED_FILES = ("NTLDR", "NTDETECT.COM", "BOOT.INI")
NTBOOTDD = "NTBOOTDD.SYS"
BPB_TITLE = "1.44 MB FAT12 boot sector"
BOOT_INI_TITLE = "BOOT.INI well formed"

FORMAT_FIX = ("attach the image to the Windows VM as a floppy and format it there "
              "(format a:, or My Computer -> right-click A: -> Format); "
              f"`{PROGRAM} floppy checklist IMAGE` lists the steps")
RECOPY_FIX = ("format the floppy in Windows again and copy NTLDR, NTDETECT.COM, BOOT.INI "
              "(and NTBOOTDD.SYS if BOOT.INI uses scsi(...)) from C:\\ again")


class Result(enum.Enum):
    PASS = "pass"  # noqa: S105 (a check result, not a password)
    FAIL = "fail"
    # Not checked: an earlier failure makes the check meaningless.
    SKIP = "skipped"


@dataclass(frozen=True)
class Check:
    """One thing the floppy must be, what was found, and the fix when it fails."""

    name: str  # a stable id, e.g. "size", "boot-code", "file:NTLDR"
    title: str  # what is checked, in the operator's words
    result: Result
    detail: str = ""  # what was found
    fix: str | None = None  # set on failures
    note: str | None = None  # worth knowing, even on a pass

    @property
    def passed(self) -> bool:
        return self.result is Result.PASS


@dataclass(frozen=True)
class FloppyReport:
    """All the checks of one floppy image."""

    path: Path | None
    checks: tuple[Check, ...]
    boot_ini: BootIni | None = None
    # Root folder file name -> size, for the files the floppy carries.
    files: dict[str, int] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Whether the floppy can go into a bundle: no check failed."""
        return not any(check.result is Result.FAIL for check in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.result is Result.FAIL)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for a session's state file and the step's outputs."""
        return {
            "path": str(self.path) if self.path else None,
            "ready": self.ready,
            "files": dict(self.files),
            "checks": [
                {"name": c.name, "title": c.title, "result": c.result.value,
                 "detail": c.detail, "fix": c.fix, "note": c.note}
                for c in self.checks
            ],
        }

    def check(self, name: str) -> Check | None:
        for check in self.checks:
            if check.name == name:
                return check
        return None


def verify_floppy(path: Path, disk: DiskReport | None = None) -> FloppyReport:
    """Check the floppy image at ``path`` (and, given one, against the disk)."""
    path = Path(path).expanduser().absolute()
    if not path.exists():
        raise WizardError(f"the floppy image {path} does not exist",
                          f"create it with {PROGRAM} floppy create {shlex.quote(str(path))}, "
                          "or give the right path")
    if path.is_dir():
        raise WizardError(f"{path} is a folder, not a floppy image",
                          "give the path of the image file")
    if not path.is_file():
        # A FIFO would block the read below forever; a device is no image.
        raise WizardError(f"{path} is not a regular file (a device or FIFO?)",
                          "give the path of the floppy image file")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            # One floppy's worth (and a byte to see it is longer) is all the
            # checks read: a disk image given by mistake is not slurped.
            data = handle.read(FLOPPY_SIZE + 1)
    except OSError as exc:
        raise WizardError(f"cannot read the floppy image {path} ({exc.strerror})",
                          "check the path and its permissions") from exc
    return verify_image(data, disk=disk, path=path, size=size)


def verify_image(data: bytes, disk: DiskReport | None = None, path: Path | None = None,
                 size: int | None = None) -> FloppyReport:
    """Check a floppy image held in memory. Never raises: damage is a failed check."""
    try:
        return _Verifier(data, disk, path, len(data) if size is None else size).run()
    except Exception as exc:  # a verifier bug must still end in a report
        return FloppyReport(path, (Check(
            "internal", "Floppy image could be examined", Result.FAIL,
            f"the verifier failed unexpectedly ({type(exc).__name__}: {exc})",
            "please report this as a bug, with the image if you can share it"),))


def _printable(text: str) -> str:
    """A name from the image, safe on one line (it may hold any bytes)."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _partition_table(sector0: bytes, size: int) -> str:
    """``"an MBR partition table (…)"`` when sector 0 is a disk's, not a floppy's; else "".

    A floppy's boot sector has a BIOS parameter block (512 bytes per sector
    at offset 11) and boot code where a disk's MBR keeps its four partition
    slots; a disk's MBR has no BPB, and its slots hold partitions that fit
    in the image.
    """
    if int.from_bytes(sector0[11:13], "little") == SECTOR_SIZE and size <= FLOPPY_SIZE:
        return ""
    table = read_partition_table(sector0)
    sectors = max(size // SECTOR_SIZE, 1)
    found = [e for e in table.entries
             if e.start > 0 and e.size > 0 and sector0[0x1BE + 16 * (e.number - 1)] in (0, 0x80)
             and (e.start // SECTOR_SIZE) < sectors]
    if not found:
        return ""
    if table.gpt:
        return "a GPT partition table"
    listed = ", ".join(f"partition {e.number} {e.type_name}" for e in found)
    return f"an MBR partition table ({listed})"


def _skip(name: str, title: str, why: str) -> Check:
    return Check(name, title, Result.SKIP, f"not checked: {why}")


class _Verifier:
    def __init__(self, data: bytes, disk: DiskReport | None, path: Path | None,
                 size: int) -> None:
        self.data = data
        self.disk = disk
        self.path = path
        self.size = size
        self.checks: list[Check] = []
        self.volume: Fat12Volume | None = None
        self.volume_problem = ""
        self.boot_ini: BootIni | None = None
        self.files: dict[str, int] = {}
        # Set when the image is something else given by mistake (a disk image).
        self.not_floppy = ""

    def run(self) -> FloppyReport:
        self.checks.append(self.check_size())
        formatted = self.check_formatted()
        self.checks.append(formatted)
        steps: list[Callable[[], list[Check]]] = [
            self.check_bpb, self.check_boot_code, self.check_files, self.check_boot_ini,
            self.check_ntbootdd, self.check_disk,
        ]
        if formatted.passed:
            for step in steps:
                self.checks.extend(step())
        else:
            why = self.not_floppy or "the floppy is not formatted"
            self.checks.extend([
                _skip("bpb", BPB_TITLE, why),
                _skip("boot-code", "Boot code loads NTLDR", why),
                *(_skip(f"file:{name}", name, why)
                  for name in REQUIRED_FILES),
                _skip("boot-ini", BOOT_INI_TITLE, why),
                _skip("ntbootdd", NTBOOTDD, why),
            ])
            if self.disk is not None:
                self.checks.append(_skip("disk", "BOOT.INI points into the disk image", why))
        return FloppyReport(self.path, tuple(self.checks), self.boot_ini, dict(self.files))

    def check_size(self) -> Check:
        title = "Size"
        if self.size == FLOPPY_SIZE:
            return Check("size", title, Result.PASS,
                         f"{self.size:,} bytes (2880 sectors of 512), as expected")
        # No --force of this path in the fix: a file of the wrong size may be
        # another file given by mistake (the Windows disk image itself).
        return Check(
            "size", title, Result.FAIL,
            f"expected {FLOPPY_SIZE:,} bytes, found {self.size:,}",
            "check that this is the floppy image; if it is, start again from a new "
            f"blank image ({PROGRAM} floppy create win-boot.img) and format that in "
            "Windows",
        )

    def check_formatted(self) -> Check:
        title = "Formatted"
        head = self.data[:SECTOR_SIZE]
        if not self.data.strip(b"\x00"):
            return Check("formatted", title, Result.FAIL,
                         "the image is blank (all zeros): it was never formatted",
                         FORMAT_FIX)
        # Every FAT boot sector ends with 0x55 0xAA at offsets 510-511; the
        # BIOS refuses to boot a sector without it.
        if len(head) < SECTOR_SIZE or head[510:512] != b"\x55\xaa":
            return Check("formatted", title, Result.FAIL,
                         "no boot signature 0x55AA at the end of the first sector: "
                         "the image is not a formatted floppy", FORMAT_FIX)
        table = _partition_table(head, self.size)
        if table:
            self.not_floppy = f"this is a disk image with {table}, not a floppy"
            return Check("formatted", title, Result.FAIL, self.not_floppy,
                         "give the floppy image here (the 1.44 MB image formatted in "
                         "Windows); the Windows disk image is the one to cross-check "
                         "against and to bundle as the machine image")
        return Check("formatted", title, Result.PASS, "a boot sector with the signature 0x55AA")

    def check_bpb(self) -> list[Check]:
        title = BPB_TITLE
        bpb = BiosParameterBlock.from_boot_sector(self.data[:SECTOR_SIZE])
        try:
            self.volume = Fat12Volume(self.data)
        except FatError as exc:
            self.volume_problem = str(exc)
        wrong: list[str] = []
        if bpb.bytes_per_sector != SECTOR_SIZE:
            wrong.append(f"{bpb.bytes_per_sector} bytes per sector (expected 512)")
        if bpb.total_sectors != FLOPPY_SECTORS:
            wrong.append(f"{bpb.total_sectors} sectors (expected 2880)")
        if bpb.media != FLOPPY_MEDIA:
            wrong.append(f"media byte 0x{bpb.media:02X} (expected 0xF0)")
        if self.volume is None:
            wrong.append(self.volume_problem)
        if wrong:
            return [Check("bpb", title, Result.FAIL, "; ".join(wrong),
                          "format the floppy in Windows as a 3.5\" 1.44 MB floppy "
                          "(format a:)")]
        label = f", label {_printable(bpb.volume_label)}" if bpb.volume_label else ""
        return [Check("bpb", title, Result.PASS,
                      f"512-byte sectors, 2880 sectors, media 0xF0, "
                      f"formatted by '{_printable(bpb.oem_name)}'{label}")]

    def check_boot_code(self) -> list[Check]:
        title = "Boot code loads NTLDR"
        # The boot code follows the extended BPB (offset 62) up to the
        # signature. An NT 5.x format writes code that looks for the 8.3 name
        # "NTLDR" in the root folder; mkfs.fat prints "This is not a bootable
        # disk" and mformat chains to the hard disk: neither loads NTLDR.
        code = self.data[62:510]
        if b"NTLDR" in code:
            return [Check("boot-code", title, Result.PASS,
                          "the boot sector names NTLDR (Windows NT boot code)")]
        if b"BOOTMGR" in code:
            return [Check("boot-code", title, Result.FAIL,
                          "the boot code loads BOOTMGR: the floppy was formatted by "
                          "Windows Vista or later, whose boot code does not load NTLDR",
                          "format it again from the Windows XP/2003 VM itself (format a:)")]
        if not code.strip(b"\x00"):
            found = "the boot sector holds no boot code"
        else:
            found = ("the boot sector does not name NTLDR: it was formatted by something "
                     "other than Windows (mkfs.msdos, mkfs.fat or mformat), and its boot "
                     "code does not load NTLDR")
        return [Check("boot-code", title, Result.FAIL, found,
                      "format the floppy in Windows (format a:), then copy the files again")]

    def check_files(self) -> list[Check]:
        checks: list[Check] = []
        volume = self.volume
        for name in REQUIRED_FILES:
            title = name
            if volume is None:
                checks.append(_skip(f"file:{name}", title,
                                    "the FAT file system cannot be read"))
                continue
            checks.append(self._file_check(volume, name, title))
        return checks

    def _file_check(self, volume: Fat12Volume, name: str, title: str) -> Check:
        key = f"file:{name}"
        copy_fix = (f"in Windows: attrib -h -s -r C:\\{name}, then copy C:\\{name} A:\\")
        entry = volume.find(name)
        if entry is None:
            return Check(key, title, Result.FAIL,
                         "not in the floppy's root folder", copy_fix)
        if entry.is_directory:
            return Check(key, title, Result.FAIL, "a folder, not a file",
                         f"delete the folder A:\\{name}, then {copy_fix}")
        if entry.size == 0:
            return Check(key, title, Result.FAIL, "empty (0 bytes)", copy_fix)
        try:
            content = volume.read_file(entry)
        except FatError as exc:
            return Check(key, title, Result.FAIL,
                         f"cannot be read: {exc} (the FAT is damaged)", RECOPY_FIX)
        self.files[name] = entry.size
        if name == "BOOT.INI":
            self.boot_ini = parse_boot_ini_bytes(content.data)
        note = "; ".join(content.notes) or None
        return Check(key, title, Result.PASS, f"{entry.size:,} bytes", note=note)

    def check_boot_ini(self) -> list[Check]:
        title = BOOT_INI_TITLE
        ini = self.boot_ini
        if ini is None:
            return [_skip("boot-ini", title, "BOOT.INI could not be read from the floppy")]
        if not ini.ok:
            return [Check("boot-ini", title, Result.FAIL, "; ".join(ini.problems),
                          "copy C:\\BOOT.INI from the Windows VM again (edit it with "
                          "Notepad, saved as ANSI, if the Windows copy has the same fault)")]
        path = ini.boot_path
        if path is None:  # not reached: a BOOT.INI without problems has a default
            return [Check("boot-ini", title, Result.PASS, "no problems found")]
        detail = f"NTLDR starts Windows from {path.text}"
        note: str | None = None
        if path.kind == "multi":
            note = ("multi(...) reaches the disk through the BIOS: "
                    f"no {NTBOOTDD} is needed")
        return [Check("boot-ini", title, Result.PASS, detail, note=note)]

    def check_ntbootdd(self) -> list[Check]:
        title = NTBOOTDD
        ini, volume = self.boot_ini, self.volume
        if ini is None or volume is None:
            return [_skip("ntbootdd", title, "BOOT.INI could not be read from the floppy")]
        if ini.boot_path is None and not ini.needs_ntbootdd:
            return [_skip("ntbootdd", title, "BOOT.INI names no ARC path to go by")]
        if not ini.needs_ntbootdd:
            extra = ""
            if volume.find(NTBOOTDD) is not None:
                extra = f" ({NTBOOTDD} is there anyway: harmless)"
            return [Check("ntbootdd", title, Result.PASS,
                          "not needed: BOOT.INI uses no scsi(...) or signature(...) path"
                          + extra)]
        users = [e.path.text for e in ini.entries if e.path.needs_ntbootdd]
        if ini.default is not None and ini.default.needs_ntbootdd:
            users.insert(0, ini.default.text)
        why = f"BOOT.INI uses {users[0]}, so NTLDR loads the SCSI driver {NTBOOTDD}"
        check = self._file_check(volume, NTBOOTDD, title)
        if check.passed:
            return [Check("ntbootdd", title, Result.PASS, f"needed and present "
                          f"({check.detail})", note=check.note)]
        fix = (f"in Windows: attrib -h -s -r C:\\{NTBOOTDD}, then copy C:\\{NTBOOTDD} A:\\ "
               f"(if C:\\ has no {NTBOOTDD}, copy the SCSI miniport driver of the boot "
               f"disk from C:\\WINDOWS\\system32\\drivers to A:\\{NTBOOTDD})")
        return [Check("ntbootdd", title, Result.FAIL, f"{why}; {NTBOOTDD}: {check.detail}",
                      check.fix if check.fix == RECOPY_FIX else fix)]

    def check_disk(self) -> list[Check]:
        disk = self.disk
        if disk is None:
            return []
        title = f"BOOT.INI points into {disk.path.name}"
        ini = self.boot_ini
        path = ini.boot_path if ini is not None else None
        if path is None or path.partition is None or path.folder is None:
            return [_skip("disk", title, "BOOT.INI names no usable ARC path")]
        # The operator asked for the cross-check: a disk it cannot read fails
        # it (the floppy is not called ready on an unchecked disk).
        unread_fix = (f"give the raw image of the Windows disk; {PROGRAM} check on the disk "
                      "image says what is wrong with this one")
        if not disk.partitions:
            why = disk.problems[0] if disk.problems else "the disk image lists no partitions"
            return [Check("disk", title, Result.FAIL,
                          f"the cross-check could not run: no partitions could be read from "
                          f"{disk.path.name} ({why.rstrip('.')})", unread_fix)]
        numbers = sorted(p.number for p in disk.partitions)
        partition = next((p for p in disk.partitions if p.number == path.partition), None)
        copy_fix = ("copy C:\\BOOT.INI of this disk's Windows to the floppy, or correct "
                    "partition(N) and the folder in the floppy's BOOT.INI")
        if path.kind == "multi" and path.rdisk not in (None, 0):
            # multi() counts BIOS disks. memdisk takes the floppy drive only,
            # so the instance's disk (this image) is the first hard disk,
            # rdisk(0); ephemeral disks the cloud adds come after it.
            return [Check("disk", title, Result.FAIL,
                          f"BOOT.INI starts {path.text}, the BIOS disk rdisk({path.rdisk}); "
                          f"in the instance {disk.path.name} is the first disk, rdisk(0)",
                          f"change rdisk({path.rdisk}) to rdisk(0) in the floppy's BOOT.INI "
                          "(default= and the [operating systems] line), in Notepad, saved "
                          "as ANSI")]
        if partition is None:
            have = ", ".join(str(n) for n in numbers) or "none"
            return [Check("disk", title, Result.FAIL,
                          f"BOOT.INI starts partition({path.partition}), but the disk has "
                          f"partitions {have}", copy_fix)]
        folder = path.folder.strip("\\").split("\\")[0]
        present = partition.has_root_entry(folder)
        notes = []
        for name, size in sorted(self.files.items()):
            on_disk = disk.boot_files.get(name.upper())
            if on_disk is not None and on_disk != size:
                notes.append(f"{name} is {size:,} bytes on the floppy but {on_disk:,} on "
                             "the disk: was it copied from another Windows?")
        if disk.arc_paths and not path.same_as(parse_arc_path(disk.arc_paths[0])):
            notes.append(f"the floppy's BOOT.INI starts {path.text} but the disk's "
                         f"C:\\BOOT.INI starts {disk.arc_paths[0]}")
        note = "; ".join(notes) or None
        if present is False:
            return [Check("disk", title, Result.FAIL,
                          f"partition {partition.number} has no folder \\{folder}",
                          copy_fix, note=note)]
        if present is None:
            why = f" ({disk.problems[0].rstrip('.')})" if disk.problems else ""
            return [Check("disk", title, Result.FAIL,
                          f"the cross-check could not run: partition {partition.number}'s "
                          f"files could not be read{why}, so \\{folder} was not looked for",
                          unread_fix, note=note)]
        return [Check("disk", title, Result.PASS,
                      f"partition {partition.number} exists and holds \\{folder}", note=note)]

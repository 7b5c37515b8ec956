"""The Windows-side steps of the floppy, as a checklist with this build's commands.

The wizard cannot format the floppy itself: only Windows writes the NT boot
sector that loads NTLDR (BUNDLE-FORMAT.md section 6). So it hands the
operator a ``Checklist``: each ``ChecklistStep`` has a title, the exact
commands (with this build's absolute image path and VM name), where to type
them, and why. The TUI shows it as a checklist screen; ``floppy checklist``
prints it. Given a ``DiskReport`` of the Windows disk, the list names just
the files this build needs (NTBOOTDD.SYS only when BOOT.INI uses scsi() or
signature()).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from wizard import PROGRAM
from wizard.disk.bootini import BootIni, parse_boot_ini
from wizard.disk.report import DiskReport
from wizard.floppy.verify import NTBOOTDD, REQUIRED_FILES

# Shown in commands when the operator has not named the VM (--vm).
VM_PLACEHOLDER = "<vm-name>"

HOST = "on the host (the Linux machine running the VM)"
WINDOWS = "in the Windows VM (Start -> Run -> cmd)"


@dataclass(frozen=True)
class ChecklistStep:
    """One thing to do, where, the exact commands, and why it matters."""

    title: str
    where: str
    commands: tuple[str, ...]
    why: str
    # Alternatives (another hypervisor, the mouse instead of a command).
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Checklist:
    """The floppy's Windows-side steps for one build."""

    image: Path
    vm: str | None
    # The files to copy from C:\ to A:\, in copy order.
    files: tuple[str, ...]
    steps: tuple[ChecklistStep, ...]
    # What the disk inspection told us (or that there was none).
    notes: tuple[str, ...] = ()
    # True when NTBOOTDD.SYS was decided from the disk's BOOT.INI; False
    # when unknown, and the copy line only copies it where it exists.
    files_from_disk: bool = False


def build_checklist(image: Path, vm: str | None = None,
                    disk: DiskReport | None = None) -> Checklist:
    """The checklist for the floppy image at ``image`` (made absolute)."""
    image = Path(image).expanduser().absolute()
    vm_name = vm or VM_PLACEHOLDER
    host_image = shlex.quote(str(image))
    host_vm = shlex.quote(vm_name) if vm else VM_PLACEHOLDER
    notes: list[str] = []
    ntbootdd: bool | None = None  # None: not known without the disk's BOOT.INI
    if disk is None:
        notes.append("Without --disk the wizard has not read C:\\BOOT.INI, so NTBOOTDD.SYS "
                     "is copied only where C:\\ has it (needed when BOOT.INI uses scsi(...)).")
    else:
        ntbootdd = _from_disk(disk, notes)
    files = [*REQUIRED_FILES, NTBOOTDD] if ntbootdd is not False else list(REQUIRED_FILES)

    attach = ChecklistStep(
        title="Attach the blank image to the Windows VM as its floppy drive A:",
        where=HOST,
        commands=(
            f"virsh attach-disk {host_vm} {host_image} fda --type floppy --config",
            f"virsh start {host_vm}",
        ),
        why=("Windows must see the image as a real floppy drive (A:) to format it and to "
             "write the NT boot sector on it. QEMU cannot hot-plug a floppy drive, so "
             "attach it with --config while the VM is shut off, then start the VM."),
        alternatives=(
            f"VM already running with an empty floppy drive: "
            f"virsh change-media {host_vm} fda {host_image} --insert",
            f"plain qemu/kvm: add -fda {host_image} to the command that starts the VM "
            f"(or -drive file={host_image},if=floppy,format=raw)",
        ),
    )
    fmt = ChecklistStep(
        title="Format the floppy in Windows",
        where=WINDOWS,
        commands=("format a:",),
        why=("Windows NT writes a boot sector whose code finds NTLDR in the floppy's "
             "root folder and starts it. A floppy formatted on Linux (mkfs.msdos, "
             "mkfs.fat, mformat) has the same file system but different boot code, "
             "which never loads NTLDR: the instance would stop at 'This is not a "
             "bootable disk' or boot nothing. Format it from this Windows XP/2003 VM: "
             "Vista and later write boot code for BOOTMGR instead."),
        alternatives=("My Computer -> right-click 3 1/2 Floppy (A:) -> Format... -> Start",),
    )
    attrib = [f"attrib -h -s -r C:\\{name}" for name in files]
    copies = [f"copy C:\\{name} A:\\" for name in files]
    if ntbootdd is None:
        attrib[-1] = f"if exist C:\\{NTBOOTDD} attrib -h -s -r C:\\{NTBOOTDD}"
        copies[-1] = f"if exist C:\\{NTBOOTDD} copy C:\\{NTBOOTDD} A:\\"
    copy_why = ("NTLDR is the loader the boot sector starts; NTDETECT.COM detects the "
                "hardware for it; BOOT.INI tells it which disk, partition and folder "
                "hold Windows. They are hidden system files, which copy does not see "
                "until attrib clears the hidden, system and read-only flags.")
    if ntbootdd:
        copy_why += (" This disk's BOOT.INI uses scsi(...) or signature(...), so NTLDR "
                     "also needs NTBOOTDD.SYS, the SCSI driver it reaches the disk with.")
    elif ntbootdd is False:
        copy_why += (" This disk's BOOT.INI uses multi(...) only: the BIOS reaches the "
                     "disk, so NTBOOTDD.SYS is not needed.")
    else:
        copy_why += (" NTBOOTDD.SYS, the SCSI driver, is needed when C:\\BOOT.INI uses "
                     "scsi(...) or signature(...) (see: type C:\\BOOT.INI).")
    copy = ChecklistStep(
        title=f"Copy {_names(files)} from C:\\ to the floppy",
        where=WINDOWS,
        commands=(*attrib, *copies, "dir /a A:\\"),
        why=copy_why,
    )
    detach = ChecklistStep(
        title="Shut the VM down and detach the floppy",
        where="in Windows, then on the host",
        commands=(
            "shutdown /s /t 0",
            f"virsh detach-disk {host_vm} fda --config",
        ),
        why=("Windows writes everything out to the floppy when it shuts down, and the "
             "image must not be in use by the VM while the wizard reads and bundles it."),
        alternatives=("plain qemu/kvm: shut Windows down, then start it again without -fda",),
    )
    verify = ChecklistStep(
        title="Verify the floppy",
        where=HOST,
        commands=(f"{PROGRAM} floppy verify {host_image}"
                  + (f" --disk {shlex.quote(os.path.abspath(disk.path))}"
                     if disk is not None else ""),),
        why=("The verifier reads the image without mounting it and says exactly what is "
             "missing: format, boot code, files, BOOT.INI's ARC path."),
    )
    return Checklist(
        image=image,
        vm=vm,
        files=tuple(files),
        steps=(attach, fmt, copy, detach, verify),
        notes=tuple(notes),
        files_from_disk=ntbootdd is not None,
    )


def _names(files: list[str]) -> str:
    return ", ".join(files[:-1]) + " and " + files[-1] if len(files) > 1 else files[0]


def _from_disk(disk: DiskReport, notes: list[str]) -> bool | None:
    """Whether this disk's BOOT.INI needs NTBOOTDD.SYS (None: cannot tell)."""
    # The inspection's own findings (not raw, NT 6+, a boot file missing,
    # multi() on a disk the cloud attaches as SCSI) matter on the Windows side too.
    notes.extend(f"Disk image: {problem}." for problem in disk.problems)
    notes.extend(f"Disk image (warning): {warning}." for warning in disk.warnings)
    if disk.needs_ntbootdd is not None:
        return disk.needs_ntbootdd
    if disk.boot_ini_text is not None:
        ini: BootIni = parse_boot_ini(disk.boot_ini_text)
        if ini.boot_path is not None or ini.needs_ntbootdd:
            return ini.needs_ntbootdd
    notes.append("The disk inspection could not tell from C:\\BOOT.INI whether "
                 f"{NTBOOTDD} is needed, so it is copied only where C:\\ has it.")
    return None

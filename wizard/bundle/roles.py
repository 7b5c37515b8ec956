"""What each image of the recipe must be, checked before a bundle is started.

The recipe bundles three files in three roles (DESIGN.md "The job"): the
Windows disk image as the machine image (raw: the cloud boots raw disks),
memdisk as the kernel (a Linux boot-protocol image), the floppy image as the
ramdisk (a 1.44 MB floppy). A file in the wrong role bundles, uploads and
registers without a murmur and fails only when an instance does not boot,
hours later; so each file is looked at here first and refused with the role
it does fit, before anything is written (issue 10, "Inputs are checked
against what they are").
"""

from __future__ import annotations

from pathlib import Path

from wizard.core.errors import WizardError
from wizard.disk.formats import RAW, describe_format, detect_format
from wizard.disk.inspect import conversion_command, raw_name
from wizard.floppy.fat12 import FLOPPY_SIZE
from wizard.memdisk.verify import verify_memdisk

# The answer key of each role's input (wizard.core.keys).
ROLE_KEYS = {"machine": "build.disk", "kernel": "build.memdisk", "ramdisk": "build.floppy"}
# 1.44 MB (what the floppy step makes) and 2.88 MB floppies: memdisk boots both.
FLOPPY_SIZES = (FLOPPY_SIZE, 2 * FLOPPY_SIZE)
_BOOT_SIGNATURE = slice(0x1FE, 0x200)
_LINUX_MAGIC = slice(0x202, 0x206)


def _head(image: Path) -> bytes:
    try:
        with open(image, "rb") as handle:
            return handle.read(4096)
    except OSError:
        return b""  # the request checks have said what is wrong with reading it


def is_linux_boot_image(head: bytes) -> bool:
    """memdisk (or any Linux kernel): the boot signature and the 'HdrS' header."""
    return head[_BOOT_SIGNATURE] == b"\x55\xaa" and head[_LINUX_MAGIC] == b"HdrS"


def check_role(image: Path, image_type: str, size: int) -> None:
    """Refuse ``image`` (``size`` bytes) when it is not what ``image_type`` needs.

    machine: a raw disk image, not memdisk, not a floppy; kernel: memdisk (a
    Linux boot image); ramdisk: a floppy image. A WizardError naming the
    role the file does fit, with the answer key of the role's input.
    """
    key = ROLE_KEYS.get(image_type)
    if key is None:
        return  # an unknown type is refused by the request checks
    image = Path(image)
    fmt = detect_format(image)
    head = _head(image)
    linux = is_linux_boot_image(head)
    floppy = size in FLOPPY_SIZES and fmt == RAW and not linux
    if image_type == "machine":
        if fmt != RAW:
            raw_copy = image.with_name(raw_name(image))
            raise WizardError(
                f"the machine image {image} is a {describe_format(fmt)} image, not raw: "
                "the cloud boots raw disk images only",
                f"convert it first ({conversion_command(image, fmt, raw_copy)}) and give the "
                "raw copy as the disk image", key=key)
        if linux:
            raise WizardError(
                f"{image} is memdisk (a Linux boot image), not a Windows disk image",
                "bundle it as the kernel, and give the Windows disk image as the machine image",
                key=key)
        if floppy:
            raise WizardError(
                f"{image} is a floppy image ({size:,} bytes), not a Windows disk image",
                "bundle it as the ramdisk, and give the Windows disk image as the machine image",
                key=key)
    elif image_type == "kernel":
        if floppy:
            raise WizardError(
                f"{image} is a floppy image ({size:,} bytes), not memdisk: the kernel must be "
                "a Linux boot image", "bundle it as the ramdisk, and give memdisk as the kernel",
                key=key)
        if fmt != RAW:
            raise WizardError(
                f"{image} is a {describe_format(fmt)} disk image, not memdisk: the kernel must "
                "be a Linux boot image", "give memdisk as the kernel", key=key)
        verify_memdisk(image)  # says what is missing (no 'HdrS', a wrong protocol)
    elif image_type == "ramdisk":
        if linux:
            raise WizardError(
                f"{image} is memdisk (a Linux boot image), not a floppy image",
                "bundle it as the kernel, and give the floppy image as the ramdisk", key=key)
        if fmt != RAW:
            raise WizardError(
                f"{image} is a {describe_format(fmt)} disk image, not a floppy image",
                "give the 1.44 MB floppy image as the ramdisk", key=key)
        if not floppy:
            raise WizardError(
                f"{image} is {size:,} bytes, not a floppy image (1,474,560 bytes for 1.44 MB)",
                "give the floppy image made by the floppy step (1.44 MB, formatted by Windows) "
                "as the ramdisk", key=key)

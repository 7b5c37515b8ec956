"""Refuse bad bundle inputs before anything is written.

The image (there, a file or a block device, readable, not empty), the
architecture and image type, the bundle's name (it stands in file names and
the manifest), the account id (``wizard.core.account``, as the credentials
check it) and the part size: each is one ``WizardError``
with the fix. They take plain values; ``request.check_request`` applies them
all to a ``BundleRequest``.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from wizard.bundle.manifest import IMAGE_TYPES
from wizard.core.choices import ARCHITECTURES
from wizard.core.errors import WizardError


def check_image(image: Path, key: str = "build.disk") -> int:
    """The image's size; WizardError unless it is a readable, non-empty file or block device.

    ``key``: the answer key of the image's role (the disk, memdisk or the floppy).
    """
    image = Path(image)
    fix = "give the raw disk image (or memdisk, or floppy image) to bundle"
    try:
        info = image.stat()
    except FileNotFoundError:
        raise WizardError(f"the image {image} does not exist", fix, key=key) from None
    except OSError as exc:
        raise WizardError(f"cannot read the image {image} ({exc.strerror})", fix,
                          key=key) from exc
    if stat.S_ISDIR(info.st_mode):
        raise WizardError(f"the image {image} is a folder, not a file", fix, key=key)
    if not stat.S_ISREG(info.st_mode) and not stat.S_ISBLK(info.st_mode):
        raise WizardError(f"the image {image} is not a regular file", fix, key=key)
    if not os.access(image, os.R_OK):
        raise WizardError(f"cannot read the image {image} (permission denied)",
                          "run as a user who can read it, or fix its permissions", key=key)
    size = info.st_size
    if stat.S_ISBLK(info.st_mode):
        # A block device (an LVM volume, a loop device) reports st_size 0;
        # its size is where a seek to the end lands.
        try:
            fd = os.open(image, os.O_RDONLY)
            try:
                size = os.lseek(fd, 0, os.SEEK_END)
            finally:
                os.close(fd)
        except OSError as exc:
            raise WizardError(f"cannot read the image {image} ({exc.strerror})", fix,
                              key=key) from exc
    if size == 0:
        raise WizardError(f"the image {image} is empty", fix, key=key)
    return size


def check_kind(arch: str, image_type: str, kernel_id: str | None,
               ramdisk_id: str | None) -> None:
    """Refuse an unknown architecture or image type, or ids a kernel or ramdisk cannot have."""
    if arch not in ARCHITECTURES:
        raise WizardError(f"unknown architecture {arch!r}", "choose i386 or x86_64",
                          key="build.arch")
    if image_type not in IMAGE_TYPES:
        raise WizardError(f"unknown image type {image_type!r}",
                          "choose machine, kernel or ramdisk", key="build.image_type")
    if image_type != "machine" and (kernel_id or ramdisk_id):
        raise WizardError("a kernel id and a ramdisk id apply to machine images only",
                          "leave them out when bundling a kernel or a ramdisk",
                          key="build.kernel" if kernel_id else "build.ramdisk")


def check_part_size(part_size: int) -> None:
    """AES-CBC blocks are 16 bytes: a part size must be a whole number of them."""
    if part_size <= 0 or part_size % 16:
        raise WizardError("the part size must be a positive multiple of 16 bytes",
                          "leave the part size at its default (10 MiB)")


# XML 1.0 allows no control characters but tab, LF and CR, and a manifest
# holding any of these (even escaped) is refused by every parser; the name
# also stands in a one-line "Wrote manifest PATH", so no line breaks at all.
_UNUSABLE_RE = re.compile(r"[\x00-\x1f\x7f]")
_MAX_NAME = 200  # bytes: room left for ".manifest.xml" and ".part.NNN" in a 255-byte file name


def check_name(name: str, given: bool = True) -> None:
    """Refuse a bundle name that cannot stand in file names and the manifest.

    ``given`` says whether the operator typed it (-p) or it came from the
    image's file name, so the message says where to change it.
    """
    source = f"the bundle name {name!r}" if given else f"the image's file name {name!r}"
    fix = "give the bundle a plain name, e.g. windows-xp.img"
    if not name or name in (".", ".."):
        raise WizardError(f"{source} is not a usable bundle name", fix, key="build.prefix")
    if "/" in name:
        raise WizardError(f"{source} holds a slash, which a file name cannot", fix,
                          key="build.prefix")
    if _UNUSABLE_RE.search(name):
        raise WizardError(f"{source} holds a control character (a line break, a tab, …), "
                          "which a manifest cannot carry", fix, key="build.prefix")
    try:
        length = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        # A file name with bytes that are not UTF-8 (surrogate escapes).
        raise WizardError(f"{source} is not valid UTF-8 text, which a manifest must be",
                          fix, key="build.prefix") from None
    if length > _MAX_NAME:
        raise WizardError(f"{source} is {length} bytes long; a bundle name may have at most "
                          f"{_MAX_NAME}", fix, key="build.prefix")

"""What kind of disk image a file is, by its magic bytes (never by its name).

The recipe needs a raw image (an MBR, then the sectors as they are); the
formats virtual machine managers write are recognised so that the operator
is told to convert instead of bundling a qcow2 the cloud cannot boot. Names
are qemu-img's, so they go straight into ``qemu-img convert -f``.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

from wizard.core.errors import WizardError

RAW = "raw"

# (offset, magic, qemu-img format name), looked at in this order.
_HEAD_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"QFI\xfb", "qcow2"),  # qcow2 (version 2 and 3) and qcow (version 1)
    (0, b"KDMV", "vmdk"),  # sparse extent (VMware hosted)
    (0, b"COWD", "vmdk"),  # ESX sparse extent
    (0, b"# Disk DescriptorFile", "vmdk"),  # text descriptor naming extents
    (0, b"conectix", "vpc"),  # dynamic VHD: a copy of the footer leads the file
    (0, b"vhdxfile", "vhdx"),
    (0, b"QED\x00", "qed"),
    (0x40, b"\x7f\x10\xda\xbe", "vdi"),  # VirtualBox, signature 0xBEDA107F LE
)
_NAMES = {
    "qcow2": "QEMU qcow2", "qcow": "QEMU qcow (version 1)", "vmdk": "VMware VMDK",
    "vpc": "VHD (Virtual PC / Hyper-V)", "vhdx": "Hyper-V VHDX", "qed": "QEMU QED",
    "vdi": "VirtualBox VDI", RAW: "raw",
}


def describe_format(name: str) -> str:
    """The format's name as an operator knows it, e.g. ``VirtualBox VDI``."""
    return _NAMES.get(name, name)


# The input a disk image is, for errors (wizard.core.keys).
KEY = "build.disk"


def _open_error(path: Path, exc: OSError) -> WizardError:
    if isinstance(exc, FileNotFoundError):
        return WizardError(f"the disk image {path} does not exist",
                           "give the path of the Windows disk image", key=KEY)
    if isinstance(exc, IsADirectoryError):
        return WizardError(f"the disk image {path} is a folder",
                           "give the path of the disk image file itself", key=KEY)
    return WizardError(f"cannot read the disk image {path} ({exc.strerror})",
                       "check the file's permissions (the wizard needs no root, only read access)",
                       key=KEY)


def detect_format(path: Path) -> str:
    """``raw``, ``qcow2``, ``qcow``, ``vmdk``, ``vpc``, ``vhdx``, ``qed`` or ``vdi``."""
    path = Path(path)
    try:
        if path.exists() and not (path.is_dir() or path.is_file() or path.is_block_device()):
            # Opening a FIFO would wait for a writer forever; a character
            # device is no disk. A block device (an LVM volume) is one.
            raise WizardError(
                f"the disk image {path} is neither a file nor a block device (a FIFO or "
                "character device?)",
                "give the disk image file, or the block device (LVM volume) that holds "
                "the disk", key=KEY)
        with open(path, "rb") as handle:
            head = handle.read(512)
            size = handle.seek(0, 2)
            tail = b""
            if size >= 512:
                handle.seek(size - 512)
                tail = handle.read(512)
    except OSError as exc:
        raise _open_error(path, exc) from exc
    for offset, magic, name in _HEAD_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            if name == "qcow2" and len(head) >= 8 and struct.unpack(">I", head[4:8])[0] == 1:
                return "qcow"
            return name
    # A fixed VHD is the raw disk followed by a 512-byte footer (older tools
    # wrote 511 bytes): a raw reader would see it as raw plus garbage.
    if tail[:8] == b"conectix" or tail[1:9] == b"conectix":
        return "vpc"
    return RAW


def image_size(path: Path) -> int:
    """Bytes in the image: the file's size, or a block device's (whose st_size is 0)."""
    with open(path, "rb") as handle:
        return handle.seek(0, 2)


def virtual_size(path: Path, fmt: str) -> int | None:
    """The size of the disk the image holds (what raw conversion writes).

    Raw: the file's size. Others: ``qemu-img info`` when installed, else the
    header's size field for qcow2; None when neither can say. When qemu-img
    is installed and cannot read the image, its header is not trusted either
    (random bytes behind a qcow2 magic once gave a size of 10 EiB).
    """
    path = Path(path)
    if fmt == RAW:
        return image_size(path)
    qemu_img = shutil.which("qemu-img")
    if qemu_img is not None:
        try:
            result = subprocess.run(
                [qemu_img, "info", "--output=json", "-f", fmt, str(path)],
                capture_output=True, text=True, timeout=60, check=False,
                stdin=subprocess.DEVNULL,
            )
            if result.returncode == 0:
                size = json.loads(result.stdout).get("virtual-size")
                if isinstance(size, int):
                    return size
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
        return None
    if fmt == "qcow2":
        with open(path, "rb") as handle:
            header = handle.read(32)
        if len(header) == 32:
            # qcow2 header: the virtual size is a big-endian u64 at offset 24.
            return int(struct.unpack(">Q", header[24:32])[0])
    return None

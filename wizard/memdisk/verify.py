"""Is this file a memdisk? The Linux boot protocol header, and its version string.

memdisk is loaded the way a Linux kernel is (by the node controller's
bootloader, as the cloud's ``eki-`` kernel), so it must carry the Linux
boot-protocol header: the boot-sector signature 0x55AA at 0x1FE, the magic
``HdrS`` at 0x202 and the protocol version (2.x, little-endian) at 0x206.
Its ``kernel_version`` field (0x20E) points at a text like
``MEMDISK 6.04 20200816``.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from wizard.core.errors import WizardError

_SIGNATURE_AT = 0x1FE
_MAGIC_AT = 0x202
_VERSION_AT = 0x206
_KERNEL_VERSION_AT = 0x20E
_HEADER_END = 0x230
# memdisk is tens of kilobytes; anything far larger is not it.
_MAX_SIZE = 4 * 1024 * 1024
_VERSION_TEXT = re.compile(rb"MEMDISK (\d+\.\d+[\w.-]*)(?: ([\w.-]+))?")


@dataclass(frozen=True)
class MemdiskInfo:
    """A file that verified as a memdisk kernel."""

    path: Path
    size: int
    protocol: str
    version: str | None
    sha256: str

    def describe(self) -> str:
        """One line for the operator: version, protocol, size."""
        version = f"memdisk {self.version}" if self.version else "memdisk (no version string)"
        return f"{version}, boot protocol {self.protocol}, {self.size} bytes"


# The input memdisk is, for errors (wizard.core.keys).
KEY = "build.memdisk"


def verify_memdisk(path: Path) -> MemdiskInfo:
    """Check ``path`` is a Linux boot-protocol image; raise WizardError if not."""
    path = Path(path)
    fix = ("use the distribution's memdisk (package syslinux-common or syslinux) "
           "or build one from a syslinux release")
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise WizardError(f"{path} is a folder, not a memdisk file",
                              "give the path of the memdisk file itself, e.g. "
                              f"{path / 'memdisk'}", key=KEY)
        if not path.is_file():
            raise WizardError(f"{path} is not a regular file (a device or FIFO?)", fix, key=KEY)
        if size > _MAX_SIZE:
            raise WizardError(
                f"{path} is not a memdisk: {size} bytes is far larger than memdisk ever is",
                fix, key=KEY,
            )
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise WizardError(f"{path} does not exist", fix, key=KEY) from exc
    except OSError as exc:
        raise WizardError(f"cannot read {path} ({exc.strerror})",
                          "check the file's permissions (reading it needs no root)",
                          key=KEY) from exc
    if len(data) < _HEADER_END:
        raise WizardError(
            f"{path} is not a memdisk: {len(data)} bytes is too short for a boot header",
            fix, key=KEY,
        )
    if data[_SIGNATURE_AT:_SIGNATURE_AT + 2] != b"\x55\xaa":
        raise WizardError(
            f"{path} is not a memdisk: no boot signature 0x55AA at offset 0x1FE", fix, key=KEY
        )
    if data[_MAGIC_AT:_MAGIC_AT + 4] != b"HdrS":
        raise WizardError(
            f"{path} is not a memdisk: no Linux boot header ('HdrS' at offset 0x202)",
            fix, key=KEY,
        )
    (protocol,) = struct.unpack_from("<H", data, _VERSION_AT)
    major, minor = protocol >> 8, protocol & 0xFF
    # Boot protocol 2.00 (1996) to 2.15 (today's kernels): nothing else exists.
    if major != 2 or minor > 0x7F:
        raise WizardError(
            f"{path} is not a memdisk: boot protocol version {major}.{minor:02d} is not 2.x",
            fix, key=KEY,
        )
    return MemdiskInfo(
        path=path,
        size=len(data),
        protocol=f"{major}.{minor:02d}",
        version=_version_string(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _version_string(data: bytes) -> str | None:
    """``6.04 20200816`` from the kernel_version text, or from anywhere in the file."""
    (pointer,) = struct.unpack_from("<H", data, _KERNEL_VERSION_AT)
    candidates = []
    if pointer:
        start = pointer + 0x200
        candidates.append(data[start:start + 64].split(b"\0", 1)[0])
    candidates.append(data)
    for text in candidates:
        match = _VERSION_TEXT.search(text)
        if match:
            return match.group(0)[len(b"MEMDISK "):].decode("ascii", errors="replace")
    return None

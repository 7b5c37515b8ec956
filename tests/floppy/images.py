"""Real FAT12 floppy images for the tests, made with mtools and dosfstools.

"Linux-formatted" images come straight from `mformat` or `mkfs.fat`.
"NT-formatted" ones are the same with the boot code area (offsets 62-509)
replaced by bytes that carry what a Windows NT format writes there: the
8.3 name of the loader and NT's boot messages, the BPB left as it was.
"""

from __future__ import annotations

import functools
import random
import struct
import subprocess
import tempfile
from pathlib import Path

FLOPPY_SIZE = 1_474_560
# Offsets of a standard 1.44 MB FAT12 layout (1 reserved sector, two FATs of
# 9 sectors, a 224-entry root folder of 14 sectors, one-sector clusters):
# worked out here from the format, independently of the code under test.
FAT1 = 512
FAT2 = 512 + 9 * 512
ROOT = 19 * 512
DATA = 33 * 512

XP_MULTI_INI = (
    b"[boot loader]\r\n"
    b"timeout=30\r\n"
    b"default=multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\r\n"
    b"[operating systems]\r\n"
    b'multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS="Microsoft Windows XP Professional" '
    b"/noexecute=optin /fastdetect\r\n"
)
SCSI_INI = (
    b"[boot loader]\r\n"
    b"timeout=30\r\n"
    b"default=scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\r\n"
    b"[operating systems]\r\n"
    b'scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS="Windows Server 2003, Standard" '
    b"/fastdetect\r\n"
)


def _content(name: str, size: int) -> bytes:
    # Deterministic, name-specific, non-repeating bytes: a mix-up of clusters
    # between files, or within one, changes what is read back.
    rng = random.Random(name)
    return rng.randbytes(size)


NTLDR = _content("NTLDR", 250_032)
NTDETECT = _content("NTDETECT.COM", 47_564)
NTBOOTDD = _content("NTBOOTDD.SYS", 81_408)


def nt_boot_code() -> bytes:
    """448 bytes for offsets 62-509 that read like an NT 5.x floppy boot sector."""
    code = bytes.fromhex("33c98ed1bcf47b8ec18ed9bd007c884e028a5640b408cd13")
    tail = (b"NTLDR      \r\nRemove disks or other media.\xff\r\nDisk error\xff"
            b"\r\nPress any key to restart\r\n")
    area = bytearray(448)
    area[: len(code)] = code
    area[448 - 4 - len(tail) : 448 - 4] = tail
    return bytes(area)


def run(*command: str | Path) -> None:
    subprocess.run([str(part) for part in command], check=True, capture_output=True,
                   timeout=60)


def format_image(path: Path, tool: str = "mformat") -> Path:
    """A Linux-formatted 1.44 MB floppy at ``path``."""
    if tool == "mformat":
        run("mformat", "-f", "1440", "-C", "-i", path, "::")
    else:
        run("mkfs.fat", "-C", path, "1440")
    return path


def make_nt(path: Path) -> Path:
    """Give the image NT-style boot code, keeping its BPB and signature."""
    data = bytearray(path.read_bytes())
    data[3:11] = b"MSDOS5.0"  # the OEM name an NT 5.x format writes
    data[62:510] = nt_boot_code()
    path.write_bytes(bytes(data))
    return path


def add_file(image: Path, name: str, content: bytes, hidden: bool = True) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "file"
        source.write_bytes(content)
        run("mcopy", "-i", image, source, f"::{name}")
    if hidden:
        # As on C:\, where NTLDR and its kin are hidden system files.
        run("mattrib", "-i", image, "+h", "+s", "+r", f"::{name}")


def build_floppy(path: Path, *, tool: str = "mformat", nt: bool = True,
                 boot_ini: bytes | None = XP_MULTI_INI, ntbootdd: bool = False,
                 ntldr: bool = True, ntdetect: bool = True) -> Path:
    """A floppy as the operator makes it: formatted, then the boot files copied."""
    format_image(path, tool)
    if nt:
        make_nt(path)
    if ntldr:
        add_file(path, "NTLDR", NTLDR)
    if ntdetect:
        add_file(path, "NTDETECT.COM", NTDETECT)
    if boot_ini is not None:
        add_file(path, "BOOT.INI", boot_ini)
    if ntbootdd:
        add_file(path, "NTBOOTDD.SYS", NTBOOTDD)
    return path


@functools.cache
def ready_image(scsi: bool = False) -> bytes:
    """The bytes of a floppy that passes every check (built once per run)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ready.img"
        build_floppy(path, boot_ini=SCSI_INI if scsi else XP_MULTI_INI, ntbootdd=scsi)
        return path.read_bytes()


def root_entry(image: bytes, name: str) -> tuple[int, int, int]:
    """(offset of the directory entry, first cluster, size) of a root file."""
    base, _, ext = name.partition(".")
    wanted = base.ljust(8).encode() + ext.ljust(3).encode()
    for offset in range(ROOT, DATA, 32):
        if image[offset : offset + 11] == wanted:
            cluster, size = struct.unpack_from("<HI", image, offset + 26)
            return offset, cluster, size
    raise KeyError(name)


def set_fat(image: bytearray, cluster: int, value: int) -> None:
    """Write a 12-bit FAT entry in both FAT copies."""
    for fat in (FAT1, FAT2):
        offset = fat + cluster + cluster // 2
        pair = image[offset] | image[offset + 1] << 8
        keep, new = (pair & 0x000F, value << 4) if cluster & 1 else (pair & 0xF000, value)
        pair = keep | new
        image[offset] = pair & 0xFF
        image[offset + 1] = pair >> 8


def fat_entry(image: bytes, cluster: int) -> int:
    """A 12-bit entry of the first FAT."""
    offset = FAT1 + cluster + cluster // 2
    pair = image[offset] | image[offset + 1] << 8
    return pair >> 4 if cluster & 1 else pair & 0x0FFF

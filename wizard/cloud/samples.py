"""Sample inputs for trying the recipe with no Windows at hand (sandbox only).

Both are small generated files, named ``sample-*`` and labelled SAMPLE inside,
so nobody mistakes them for the real thing:

- ``sample-disk.img``: an 8 MiB raw disk image with an MBR and one NTFS
  partition at sector 63 (the XP/2003 layout) whose root holds placeholder
  NTLDR, NTDETECT.COM, BOOT.INI and NTBOOTDD.SYS, and the WINDOWS folder
  that the sample floppy's BOOT.INI names. It ships gzipped in
  ``assets/sandbox/`` (made once by ``build_sample_disk_asset`` with mkntfs
  and ntfscp, which the operator need not have); without the asset, an MBR
  and a bare NTFS boot sector are generated instead. It boots nothing.
- ``sample-memdisk``: only where the system has no memdisk of its own: a
  few kilobytes carrying the Linux boot-protocol header that memdisk has
  (``HdrS``, protocol 2.x) and a version string saying SAMPLE, so the
  kernel step of the recipe can be tried. It boots nothing.
- ``sample-floppy.img``: a 1,474,560-byte FAT12 floppy (BUNDLE-FORMAT.md
  section 6) holding placeholder NTLDR, NTDETECT.COM, BOOT.INI and
  NTBOOTDD.SYS, with an NT-style boot sector that names NTLDR. The files are
  text placeholders, not Microsoft's programs.
"""

from __future__ import annotations

import gzip
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from wizard.core.errors import WizardError
from wizard.core.files import atomic_writer, write_atomic

SECTOR = 512
FLOPPY_SECTORS = 2880
DISK_BYTES = 4 * 1024 * 1024
PARTITION_START = 63  # the classic XP/2003 layout: first partition at sector 63

SAMPLE_NOTE = b"SAMPLE made by euca-windows-wizard sandbox: not bootable, for trying the recipe"

BOOT_INI = (
    "[boot loader]\r\n"
    "timeout=5\r\n"
    "default=scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\r\n"
    "[operating systems]\r\n"
    'scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS="SAMPLE Windows (not bootable)" /fastdetect\r\n'
).encode("ascii")


ASSET = ("sandbox", "sample-disk.img.gz")
ASSET_DISK_BYTES = 8 * 1024 * 1024


def make_sample_disk(path: Path) -> Path:
    """The sample disk: from the shipped asset, else a generated MBR + NTFS boot sector."""
    from wizard.core.assets import asset_path

    try:
        source = asset_path(*ASSET)
    except WizardError:
        return make_bare_sample_disk(path)
    with gzip.open(source, "rb") as packed, atomic_writer(path) as out:
        shutil.copyfileobj(packed, out, 1 << 20)
    return path


def _mbr(total_sectors: int) -> bytes:
    mbr = bytearray(SECTOR)
    mbr[0:len(SAMPLE_NOTE)] = SAMPLE_NOTE  # where boot code would be: the label instead
    struct.pack_into("<I", mbr, 440, 0x5A4D504C)  # disk signature
    entry = struct.pack("<B3sB3sII", 0x80, b"\x01\x01\x00", 0x07, b"\xfe\xff\xff",
                        PARTITION_START, total_sectors - PARTITION_START)
    mbr[446:462] = entry
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr)


def build_sample_disk_asset(target: Path) -> Path:
    """Make ``assets/sandbox/sample-disk.img.gz`` (maintainers only: mkntfs, ntfscp, ntfs-3g).

    ntfs-3g mounts the volume (FUSE, root) to make the WINDOWS folder.
    """
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        part = folder / "part.img"
        total = ASSET_DISK_BYTES // SECTOR
        with open(part, "wb") as handle:
            handle.truncate((total - PARTITION_START) * SECTOR)
        subprocess.run(["mkntfs", "-F", "-q", "-Q", "-L", "SAMPLE", "-s", "512", "-c", "4096",
                        "-p", str(PARTITION_START), "-H", "255", "-S", "63", str(part)],
                       check=True, capture_output=True)
        files = {
            "NTLDR": SAMPLE_NOTE + b"\r\nplaceholder for NTLDR\r\n",
            "NTDETECT.COM": SAMPLE_NOTE + b"\r\nplaceholder for NTDETECT.COM\r\n",
            "BOOT.INI": BOOT_INI,
            "NTBOOTDD.SYS": SAMPLE_NOTE + b"\r\nplaceholder for NTBOOTDD.SYS\r\n",
            "SAMPLE.TXT": SAMPLE_NOTE + b"\r\n",
        }
        for name, data in files.items():
            source = folder / name
            source.write_bytes(data)
            subprocess.run(["ntfscp", "-f", str(part), str(source), name], check=True,
                           capture_output=True)
        # The folder BOOT.INI names (partition(1)\WINDOWS), so the sample floppy's
        # BOOT.INI points at something that exists: ntfscp makes no folders, so
        # the volume is mounted with ntfs-3g (FUSE) for this one step.
        mount = folder / "mnt"
        mount.mkdir()
        subprocess.run(["ntfs-3g", str(part), str(mount)], check=True, capture_output=True)
        try:
            (mount / "WINDOWS").mkdir()
            (mount / "WINDOWS" / "SAMPLE.TXT").write_bytes(
                SAMPLE_NOTE + b"\r\nwhere Windows would be\r\n")
        finally:
            subprocess.run(["umount", str(mount)], check=True, capture_output=True)
        # mtime 0: the same inputs give the same asset, byte for byte.
        with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9,
                                                      mtime=0) as out:
            out.write(_mbr(total))
            out.write(b"\0" * (PARTITION_START - 1) * SECTOR)
            with open(part, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
    return target


def make_bare_sample_disk(path: Path) -> Path:
    """A raw disk image: MBR with one NTFS partition (type 0x07), an NTFS boot sector."""
    total = DISK_BYTES // SECTOR
    image = bytearray(DISK_BYTES)
    size = total - PARTITION_START
    image[0:SECTOR] = _mbr(total)
    boot = bytearray(SECTOR)
    boot[0:3] = b"\xeb\x52\x90"
    boot[3:11] = b"NTFS    "
    struct.pack_into("<HBHBHHBHHHII", boot, 11, SECTOR, 8, 0, 0, 0, 0, 0xF8, 0, 63, 255,
                     PARTITION_START, 0)
    struct.pack_into("<IQQQb3xb3xQ", boot, 36, 0x800080, size - 1, 4, size // 2, -10, 1,
                     0x5A4D504C5341)
    boot[84:84 + len(SAMPLE_NOTE)] = SAMPLE_NOTE
    boot[510:512] = b"\x55\xaa"
    start = PARTITION_START * SECTOR
    image[start:start + SECTOR] = boot
    write_atomic(path, bytes(image))
    return path


def _fat12_set(fat: bytearray, cluster: int, value: int) -> None:
    offset = cluster * 3 // 2
    if cluster % 2 == 0:
        fat[offset] = value & 0xFF
        fat[offset + 1] = (fat[offset + 1] & 0xF0) | ((value >> 8) & 0x0F)
    else:
        fat[offset] = (fat[offset] & 0x0F) | ((value << 4) & 0xF0)
        fat[offset + 1] = (value >> 4) & 0xFF


def make_sample_floppy(path: Path) -> Path:
    """A FAT12 1.44 MB floppy with placeholder NT boot files."""
    files: list[tuple[bytes, bytes, int]] = [
        (b"NTLDR      ", SAMPLE_NOTE + b"\r\nplaceholder for NTLDR\r\n", 0x27),
        (b"NTDETECTCOM", SAMPLE_NOTE + b"\r\nplaceholder for NTDETECT.COM\r\n", 0x27),
        (b"BOOT    INI", BOOT_INI, 0x26),
        (b"NTBOOTDDSYS", SAMPLE_NOTE + b"\r\nplaceholder for NTBOOTDD.SYS\r\n", 0x20),
    ]
    image = bytearray(FLOPPY_SECTORS * SECTOR)
    boot = bytearray(SECTOR)
    boot[0:3] = b"\xeb\x3c\x90"
    boot[3:11] = b"MSWIN4.1"
    struct.pack_into("<HBHBHHBHHHII", boot, 11, SECTOR, 1, 1, 2, 224, FLOPPY_SECTORS, 0xF0,
                     9, 18, 2, 0, 0)
    struct.pack_into("<BBBI11s8s", boot, 36, 0, 0, 0x29, 0x5A4D504C, b"SAMPLE     ",
                     b"FAT12   ")
    # What an NT-formatted floppy's boot code carries: the loader it looks for
    # and its messages (checks look for "NTLDR" in the boot sector).
    code = (b"NTLDR      \r\nNTLDR is missing\xff\r\nDisk error\xff\r\n"
            b"Press any key to restart\r\n")
    boot[62:62 + len(code)] = code
    boot[62 + len(code):62 + len(code) + len(SAMPLE_NOTE)] = SAMPLE_NOTE
    boot[510:512] = b"\x55\xaa"
    image[0:SECTOR] = boot
    fat = bytearray(9 * SECTOR)
    fat[0:3] = b"\xf0\xff\xff"
    root = bytearray(14 * SECTOR)
    struct.pack_into("<11sB", root, 0, b"SAMPLE     ", 0x08)  # the volume label entry
    cluster = 2
    for number, (name, data, attributes) in enumerate(files, start=1):
        clusters = max(1, -(-len(data) // SECTOR))
        for i in range(clusters):
            _fat12_set(fat, cluster + i, 0xFFF if i == clusters - 1 else cluster + i + 1)
        struct.pack_into("<11sB10sHHHI", root, number * 32, name, attributes, b"\0" * 10,
                         0, 0x5B7A, cluster, len(data))
        start = (33 + cluster - 2) * SECTOR
        image[start:start + len(data)] = data
        cluster += clusters
    for copy in range(2):
        offset = (1 + copy * 9) * SECTOR
        image[offset:offset + len(fat)] = fat
    image[19 * SECTOR:19 * SECTOR + len(root)] = root
    write_atomic(path, bytes(image))
    return path


def make_sample_memdisk(path: Path) -> Path:
    """A stand-in kernel with memdisk's boot header (see wizard.memdisk.verify)."""
    data = bytearray(4 * SECTOR)
    version = b"MEMDISK 0.0-SAMPLE not-bootable\0"
    data[0x1FE:0x200] = b"\x55\xaa"
    data[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", data, 0x206, 0x0206)        # boot protocol 2.06
    # kernel_version: offset of the version string, counted from 0x200.
    struct.pack_into("<H", data, 0x20E, 0x400 - 0x200)
    data[0x400:0x400 + len(version)] = version
    data[0x600:0x600 + len(SAMPLE_NOTE)] = SAMPLE_NOTE
    write_atomic(path, bytes(data[: 0x600 + len(SAMPLE_NOTE)]))
    return path

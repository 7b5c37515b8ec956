"""Disk image fixtures, made without root and without fdisk or ntfs-3g.

The partition table is written in Python (tests/disk/partitions.py, from
the sfdisk-style script the tests give). The NTFS volumes were formatted
once with mkntfs and filled with ntfscp (or through an ntfs-3g mount, for
folders) and ship xz-compressed in tests/disk/ntfs-volumes.tar.xz: each
volume in ``VOLUMES`` by name, with a digest of the files it was made from
(``python -m tests.disk.make_ntfs_volumes`` remakes the archive after a change
to ``VOLUMES``; it needs ntfs-3g). A volume is written into the disk image at
its partition's offset. qemu-img makes the non-raw formats (the tool is the
point there: the README's test command installs it).
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.disk.partitions import write_table
from tests.tools import need

MIB = 1024 * 1024
START_SECTOR = 2048  # 1 MiB, where every partitioning tool since Vista starts
NTFS_SIZE = 8 * MIB
ARCHIVE = Path(__file__).with_name("ntfs-volumes.tar.xz")
# A name ending in "/" is a folder (the value is ignored).
Files = dict[str, bytes]

SCSI_BOOT_INI = (
    "[boot loader]\r\n"
    "timeout=30\r\n"
    "default=scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\r\n"
    "[operating systems]\r\n"
    "scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS=\"Microsoft Windows XP Professional\""
    " /noexecute=optin /fastdetect\r\n"
)
MULTI_BOOT_INI = SCSI_BOOT_INI.replace("scsi(0)", "multi(0)")
WRONG_PARTITION_BOOT_INI = MULTI_BOOT_INI.replace("partition(1)", "partition(3)")
LOGICAL_BOOT_INI = SCSI_BOOT_INI.replace("partition(1)", "partition(2)")


def xp_files(boot_ini: str, ntbootdd: bool) -> Files:
    files = {
        "NTLDR": b"NTLDR stand-in " * 100,
        "NTDETECT.COM": b"NTDETECT stand-in " * 50,
        "BOOT.INI": boot_ini.encode("ascii"),
    }
    if ntbootdd:
        files["NTBOOTDD.SYS"] = b"SCSI miniport stand-in " * 40
    return files


def _with(base: Files, extra: Files) -> Files:
    return {**base, **extra}


# Every NTFS volume the tests use, by name: what its root (and folders) hold.
VOLUMES: dict[str, Files] = {
    "xp_scsi": xp_files(SCSI_BOOT_INI, ntbootdd=True),
    "xp_multi": xp_files(MULTI_BOOT_INI, ntbootdd=False),
    "scsi_no_ntbootdd": xp_files(SCSI_BOOT_INI, ntbootdd=False),
    "wrong_partition": xp_files(WRONG_PARTITION_BOOT_INI, ntbootdd=False),
    "logical": xp_files(LOGICAL_BOOT_INI, ntbootdd=True),
    "second_disk": xp_files(MULTI_BOOT_INI.replace("rdisk(0)", "rdisk(1)"), ntbootdd=False),
    "nt6": {"bootmgr": b"BOOTMGR stand-in " * 100, "pagefile.sys": b"\0" * 4096},
    "nt6_upper": {"BOOTMGR": b"bootmgr " * 64},
    # A file named WINDOWS stands in for the folder where BOOT.INI points.
    "xp_windows_file": _with(xp_files(SCSI_BOOT_INI, ntbootdd=True),
                             {"WINDOWS": b"stand-in for the Windows folder"}),
    # 32-bit and 64-bit Windows: only the latter has \WINDOWS\SysWOW64.
    "xp_32bit": _with(xp_files(SCSI_BOOT_INI, ntbootdd=True),
                      {"WINDOWS/": b"", "WINDOWS/system32/": b"",
                       "WINDOWS/system32/ntoskrnl.exe": b"kernel stand-in " * 8}),
    "xp_64bit": _with(xp_files(SCSI_BOOT_INI, ntbootdd=True),
                      {"WINDOWS/": b"", "WINDOWS/system32/": b"",
                       "WINDOWS/system32/ntoskrnl.exe": b"kernel stand-in " * 8,
                       "WINDOWS/SysWOW64/": b""}),
}


def files_digest(files: Files) -> str:
    """A digest of a volume's names and contents (folders by name only)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0")
        if not name.endswith("/"):
            digest.update(hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def run(*argv: str, stdin: str | None = None) -> None:
    need(argv[0])
    subprocess.run(list(argv), input=stdin, text=True, check=True, capture_output=True)


def partition_table(disk: Path, size: int, script: str) -> None:
    """A zero-filled ``disk`` of ``size`` bytes with ``script``'s partition table on it."""
    with open(disk, "wb") as handle:
        handle.truncate(size)
    write_table(disk, script)


def volume_name(files: Files) -> str:
    """The name in ``VOLUMES`` of the volume holding exactly ``files``."""
    for name, held in VOLUMES.items():
        if held == files:
            return name
    pytest.fail("no shipped NTFS volume holds these files: add them to VOLUMES in "
                "tests/disk/images.py and run python -m tests.disk.make_ntfs_volumes "
                "(needs ntfs-3g)", pytrace=False)


def ntfs_volume(folder: Path, files: Files) -> Path:
    """An NTFS file system in a partition-sized file, holding ``files``."""
    name = volume_name(files)
    digest, data = shipped_volume(name)
    if digest != files_digest(files):
        pytest.fail(f"the shipped NTFS volume {name} was made from other files: run "
                    "python -m tests.disk.make_ntfs_volumes (needs ntfs-3g)", pytrace=False)
    folder.mkdir(parents=True, exist_ok=True)
    volume = folder / "ntfs.img"
    volume.write_bytes(data)
    return volume


@functools.cache
def shipped_volume(name: str) -> tuple[str, bytes]:
    """The digest of the files a shipped volume was made from, and its bytes."""
    with tarfile.open(ARCHIVE, "r:xz") as archive:
        digest = archive.extractfile(f"{name}.sha256")
        packed = archive.extractfile(f"{name}.ntfs")
        assert digest is not None and packed is not None
        return digest.read().decode().strip(), packed.read()


def splice(disk: Path, volume: Path, start_sector: int = START_SECTOR) -> None:
    """Write ``volume`` into ``disk`` at ``start_sector``."""
    with open(disk, "r+b") as out, open(volume, "rb") as src:
        out.seek(start_sector * 512)
        out.write(src.read())


def windows_disk(folder: Path, files: dict[str, bytes], bootable: bool = True) -> Path:
    """A raw disk: an MBR with one NTFS partition (active) holding ``files``."""
    folder.mkdir(parents=True, exist_ok=True)
    disk = folder / "disk.img"
    sectors = NTFS_SIZE // 512
    flag = ", bootable" if bootable else ""
    partition_table(disk, NTFS_SIZE + 2 * MIB,
                    f"label: dos\nstart={START_SECTOR}, size={sectors}, type=7{flag}\n")
    splice(disk, ntfs_volume(folder / "volume", files))
    return disk


def qemu_img(*argv: str) -> None:
    run("qemu-img", *argv)

"""Disk image fixtures made with the real tools, without root.

sfdisk writes the partition table into a plain file; mkntfs formats a
separate partition-sized file; ntfscp puts the boot files in; the partition
is then written into the disk image at its offset. qemu-img makes the
non-raw formats.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

MIB = 1024 * 1024
START_SECTOR = 2048  # 1 MiB, where every partitioning tool since Vista starts
NTFS_SIZE = 8 * MIB

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


def run(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(list(argv), input=stdin, text=True, check=True, capture_output=True)


def partition_table(disk: Path, size: int, script: str) -> None:
    """A zero-filled ``disk`` of ``size`` bytes with sfdisk's table on it."""
    with open(disk, "wb") as handle:
        handle.truncate(size)
    run("sfdisk", "--no-reread", "--no-tell-kernel", str(disk), stdin=script)


def ntfs_volume(folder: Path, files: dict[str, bytes]) -> Path:
    """An NTFS file system in a partition-sized file, holding ``files`` at its root."""
    folder.mkdir(parents=True, exist_ok=True)
    volume = folder / "ntfs.img"
    with open(volume, "wb") as handle:
        handle.truncate(NTFS_SIZE)
    run("mkntfs", "-F", "-Q", "-q", "-s", "512", "-p", str(START_SECTOR), "-H", "255",
        "-S", "63", "-L", "WINXP", str(volume))
    for number, (name, data) in enumerate(files.items()):
        local = folder / f"file-{number}"
        local.write_bytes(data)
        run("ntfscp", "-q", str(volume), str(local), name)
    return volume


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


def xp_files(boot_ini: str, ntbootdd: bool) -> dict[str, bytes]:
    files = {
        "NTLDR": b"NTLDR stand-in " * 100,
        "NTDETECT.COM": b"NTDETECT stand-in " * 50,
        "BOOT.INI": boot_ini.encode("ascii"),
    }
    if ntbootdd:
        files["NTBOOTDD.SYS"] = b"SCSI miniport stand-in " * 40
    return files


def qemu_img(*argv: str) -> None:
    run("qemu-img", *argv)

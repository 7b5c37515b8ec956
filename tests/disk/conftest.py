"""Disk images built once per test session (from the shipped NTFS volumes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.disk import images


@pytest.fixture(scope="session")
def disks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("disks")
    made: dict[str, Path] = {}
    made["xp_scsi"] = images.windows_disk(
        root / "xp_scsi", images.xp_files(images.SCSI_BOOT_INI, ntbootdd=True))
    made["xp_multi"] = images.windows_disk(
        root / "xp_multi", images.xp_files(images.MULTI_BOOT_INI, ntbootdd=False))
    made["scsi_no_ntbootdd"] = images.windows_disk(
        root / "scsi_no_ntbootdd", images.xp_files(images.SCSI_BOOT_INI, ntbootdd=False))
    made["wrong_partition"] = images.windows_disk(
        root / "wrong_partition", images.xp_files(images.WRONG_PARTITION_BOOT_INI, False))
    made["nt6"] = images.windows_disk(
        root / "nt6", {"bootmgr": b"BOOTMGR stand-in " * 100, "pagefile.sys": b"\0" * 4096})
    made["not_active"] = images.windows_disk(
        root / "not_active", images.xp_files(images.SCSI_BOOT_INI, ntbootdd=True),
        bootable=False)

    gpt = root / "gpt.img"
    images.partition_table(gpt, 4 * images.MIB,
                           "label: gpt\nstart=2048, size=4096, type=EBD0A0A2-B9E5-4433-"
                           "87C0-68B9B599C7C7\n")
    made["gpt"] = gpt

    linux = root / "linux.img"
    images.partition_table(linux, 4 * images.MIB, "label: dos\nstart=2048, size=4096, "
                           "type=83, bootable\n")
    made["no_ntfs"] = linux

    unformatted = root / "unformatted.img"
    images.partition_table(unformatted, 4 * images.MIB, "label: dos\nstart=2048, "
                           "size=4096, type=7, bootable\n")
    made["unformatted"] = unformatted

    # An NTFS boot sector with its MFT wiped: NTFS by every outward sign, unreadable.
    damaged = root / "damaged" / "disk.img"
    damaged.parent.mkdir()
    damaged.write_bytes(made["xp_scsi"].read_bytes())
    with open(damaged, "r+b") as handle:
        handle.seek(images.START_SECTOR * 512 + 512)
        handle.write(b"\xff" * (images.NTFS_SIZE - 512))
    made["damaged"] = damaged

    # Logical partitions: a FAT primary, then an extended one holding NTFS.
    logical = root / "logical"
    logical.mkdir()
    disk = logical / "disk.img"
    images.partition_table(
        disk, 16 * images.MIB,
        "label: dos\n"
        "start=2048, size=2048, type=b\n"
        "start=8192, size=20480, type=5\n"
        "start=10240, size=16384, type=7, bootable\n",
    )
    images.splice(disk, images.ntfs_volume(
        logical / "volume", images.xp_files(images.SCSI_BOOT_INI.replace(
            "partition(1)", "partition(2)"), ntbootdd=True)), start_sector=10240)
    made["logical"] = disk

    blank = root / "blank.img"
    blank.write_bytes(b"\0" * images.MIB)
    made["no_mbr"] = blank

    for fmt in ("qcow2", "vmdk", "vpc", "vdi", "vhdx", "qed"):
        path = root / f"empty.{fmt}"
        images.qemu_img("create", "-q", "-f", fmt, str(path), "16M")
        made[f"empty_{fmt}"] = path
    qcow2 = root / "xp_scsi.qcow2"
    images.qemu_img("convert", "-f", "raw", "-O", "qcow2", str(made["xp_scsi"]), str(qcow2))
    made["xp_scsi_qcow2"] = qcow2
    return made

"""floppy verify given the wrong thing: a disk image, or a --disk it cannot read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.disk import images as disk_images
from tests.floppy.images import build_floppy

ROOT = Path(__file__).resolve().parents[2]
GPT = "label: gpt\nstart=2048, size=4096, type=EBD0A0A2-B9E5-4433-87C0-68B9B599C7C7\n"


def verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", "floppy", "verify",
                           *map(str, args)], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
                          timeout=60)


@pytest.fixture(scope="module")
def floppy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_floppy(tmp_path_factory.mktemp("floppy") / "win-boot.img")


def test_a_partitioned_disk_image_is_named_for_what_it_is(tmp_path: Path) -> None:
    disk = disk_images.windows_disk(tmp_path / "xp", disk_images.VOLUMES["xp_scsi"])
    result = verify(disk)
    assert result.returncode == 1
    flat = " ".join(result.stdout.split())
    assert ("Formatted: this is a disk image with an MBR partition table "
            "(partition 1 NTFS/exFAT), not a floppy") in flat
    assert "bytes per sector" not in flat and "something other than Windows" not in flat
    assert "Ready:" not in flat


def test_a_gpt_disk_image_is_named_for_what_it_is(tmp_path: Path) -> None:
    disk = tmp_path / "gpt.img"
    disk_images.partition_table(disk, 4 * disk_images.MIB, GPT)
    flat = " ".join(verify(disk).stdout.split())
    assert "this is a disk image with a GPT partition table, not a floppy" in flat


def unreadable_disk(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.img"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(os.urandom(4 * disk_images.MIB))
    elif kind == "qcow2":
        disk_images.qemu_img("create", "-q", "-f", "qcow2", str(path), "16M")
    else:
        disk_images.partition_table(path, 4 * disk_images.MIB, GPT)
    return path


@pytest.mark.parametrize("kind", ["empty", "random", "qcow2", "gpt"])
def test_a_disk_it_cannot_read_fails_the_cross_check(floppy: Path, tmp_path: Path,
                                                     kind: str) -> None:
    alone = verify(floppy)
    assert alone.returncode == 0 and "Ready:" in alone.stdout  # the floppy itself is fine
    result = verify(floppy, "--disk", unreadable_disk(kind, tmp_path))
    assert result.returncode == 1, result.stdout
    flat = " ".join(result.stdout.split())
    assert "the cross-check could not run" in flat
    assert "Ready:" not in flat and "Not ready: 1 check failed." in flat
    why = {"empty": "0 bytes", "random": "no MBR", "qcow2": "qcow2", "gpt": "GPT"}[kind]
    assert why in flat.split("the cross-check could not run", 1)[1]

"""Windows disk images for the check tests, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.disk import images


@pytest.fixture(scope="session")
def windows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("windows")
    xp = images.windows_disk(root / "xp", images.xp_files(images.SCSI_BOOT_INI, True))
    xp_ide = images.windows_disk(root / "xp_ide",
                                 images.xp_files(images.MULTI_BOOT_INI, False))
    nt6 = images.windows_disk(root / "nt6", {"BOOTMGR": b"bootmgr " * 64})
    qcow2 = root / "xp.qcow2"
    images.qemu_img("convert", "-f", "raw", "-O", "qcow2", str(xp), str(qcow2))
    return {"xp": xp, "xp_ide": xp_ide, "nt6": nt6, "qcow2": qcow2}

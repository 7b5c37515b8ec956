"""Windows disk images for the check tests, built once per test session."""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(EC2 URL, S3 URL) of a sandbox cloud that takes the kit's keys (tests.prerequisites.kit).

    check signs a request to each endpoint with the keys: an answering HTTP
    server is not enough to pass. The sandbox keeps the keys a folder's
    identity record names, so the kit's are written there before it starts.
    """
    import json

    from tests.prerequisites.kit import ACCESS, SECRET
    from wizard.cloud.sandbox import CLOUD_DIR, start_sandbox

    folder = tmp_path_factory.mktemp("kit-cloud")
    with start_sandbox(folder, samples=False):
        pass  # its certificates and identity record, made once
    record = folder / CLOUD_DIR / "identity.json"
    identity = json.loads(record.read_text())
    identity.update(access_key=ACCESS, secret_key=SECRET)
    record.write_text(json.dumps(identity))
    with start_sandbox(folder, samples=False) as sandbox:
        assert sandbox.access_key == ACCESS
        yield sandbox.ec2_url, sandbox.s3_url

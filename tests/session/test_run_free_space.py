"""A session whose disk image's bundle is made resumes with less free space than the disk
image's size: nothing that large is written again. The work folder is a small tmpfs
(mounting needs root: CI runs as root), the upload refused at the sandbox's proxy the
first time; real ``run`` processes."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.session.test_run_resume import (
    big_disk,
    error_line,
    finish,
    ids_of,
    registrations,
    run,
    state_of,
    write_answers,
)
from wizard.cloud.sandbox import Sandbox

MIB = 1024 * 1024


@pytest.fixture
def small_folder(tmp_path: Path) -> Iterator[Path]:
    """A 96 MiB tmpfs of its own (really that little space), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs as the work folder needs root (CI runs as root)")
    folder = tmp_path / "small"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m,mode=0700",
                           "wizard-test-small", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_made_bundle_resumes_with_less_space_than_the_disk(
        cloud_box: Sandbox, tmp_path: Path, small_folder: Path) -> None:
    disk = big_disk(tmp_path / "xp.img", 24 * MIB)
    answers = write_answers(tmp_path, cloud_box, "space", disk)
    with open(answers, "a") as handle:
        handle.write(f'work_dir = "{small_folder / "wd"}"\n')
    cloud_box.proxy.inject("error", lambda m, p: m == "PUT" and "space-image.part" in p,
                           times=1000, status=403, code="AccessDenied", message="injected")
    code, _, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 1 and "injected" in error_line(err)
    assert state_of("space")["image.bundle"]["status"] == "done"
    cloud_box.proxy.clear()

    # Less free space than the disk image's size now (really: a file takes the rest).
    free = shutil.disk_usage(small_folder).free
    with open(small_folder / "filler", "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, free - 8 * MIB)
    assert shutil.disk_usage(small_folder).free < disk.stat().st_size

    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    assert ids_of(out)["IMAGE"]
    assert len(registrations(cloud_box.proxy.log)) == 1  # the image; the others before
    warned = [line for line in err.splitlines() if "free space" in line]
    assert len(warned) == 1 and "the disk image's bundle is made already" in warned[0], err

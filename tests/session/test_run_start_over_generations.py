"""A start over finds the bundle an image was last registered from, whatever its
generation: the state file (which counted the generations) is set aside, but the
session's bundle folder still holds ``NAME-image-2``. Real ``run`` processes against the
sandbox; the proxy counts what crosses the wire."""

from __future__ import annotations

import os
from pathlib import Path

from tests.session.test_run_resume import (
    finish,
    ids_of,
    object_puts,
    registrations,
    run,
    state_of,
    write_answers,
)
from wizard.cloud.samples import make_sample_disk
from wizard.cloud.sandbox import Sandbox


def test_a_start_over_reuses_the_latest_generation(cloud_box: Sandbox,
                                                   tmp_path: Path) -> None:
    disk = make_sample_disk(tmp_path / "xp.img")
    answers = write_answers(tmp_path, cloud_box, "so", disk)
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    first = ids_of(out)
    with open(disk, "r+b") as handle:  # the VM booted again: its disk was written to
        handle.seek(disk.stat().st_size - 4096)
        handle.write(os.urandom(4096))
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    second = ids_of(out)
    assert second["IMAGE"] != first["IMAGE"]
    assert state_of("so")["image.bundle"]["outputs"]["manifest"].endswith(
        "so-image-2.manifest.xml")

    cloud_box.proxy.clear()
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", "--start-over",
                                cwd=tmp_path))
    assert code == 0, err
    assert ids_of(out) == second
    assert object_puts(cloud_box.proxy.log) == []
    assert registrations(cloud_box.proxy.log) == []
    assert "so-image-3" not in err and "stale bundle" not in err
    assert "reusing the finished bundle" in err and "so-image-2.manifest.xml" in err
    image = state_of("so")["image.bundle"]
    assert image["generation"] == 2 and image["outputs"]["manifest"].endswith(
        "so-image-2.manifest.xml")

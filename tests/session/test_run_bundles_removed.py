"""A finished session whose bundle folder was removed (to free its space) run again: the
cloud still holds each image, so nothing is bundled, sent or registered twice. Real
``run`` processes against the sandbox; the proxy counts what crosses the wire."""

from __future__ import annotations

import shutil
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
from wizard.session.store import SessionPaths


def test_removed_bundles_of_a_finished_session_are_not_made_again(cloud_box: Sandbox,
                                                                   tmp_path: Path) -> None:
    disk = make_sample_disk(tmp_path / "xp.img")
    answers = write_answers(tmp_path, cloud_box, "freed", disk)
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    first = ids_of(out)
    bundles = SessionPaths("freed").folder / "bundles"
    assert list(bundles.glob("*/freed-*.manifest.xml"))
    shutil.rmtree(bundles)

    cloud_box.proxy.clear()
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    assert ids_of(out) == first
    assert object_puts(cloud_box.proxy.log) == []
    assert registrations(cloud_box.proxy.log) == []
    # Each role's bundle and upload say why they are not done again; the names and
    # generations stay the first run's.
    for role in ("kernel", "ramdisk", "image"):
        held = [line for line in err.splitlines()
                if "the cloud holds the bundle" in line and first[role.upper()] in line]
        assert len(held) == 2, err
    steps = state_of("freed")
    assert all(step["status"] == "done" and step["generation"] == 1
               for step in steps.values()), steps
    assert not bundles.exists()  # nothing bundled again in its place

    # An image deregistered meanwhile is not held any more: that role is made again
    # (and the image registered anew), the others stay as they are.
    from tests.cloud.conftest import make_cloud

    make_cloud(cloud_box).ec2_client().deregister_image(ImageId=first["IMAGE"])
    cloud_box.proxy.clear()
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    again = ids_of(out)
    assert (again["KERNEL"], again["RAMDISK"]) == (first["KERNEL"], first["RAMDISK"])
    assert again["IMAGE"] != first["IMAGE"]
    assert [e.form.get("KernelId") for e in registrations(cloud_box.proxy.log)] == [
        first["KERNEL"]]

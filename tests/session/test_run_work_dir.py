"""``build.work_dir``: the bundles are made in a folder the operator names (a roomy disk),
not in the state folder. Real ``run`` processes against the sandbox cloud.

The session claims a folder of its own there (mkdtemp, 0700) and records it, so a
resume finds its bundles again, and a same-name session of another state folder
sharing the work folder never clears or reuses them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.session.test_run_resume import (
    finish,
    ids_of,
    object_puts,
    registrations,
    run,
    write_answers,
)
from wizard.cloud.samples import make_sample_disk
from wizard.cloud.sandbox import Sandbox
from wizard.session.store import SessionPaths


def with_work_dir(answers: Path, work_dir: str) -> None:
    text = answers.read_text()
    answers.write_text(text.replace("[build]\n", f'[build]\nwork_dir = "{work_dir}"\n'))


def bundle_files(folder: Path) -> set[str]:
    return {path.name for path in folder.rglob("*") if path.is_file()}


def test_bundles_go_to_the_work_folder_and_are_found_again(cloud_box: Sandbox,
                                                            tmp_path: Path) -> None:
    disk = make_sample_disk(tmp_path / "xp.img")
    answers = write_answers(tmp_path, cloud_box, "wd", disk)
    # Relative, through "..": from the answers file's folder, normalised.
    with_work_dir(answers, "big disk/../big disk/bundles")
    work = tmp_path / "big disk" / "bundles"
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    first = ids_of(out)

    paths = SessionPaths("wd")
    assert not (paths.folder / "bundles").exists()
    [claimed] = list(work.iterdir())
    assert claimed.name.startswith("wd-bundles-")
    assert stat.S_IMODE(os.stat(claimed).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(work).st_mode) == 0o700  # made by the wizard: private
    assert sorted(p.name for p in claimed.iterdir()) == ["image", "kernel", "ramdisk"]
    made = bundle_files(claimed)
    assert {"wd-image.manifest.xml", "wd-kernel.manifest.xml", "wd-ramdisk.manifest.xml"} <= made
    assert any(name.startswith("wd-image.part.") for name in made)
    assert (paths.folder / "work-folder").read_text().strip() == str(claimed)

    # Again from the start (the state file is not needed): the same folder, the
    # bundles reused, nothing sent or registered again.
    cloud_box.proxy.clear()
    code, out, err = finish(run(cloud_box, "--session", "wd", "--yes", "--start-over",
                                cwd=tmp_path, EC2_SECRET_KEY=cloud_box.secret_key))
    assert code == 0, err
    assert ids_of(out) == first
    assert list(work.iterdir()) == [claimed]
    assert "reusing the finished bundle" in err
    assert object_puts(cloud_box.proxy.log) == [] and registrations(cloud_box.proxy.log) == []

    # A same-name session from another state folder, same work folder: a folder of
    # its own; the first session's bundles are untouched.
    before = {path: path.stat().st_mtime_ns for path in claimed.rglob("*") if path.is_file()}
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path,
                                XDG_STATE_HOME=str(tmp_path / "other-state")))
    assert code == 0, err
    folders = sorted(work.iterdir())
    assert len(folders) == 2 and claimed in folders
    assert {path: path.stat().st_mtime_ns for path in claimed.rglob("*")
            if path.is_file()} == before
    assert "reusing the finished bundle" not in err


def test_a_work_folder_that_cannot_be_made_is_one_line(cloud_box: Sandbox,
                                                       tmp_path: Path) -> None:
    disk = make_sample_disk(tmp_path / "xp.img")
    answers = write_answers(tmp_path, cloud_box, "wdbad", disk)
    (tmp_path / "a-file").write_text("not a folder\n")
    with_work_dir(answers, "a-file/bundles")
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 1 and out == ""
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert f"cannot make a folder for the bundles in {tmp_path / 'a-file' / 'bundles'}" in (
        errors[0])
    assert "build.work_dir" in errors[0]
    assert (tmp_path / "a-file").read_text() == "not a folder\n"

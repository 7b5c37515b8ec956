"""Fix the answers file, run again: a session whose steps have done nothing yet takes the
corrected answers (one line says so) and goes on in the same session; one with steps done
is refused, with a way out that works. Real processes against the sandbox cloud."""

from __future__ import annotations

import os
from pathlib import Path

from tests.session.test_run_resume import error_line, finish, ids_of, run, write_answers
from wizard.cloud.samples import make_sample_disk
from wizard.cloud.sandbox import Sandbox
from wizard.session.answers import load_answers
from wizard.session.store import SessionPaths


def test_a_fixed_memdisk_path_is_taken_by_the_same_session(cloud_box: Sandbox,
                                                           tmp_path: Path) -> None:
    disk = make_sample_disk(tmp_path / "xp.img")
    answers = write_answers(tmp_path, cloud_box, "q3", disk)
    right = answers.read_text()
    memdisk = right.split('memdisk = "', 1)[1].split('"', 1)[0]
    answers.write_text(right.replace(f'memdisk = "{memdisk}"', 'memdisk = "/nonexistent/memdisk"'))
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 1 and out == ""
    assert "/nonexistent/memdisk" in error_line(err)

    answers.write_text(right)  # the operator's fix
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    assert "other answers" not in err
    notes = [line for line in err.splitlines() if "changed since the last run" in line]
    assert notes == [f"session q3: build.memdisk changed since the last run; "
                     f"{SessionPaths('q3').answers} now holds the answers given"], err
    assert str(load_answers(SessionPaths("q3").answers).build.memdisk) == memdisk
    ids_of(out)
    sessions = sorted(os.listdir(SessionPaths("q3").folder.parent))
    assert sessions == ["q3"]

    # Now steps are done with these answers: another arch is refused, and the way out works.
    answers.write_text(right.replace('arch = "i386"', 'arch = "x86_64"'))
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 1 and out == ""
    line = error_line(err)
    assert "session 'q3' was started with other answers: build.arch not as saved" in line
    assert "steps done depend on them" in line and "--start-over" in line
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", "--start-over",
                                cwd=tmp_path))
    assert code == 0, err
    assert load_answers(SessionPaths("q3").answers).build.arch == "x86_64"

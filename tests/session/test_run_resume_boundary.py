"""Resuming a finished memdisk-from-syslinux session never registers anything again: a
Ctrl+C at a step boundary leaves the finished step done, and a start over reuses the
memdisk built before (a memdisk built again is a new file, so a new kernel, so a new
image). Real ``run`` processes, a real make/nasm build, a real SIGINT; the proxy counts
what crosses the wire."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

from tests.memdisk.syslinux_tree import make_tarball, make_tree
from tests.session.test_run_resume import (
    error_line,
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


def syslinux_answers(folder: Path, sb: Sandbox, name: str) -> Path:
    """The test answers with memdisk built from a (small, real) syslinux release."""
    disk = make_sample_disk(folder / "xp.img")
    path = write_answers(folder, sb, name, disk)
    tarball = make_tarball(make_tree(folder / "src"), folder / "syslinux-6.04.tar.gz")
    text, count = re.subn(r"^memdisk = .*$", f'syslinux_source = "{tarball}"',
                          path.read_text(), flags=re.M)
    assert count == 1
    path.write_text(text)
    return path


def test_ctrl_c_at_a_step_boundary_and_a_start_over_redo_nothing(
        cloud_box: Sandbox, tmp_path: Path) -> None:
    answers = syslinux_answers(tmp_path, cloud_box, "edge")
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    first = ids_of(out)
    assert state_of("edge")["memdisk"]["status"] == "done"

    # Run 2: Ctrl+C while the prerequisites step waits for the S3 endpoint's answer,
    # after its last look at the flag: the step finishes, the build stops before the
    # next step (memdisk, done in run 1) begins its work.
    s3_root = "/" + cloud_box.s3_url.split("/", 3)[3].rstrip("/")
    child: dict[str, subprocess.Popen[str]] = {}

    def ctrl_c_at_s3(method: str, path: str) -> bool:
        if method != "GET" or path.split("?")[0].rstrip("/") != s3_root or "sent" in child:
            return False
        os.kill(child["run"].pid, signal.SIGINT)  # while the proxy holds the request
        child["sent"] = child["run"]
        return True

    cloud_box.proxy.inject("delay", ctrl_c_at_s3, times=1, seconds=0.2)
    child["run"] = run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path)
    code, out, err = finish(child["run"])
    assert "sent" in child, "the build never asked the S3 endpoint"
    assert code == 1 and out == ""
    assert error_line(err).startswith("euca-windows-wizard: error: interrupted by Ctrl+C")
    logged = [json.loads(line) for line in SessionPaths("edge").events.read_text()
              .splitlines()]
    starts = [n for n, e in enumerate(logged)
              if (e["kind"], e.get("step")) == ("StepStarted", "prerequisites")]
    run_2 = logged[starts[-1]:]
    ends = [(e["kind"], e["step"]) for e in run_2 if e["kind"] in ("StepFinished",
                                                                  "StepFailed")]
    assert ends == [("StepFinished", "prerequisites"), ("StepFailed", "memdisk")], run_2
    # The step interrupted before any of its work is still what run 1 made of it.
    steps = state_of("edge")
    assert steps["memdisk"]["status"] == "done"
    assert all(step["status"] == "done" for step in steps.values()), steps

    # Run 3: everything is found done; nothing is built, sent or registered again.
    cloud_box.proxy.clear()
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    assert ids_of(out) == first
    assert registrations(cloud_box.proxy.log) == []
    assert object_puts(cloud_box.proxy.log) == []
    assert "Building memdisk" not in err

    # Run 4: a start over (the state file set aside) reuses the memdisk built in run 1,
    # so the kernel bundle is still this build's: the same three images, nothing sent.
    memdisk = Path(state_of("edge")["memdisk"]["outputs"]["path"])
    before = memdisk.stat()
    cloud_box.proxy.clear()
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", "--start-over",
                                cwd=tmp_path))
    assert code == 0, err
    assert ids_of(out) == first
    assert registrations(cloud_box.proxy.log) == []
    assert object_puts(cloud_box.proxy.log) == []
    assert "reusing the memdisk built before from" in err
    assert (memdisk.stat().st_ino, memdisk.stat().st_mtime_ns) == (before.st_ino,
                                                                   before.st_mtime_ns)

"""``run --answers`` against the sandbox cloud, in real processes: a whole build, a resume
after ``kill -9`` in the middle of the disk image's upload, a changed disk image, a damaged
state file. What crosses the wire is counted at the sandbox's proxy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.conftest import cli_env
from wizard.cloud.pathproxy import Exchange
from wizard.cloud.samples import make_sample_disk, make_sample_floppy
from wizard.cloud.sandbox import Sandbox
from wizard.memdisk.find import find_memdisk
from wizard.session.store import SessionPaths

BUCKET = "run-images"


def write_answers(folder: Path, sb: Sandbox, name: str, disk: Path) -> Path:
    """An answers file giving every key one by one, the secret key too."""
    memdisk = find_memdisk()
    floppy = make_sample_floppy(folder / "win-boot.img")
    path = folder / "answers.toml"
    path.write_text(f"""\
[cloud]
s3_url = "{sb.s3_url}"
ec2_url = "{sb.ec2_url}"
access_key = "{sb.access_key}"
secret_key = "{sb.secret_key}"
account = "{sb.account}"
cert = "{sb.cert}"
private_key = "{sb.private_key}"
cloud_cert = "{sb.cloud_cert}"

[build]
name = "{name}"
bucket = "{BUCKET}"
arch = "i386"
mode = "memdisk"
disk = "{disk.name}"
floppy = "{floppy.name}"
memdisk = "{memdisk.path if memdisk else sb.samples['memdisk']}"
""")
    return path


def run(sb: Sandbox, *args: str | Path, cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "wizard", "run", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=cwd, env=cli_env(sb, **env), stdin=subprocess.DEVNULL)


def finish(child: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = child.communicate(timeout=300)
    assert "Traceback" not in err
    return child.returncode, out, err


def ids_of(stdout: str) -> dict[str, str]:
    lines = stdout.strip().splitlines()[-3:]
    assert [line.split("\t")[0] for line in lines] == ["KERNEL", "RAMDISK", "IMAGE"], stdout
    return dict(line.split("\t") for line in lines)


def object_puts(log: list[Exchange]) -> list[Exchange]:
    return [e for e in log if e.method == "PUT" and e.key.startswith(BUCKET + "/")]


def registrations(log: list[Exchange]) -> list[Exchange]:
    return [e for e in log if e.action == "RegisterImage"]


def state_of(name: str) -> dict[str, Any]:
    steps: dict[str, Any] = json.loads(SessionPaths(name).state.read_text())["steps"]
    return steps


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


def test_run_answers_builds_resumes_and_keeps_no_secret(cloud_box: Sandbox, tmp_path: Path,
                                                        private_xdg: Path) -> None:
    disk = make_sample_disk(tmp_path / "xp.img")
    answers = write_answers(tmp_path, cloud_box, "winxp", disk)
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    first = ids_of(out)
    assert len(set(first.values())) == 3
    assert len(registrations(cloud_box.proxy.log)) == 3
    steps = state_of("winxp")
    assert all(step["status"] == "done" for step in steps.values())
    # No secret anywhere the wizard writes: session files, events, logs.
    for path in private_xdg.rglob("*"):
        if path.is_file():
            assert cloud_box.secret_key.encode() not in path.read_bytes(), path

    # The same command again: everything is found done; nothing is sent or registered.
    cloud_box.proxy.clear()
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    assert ids_of(out) == first
    assert object_puts(cloud_box.proxy.log) == []
    assert registrations(cloud_box.proxy.log) == []
    assert err.count("done in an earlier run, and its outputs still hold") == 11

    # A damaged state file: one line with its path and the way out, exit 1.
    paths = SessionPaths("winxp")
    paths.state.write_text('{"version": 1, "steps": {"memdisk": ')
    code, out, err = finish(run(cloud_box, "--session", "winxp", "--yes", cwd=tmp_path))
    line = error_line(err)
    assert code == 1 and out == ""
    assert f"the state file {paths.state} of session 'winxp' is damaged" in line
    assert "--start-over" in line
    # A lost one too (the event log shows the session has run).
    paths.state.unlink()
    code, _, err = finish(run(cloud_box, "--session", "winxp", "--yes", cwd=tmp_path))
    assert code == 1 and "is missing, although the session has run" in error_line(err)

    # The saved answers hold no secret key: without one from elsewhere, the build says so.
    code, _, err = finish(run(cloud_box, "--session", "winxp", "--yes", "--start-over",
                              cwd=tmp_path))
    assert code == 1 and "secret key (not set)" in error_line(err)
    # Starting over finds every bundle, upload and registration again.
    cloud_box.proxy.clear()
    code, out, err = finish(run(cloud_box, "--session", "winxp", "--yes", "--start-over",
                                cwd=tmp_path, EC2_SECRET_KEY=cloud_box.secret_key))
    assert code == 0, err
    assert ids_of(out) == first
    assert object_puts(cloud_box.proxy.log) == []
    assert registrations(cloud_box.proxy.log) == []
    assert "reusing the finished bundle" in err
    assert list(paths.folder.glob("state.json.old-*"))  # kept for a look


def test_a_changed_disk_image_redoes_its_steps(cloud_box: Sandbox, tmp_path: Path) -> None:
    disk = make_sample_disk(tmp_path / "xp.img")
    answers = write_answers(tmp_path, cloud_box, "changing", disk)
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    first = ids_of(out)
    before = state_of("changing")["image.bundle"]["outputs"]
    with open(disk, "r+b") as handle:  # the operator booted the VM again: it wrote to its disk
        handle.seek(disk.stat().st_size - 4096)
        handle.write(os.urandom(4096))
    cloud_box.proxy.clear()
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    redone = [line for line in err.splitlines() if "doing it again" in line]
    assert any(str(disk) in line and "changed" in line for line in redone), err
    after = state_of("changing")["image.bundle"]["outputs"]
    assert after["digest"] != before["digest"]  # bundled again, not reused
    # Under a new name: the parts the first image was registered from stay as they were.
    assert after["manifest"].endswith("changing-image-2.manifest.xml")
    keys = [e.key for e in object_puts(cloud_box.proxy.log)]
    assert keys and all(key.startswith(f"{BUCKET}/changing-image-2.") for key in keys)
    assert keys[-1] == f"{BUCKET}/changing-image-2.manifest.xml"
    # The kernel and ramdisk were left alone; the new image was registered once, with them.
    again = registrations(cloud_box.proxy.log)
    assert [e.form.get("ImageLocation") for e in again] == [
        f"{BUCKET}/changing-image-2.manifest.xml"]
    assert again[0].form.get("KernelId") == first["KERNEL"]
    assert again[0].form.get("RamdiskId") == first["RAMDISK"]
    second = ids_of(out)
    assert (second["KERNEL"], second["RAMDISK"]) == (first["KERNEL"], first["RAMDISK"])
    assert second["IMAGE"] != first["IMAGE"]
    assert f"the image registered before, {first['IMAGE']}, stays registered" in err


def big_disk(path: Path, extra: int) -> Path:
    """The sample disk with ``extra`` bytes of noise after it: several 10 MiB parts."""
    make_sample_disk(path)
    with open(path, "ab") as handle:
        handle.write(os.urandom(extra))
    return path


def test_kill_9_during_the_image_upload_then_run_again(cloud_box: Sandbox,
                                                       tmp_path: Path) -> None:
    disk = big_disk(tmp_path / "xp.img", 60 * 1024 * 1024)
    answers = write_answers(tmp_path, cloud_box, "killed", disk)
    proxy = cloud_box.proxy
    # The store answers the disk image's parts slowly: the build is surely in the middle
    # of that upload when it is killed.
    proxy.inject("delay", lambda m, p: m == "PUT" and "killed-image.part." in p,
                 times=10_000, seconds=3.0)
    child = run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path)

    def image_parts_stored() -> list[Exchange]:
        return [e for e in object_puts(proxy.log)
                if "killed-image.part." in e.key and e.status == 200]

    events = SessionPaths("killed").events
    deadline = time.monotonic() + 240
    while '"step": "image.upload"' not in (events.read_text() if events.exists() else ""):
        assert time.monotonic() < deadline, "the image's upload did not start"
        assert child.poll() is None, child.communicate()
        time.sleep(0.05)
    # A second build of the same session meanwhile is refused, naming the running one.
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 1 and out == ""
    assert f"session 'killed' is being built by process {child.pid} right now" in error_line(err)
    assert "follow it from elsewhere" not in err  # the error is the one line
    while not image_parts_stored():
        assert time.monotonic() < deadline, "no part of the image was stored"
        assert child.poll() is None, child.communicate()
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert proxy.wait_idle(90)  # parts on their way when the build died may still land
    steps = state_of("killed")
    assert steps["image.upload"]["status"] == "running"
    assert steps["image.bundle"]["status"] == "done"
    total = int(steps["image.bundle"]["outputs"]["parts"])
    stored = {e.key for e in image_parts_stored()}
    assert 1 <= len(stored) < total
    assert not [e for e in object_puts(proxy.log) if e.key.endswith("killed-image.manifest.xml")]
    first_registrations = registrations(proxy.log)
    assert len(first_registrations) == 2  # the kernel and the ramdisk, before the image

    proxy.clear()
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    ids = ids_of(out)
    puts = object_puts(proxy.log)
    # Only what was missing: the image's other parts, then its manifest; nothing of the
    # kernel or the ramdisk, and no part twice.
    sent = [e.key for e in puts]
    assert len(sent) == total - len(stored) + 1, sent
    assert not set(sent) & stored
    assert sent[-1].endswith("killed-image.manifest.xml")
    assert "reusing" not in err or "killed-image" in err
    assert "done in an earlier run" in err
    # Each image registered exactly once over both runs: the image now, the others before.
    again = registrations(proxy.log)
    assert len(again) == 1
    assert again[0].form.get("ImageLocation") == f"{BUCKET}/killed-image.manifest.xml"
    locations = {e.form.get("ImageLocation") for e in first_registrations}
    assert locations == {f"{BUCKET}/killed-kernel.manifest.xml",
                         f"{BUCKET}/killed-ramdisk.manifest.xml"}
    assert state_of("killed")["image.register"]["outputs"]["image_id"] == ids["IMAGE"]


def test_parts_of_a_killed_bundle_are_cleared_by_the_session(cloud_box: Sandbox,
                                                             tmp_path: Path) -> None:
    disk = big_disk(tmp_path / "xp.img", 200 * 1024 * 1024)
    answers = write_answers(tmp_path, cloud_box, "cut", disk)
    child = run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path)
    folder = SessionPaths("cut").folder / "bundles" / "image"
    deadline = time.monotonic() + 240
    while len(list(folder.glob("cut-image.part.*"))) < 2:
        assert time.monotonic() < deadline, "the image's bundle did not start"
        assert child.poll() is None, child.communicate()
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    left = sorted(path.name for path in folder.iterdir())
    assert left and "cut-image.manifest.xml" not in left
    assert state_of("cut")["image.bundle"]["status"] == "running"

    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    assert f"removed {len(left)} file(s) of an unfinished or stale bundle from {folder}" in err
    assert "rm " not in err  # the session clears them itself, never hands over a command
    ids_of(out)
    step = json.loads(SessionPaths("cut").state.read_text())["steps"]["image.bundle"]
    assert step["status"] == "done"
    # Only the new bundle is left: its manifest and the parts it lists.
    parts = int(step["outputs"]["parts"])
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        ["cut-image.manifest.xml", *(f"cut-image.part.{n:02d}" for n in range(parts))])


def test_run_answers_native_registers_the_disk_alone(cloud_box: Sandbox,
                                                     tmp_path: Path) -> None:
    make_sample_disk(tmp_path / "w2k3.img")
    answers = tmp_path / "native.toml"
    answers.write_text(f"""\
[cloud]
eucarc = "{cloud_box.eucarc}"

[build]
bucket = "{BUCKET}"
arch = "x86_64"
mode = "native"
disk = "w2k3.img"
""")
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("IMAGE\t")
    sent = registrations(cloud_box.proxy.log)
    assert len(sent) == 1
    form = sent[0].form
    assert form.get("ImageLocation") == f"{BUCKET}/w2k3-image.manifest.xml"
    assert form.get("VirtualizationType") == "hvm" and "KernelId" not in form
    assert sent[0].path.count("Platform=windows") or form.get("Platform") == "windows"
    assert set(state_of("w2k3")) == {"prerequisites", "image.bundle", "image.upload",
                                     "image.register"}


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_ends_its_step_and_resumes(cloud_box: Sandbox, tmp_path: Path,
                                                      how: int) -> None:
    disk = big_disk(tmp_path / "xp.img", 30 * 1024 * 1024)
    answers = write_answers(tmp_path, cloud_box, "stopped", disk)
    proxy = cloud_box.proxy
    proxy.inject("delay", lambda m, p: m == "PUT" and "stopped-image.part." in p,
                 times=10_000, seconds=1.0)
    child = run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path)
    deadline = time.monotonic() + 240
    while not [e for e in object_puts(proxy.log) if "stopped-image.part." in e.key]:
        assert time.monotonic() < deadline, "the image's upload did not start"
        assert child.poll() is None, child.communicate()
        time.sleep(0.05)
    child.send_signal(how)
    code, out, err = finish(child)
    by = "Ctrl+C" if how == signal.SIGINT else "SIGTERM"
    assert code == 1 and out == ""
    assert error_line(err).startswith(f"euca-windows-wizard: error: interrupted by {by}")
    assert state_of("stopped")["image.upload"]["status"] == "interrupted"
    logged = [json.loads(line) for line in SessionPaths("stopped").events.read_text()
              .splitlines()]
    last = logged[-1]
    assert (last["kind"], last["step"]) == ("StepFailed", "image.upload")
    assert last["message"].startswith(f"interrupted by {by}")
    proxy.clear()
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    assert ids_of(out)["IMAGE"]
    assert len(registrations(proxy.log)) == 1

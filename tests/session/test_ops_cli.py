"""``sessions``, ``sessions export``, ``sessions stop`` and ``attach`` as operators run them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.session.ops_kit import SECRET, Holder, env, new_session, write_events, write_state
from wizard.core.events import (
    Event,
    LogLine,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
    StepWarning,
)
from wizard.session.answers import load_answers
from wizard.session.listing import summarize
from wizard.session.lock import running_pid

IDS = {"kernel": "eki-0123ABCD", "ramdisk": "eri-4567ABCD", "image": "emi-89ABCDEF"}
FINAL = f"KERNEL\t{IDS['kernel']}\nRAMDISK\t{IDS['ramdisk']}\nIMAGE\t{IDS['image']}\n"


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                          text=True, env=env(), timeout=timeout, stdin=subprocess.DEVNULL)


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("euca-windows-wizard: error: "), result.stderr
    assert ". Fix: " in lines[-1]
    assert "Traceback" not in result.stderr
    return lines[-1]


def _rest(viewer: subprocess.Popen[str]) -> tuple[str, str]:
    """What the viewer writes after the lines read already (through the same buffered
    pipes: ``communicate`` would skip what ``readline`` has buffered). Its output is a
    few KiB, far below a pipe's capacity, so waiting first cannot block it."""
    viewer.wait(timeout=60)
    assert viewer.stdout is not None and viewer.stderr is not None
    out, err = viewer.stdout.read(), viewer.stderr.read()
    viewer.stdout.close()
    viewer.stderr.close()
    return out, err


def _done_state(name: str) -> None:
    from wizard.session.store import SessionPaths

    write_state(SessionPaths(name), {
        "prerequisites": ("done", {}),
        "kernel.register": ("done", {"image_id": IDS["kernel"]}),
        "ramdisk.register": ("done", {"image_id": IDS["ramdisk"]}),
        "image.register": ("done", {"image_id": IDS["image"]}),
    })


HISTORY: list[Event] = [
    StepStarted("prerequisites", "Checking the prerequisites"),
    StepWarning("prerequisites", "HTTPS is not checked for 127.0.0.1"),
    StepFinished("prerequisites"),
    StepStarted("image.upload", "Uploading the disk image"),
    *[StepProgress("image.upload", n * 10, 100, n, 10) for n in range(11)],
    LogLine("image.upload", "sent 10 parts"),
    StepFinished("image.upload"),
    StepStarted("image.register", "Registering the disk image"),
    StepFinished("image.register", {"image_id": IDS["image"]}),
]


def test_no_sessions_says_how_to_start_one(private_xdg: Path) -> None:
    result = cli("sessions")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "no saved sessions yet" in result.stderr
    assert "run --answers FILE" in result.stderr


def test_the_list_shows_name_mode_status_step_update_and_ids(private_xdg: Path) -> None:
    new_session("fresh", mode="native")
    done = new_session("built")
    _done_state(done.name)
    failed = new_session("broke")
    write_state(failed, {"kernel.upload": ("failed", {})})
    write_events(failed, [StepStarted("kernel.upload", "Uploading the kernel"),
                          StepFailed("kernel.upload", "the store refused", "try again")])
    result = cli("sessions")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "MODE", "STATUS", "STEP", "UPDATED", "IMAGE", "IDS"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["fresh"][1:4] == ["native", "new", "-"]
    assert rows["built"][1:4] == ["memdisk", "done", "-"]
    assert rows["built"][-3:] == [IDS["kernel"], IDS["ramdisk"], IDS["image"]]
    assert rows["broke"][1:4] == ["memdisk", "failed", "kernel.upload"]
    assert result.stderr == ""  # the table alone; the message is one command away
    shown = cli("sessions", "show", "broke")
    assert shown.returncode == 0, shown.stderr
    assert "status:   failed\n" in shown.stdout
    assert "message:  the store refused. Fix: try again\n" in shown.stdout
    assert "message:" not in cli("sessions", "show", "built").stdout
    assert cli("sessions", "list").stdout == result.stdout


def test_export_writes_an_answers_file_without_the_secret(private_xdg: Path,
                                                          tmp_path: Path) -> None:
    paths = new_session("winxp")
    target = tmp_path / "winxp.toml"
    result = cli("sessions", "export", "winxp", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert f"run --answers {target}" in result.stderr
    text = target.read_text()
    assert SECRET not in text
    assert (os.stat(target).st_mode & 0o777) == 0o600
    replayed = load_answers(target)
    assert replayed.build.name == "winxp"
    assert replayed.cloud.secret_key is None
    assert replayed.cloud.access_key == "AKIAEXAMPLE"
    assert cli("sessions", "export", "winxp").stdout.split("\n", 2)[2] == text.split("\n", 2)[2]
    # Nowhere in the session either, nor any folder or file open to others.
    for path in [paths.folder, *paths.folder.iterdir()]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
            assert (os.stat(path).st_mode & 0o777) == 0o600, path
        else:
            assert (os.stat(path).st_mode & 0o777) == 0o700, path


def test_export_and_attach_refuse_a_name_that_is_a_path(private_xdg: Path,
                                                        tmp_path: Path) -> None:
    for args in (["sessions", "export", "../../etc"], ["attach", "/etc/passwd"],
                 ["sessions", "stop", ".."]):
        assert "is not a session name" in _one_error_line(cli(*args))
    line = _one_error_line(cli("sessions", "export", "nothere", "-o", str(tmp_path / "x")))
    assert "there is no session named 'nothere'" in line
    assert not (tmp_path / "x").exists()


def test_attach_to_a_finished_session_shows_its_history_and_the_ids(private_xdg: Path) -> None:
    paths = new_session("winxp")
    write_events(paths, HISTORY)
    _done_state(paths.name)
    result = cli("attach", "winxp")
    assert result.returncode == 0, result.stderr
    assert result.stdout == FINAL
    err = result.stderr
    assert "no build of winxp is running" in err
    assert err.endswith("the build of winxp is done.\n")
    for text in ("Checking the prerequisites…", "warning: HTTPS is not checked for 127.0.0.1",
                 "Uploading the disk image…", "sent 10 parts", "Registering the disk image…"):
        assert text in err
    # The bar's history collapses to its last figure; rates come from the log's times.
    assert err.count("Uploading the disk image: ") == 1
    assert "Uploading the disk image: 100%" in err


def test_attach_to_a_failed_session_ends_with_its_error(private_xdg: Path) -> None:
    paths = new_session("winxp")
    write_state(paths, {"image.upload": ("failed", {})})
    write_events(paths, [StepStarted("image.upload", "Uploading the disk image"),
                         StepFailed("image.upload", "the bucket is not yours", "choose another")])
    result = cli("attach", "winxp")
    line = _one_error_line(result)
    assert "the build of 'winxp' failed at image.upload: the bucket is not yours" in line
    assert "run --session winxp" in line
    assert result.stdout == ""


def test_attach_follows_a_live_build_until_it_lets_go(private_xdg: Path) -> None:
    paths = new_session("winxp")
    holder = Holder(paths.name)
    try:
        for event in HISTORY[:5]:
            holder.log(event)
        viewer = subprocess.Popen([sys.executable, "-m", "wizard", "attach", "winxp"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env(), stdin=subprocess.DEVNULL)
        assert viewer.stderr is not None
        first = viewer.stderr.readline()
        assert f"following the build of winxp (process {holder.pid})" in first
        assert viewer.stderr.readline() == "Checking the prerequisites…\n"
        # Nothing new for a while: the viewer polls a log that has not grown.
        time.sleep(1)
        for event in HISTORY[5:]:
            holder.log(event)
        _done_state(paths.name)
        assert viewer.poll() is None  # the build still holds the lock
    finally:
        holder.finish()
    out, err = _rest(viewer)
    assert viewer.returncode == 0, err
    assert out == FINAL
    assert "Uploading the disk image…" in err and "Registering the disk image…" in err


@pytest.mark.parametrize(("signum", "by"), [(signal.SIGINT, "Ctrl+C"),
                                             (signal.SIGTERM, "SIGTERM")])
def test_ctrl_c_stops_following_never_the_build(private_xdg: Path, signum: int,
                                               by: str) -> None:
    paths = new_session("winxp")
    holder = Holder(paths.name)
    try:
        holder.log(HISTORY[3])
        viewer = subprocess.Popen([sys.executable, "-m", "wizard", "attach", "winxp"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env(), stdin=subprocess.DEVNULL)
        assert viewer.stderr is not None
        assert "following the build" in viewer.stderr.readline()
        assert "Uploading the disk image…" in viewer.stderr.readline()
        viewer.send_signal(signum)
        out, err = _rest(viewer)
        assert viewer.returncode == 1
        assert [line for line in err.splitlines() if line.strip()][-1] == (
            f"euca-windows-wizard: error: interrupted by {by}; stopped following winxp; its "
            "build goes on. Fix: attach again with `euca-windows-wizard attach winxp`.")
        assert "resume" not in err
        assert "Traceback" not in err
        assert out == ""
        assert running_pid(paths.lock) == holder.pid
        assert holder.proc.poll() is None
    finally:
        holder.finish()


def test_stop_ends_a_running_build_safely(private_xdg: Path) -> None:
    paths = new_session("winxp")
    holder = Holder(paths.name)
    holder.log(StepStarted("image.bundle", "Bundling the disk image"))
    result = cli("sessions", "stop", "winxp")
    assert result.returncode == 0, result.stderr
    assert f"(process {holder.pid}) to stop" in result.stderr
    assert "run --session winxp" in result.stderr
    assert holder.wait() == 0  # it cleaned up and ended by itself
    assert running_pid(paths.lock) is None
    assert summarize("winxp").status == "interrupted"


def test_stop_with_no_build_running_says_so(private_xdg: Path) -> None:
    new_session("winxp")
    line = _one_error_line(cli("sessions", "stop", "winxp"))
    assert "no build of session 'winxp' is running (it is new)" in line


def test_an_empty_poll_shows_nothing() -> None:
    from wizard.cli.attach import _latest_only

    assert _latest_only([]) == []

"""The wizard in a real pseudo-terminal (tmux, 80x24): a build started from it
survives its SIGHUP (an SSH drop), and a new wizard attaches to that build.

The sandbox here is slow to take the disk image's part (``slow_sandbox.py``),
so the build is still uploading when the wizard is hung up and relaunched;
the wizard uses it as it would its own (the pid file in its sandbox folder).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.session.listing import list_sessions
from wizard.tui import sessionlink

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Tmux:
    """A private tmux server (its own socket), one window a wizard."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket, self.env = socket, env

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True,
                              capture_output=True, text=True, timeout=30).stdout

    def start(self, name: str, command: str) -> None:
        exports = " ".join(f"{k}={v}" for k, v in self.env.items())
        self.run("new-session", "-d", "-s", name, "-x", "80", "-y", "24",
                 f"env {exports} {command}")

    def screen(self, name: str) -> str:
        return self.run("capture-pane", "-p", "-t", name)

    def keys(self, name: str, *keys: str) -> None:
        self.run("send-keys", "-t", name, *keys)

    def wait_for(self, name: str, text: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shown = self.screen(name)
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never shown; the screen:\n{self.screen(name)}")

    def pane_pid(self, name: str) -> int:
        return int(self.run("display-message", "-p", "-t", name, "#{pane_pid}").strip())


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    env = {"PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "state"),
           "HOME": str(tmp_path), "TERM": "xterm-256color", "PATH": os.environ["PATH"]}
    server = Tmux(f"wizard-test-{os.getpid()}", env)
    try:
        yield server
    finally:
        subprocess.run(["tmux", "-L", server.socket, "kill-server"], capture_output=True,
                       timeout=30)


def test_sighup_leaves_the_build_running_and_a_new_wizard_attaches(
        tmux: Tmux, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", tmux.env["XDG_STATE_HOME"])
    folder = tmp_path / "state" / "euca-windows-wizard" / "tui-sandbox"
    sandbox = subprocess.Popen([sys.executable, "-m", "tests.tui.slow_sandbox", str(folder),
                                "10"], stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert sandbox.stdout is not None
        assert sandbox.stdout.readline().strip() == "Serving until Ctrl+C."
        wizard = f"{sys.executable} -m wizard --sandbox"
        tmux.start("first", f"sh -c '{wizard}; echo EXIT $?; stty -a; sleep 600'")
        tmux.wait_for("first", "SANDBOX")
        for title in ("Prerequisites", "Credentials", "Disk image", "memdisk", "Floppy",
                      "Build"):
            time.sleep(1)  # the sandbox's inputs fill in; each screen's checks start
            tmux.keys("first", "C-n")
            tmux.wait_for("first", f" {title}")
        tmux.keys("first", "C-g")
        tmux.wait_for("first", "image.upload", 90)
        [session] = [s.name for s in list_sessions()]
        build_pid = sessionlink.running_pid(session)
        assert build_pid

        shell = tmux.pane_pid("first")
        [tui] = [int(p) for p in subprocess.run(["pgrep", "-P", str(shell)],
                                                capture_output=True, text=True).stdout.split()]
        os.kill(tui, 1)  # SIGHUP, as an SSH drop delivers it
        after = tmux.wait_for("first", "EXIT 0", 30)
        # The terminal is given back as it was: line editing and echo on again.
        assert re.search(r"(?<!-)icanon", after) and re.search(r"(?<!-)echo\b", after)
        assert sessionlink.running_pid(session) == build_pid, "the SIGHUP reached the build"

        tmux.start("second", f"sh -c '{wizard}; sleep 600'")
        shown = tmux.wait_for("second", f"Session {session}: running", 30)
        assert "Kernel (memdisk): registered eki-" in shown
        done = tmux.wait_for("second", "Done: the image is registered", 120)
        assert re.search(r"EMI  emi-[0-9A-Fa-f]{8}", done)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    [summary] = list_sessions()
    assert summary.status == "done" and summary.ids["image"].startswith("emi-")

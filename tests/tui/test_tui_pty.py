"""The wizard in a real pseudo-terminal (tmux, 80x24): the README's quick start walked
with keys only over a link that drops once, and the terminal given back on every way out.

The walk is issue 12's "Done when": ``python -m wizard --sandbox`` (the quick
start's first command), Ctrl+N through every screen, Ctrl+G on Build, the
tmux session killed in the middle of the build (what an SSH drop does: the
wizard is hung up), the wizard started again in a new terminal, which opens
on the running build with its history replayed and then follows it to the
Done screen and its EMI; then, with no wizard and no build left, the
sandbox process ends by itself. The sandbox builds its tiny samples in a few
seconds, too fast to drop a link in the middle on purpose: the test holds
the detached build still with SIGSTOP once its kernel is registered (its
own process, its lock held) and lets it go on with SIGCONT after the
relaunch.

The tests wait on what the engine knows (the session's lock and event log,
the sandbox's pid) and on the screens' titles and the ids, not on layout.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tui.tmux import Tmux, process_gone, wizard_env
from wizard.core.events import StepFinished
from wizard.credentials.eucarc import read_eucarc
from wizard.session.eventlog import EventLogReader
from wizard.session.listing import summarize
from wizard.session.store import SessionPaths
from wizard.tui import sessionlink
from wizard.tui.choices import Choices
from wizard.tui.sandbox_host import default_folder, running_sandbox
from wizard.tui.screens import screen_class
from wizard.tui.screens.done import DoneScreen
from wizard.tui.screens.start import StartScreen

pytestmark = pytest.mark.skipif(__import__("shutil").which("tmux") is None,
                                reason="needs tmux")

WIZARD = f"{sys.executable} -m wizard"


@pytest.fixture
def tmux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tmux]:
    env = wizard_env(tmp_path)
    # This process reads the same sessions and sandbox folder as the wizards it starts.
    monkeypatch.setenv("XDG_STATE_HOME", env["XDG_STATE_HOME"])
    server = Tmux(f"wizard-test-{os.getpid()}-{tmp_path.name}", env)
    try:
        yield server
    finally:
        server.kill_server()


def wait_until(condition: Callable[[], object], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {seconds} s: {condition}")
        time.sleep(0.05)


def heading(name: str) -> str:
    """A recipe screen's title line as ``base.WizardScreen.heading`` writes it."""
    screens = Choices().screens()
    return f"{screen_class(name).TITLE}  (step {screens.index(name)} of {len(screens) - 2})"


def the_running_build() -> tuple[str, int]:
    """The session whose build holds its lock, and the build's pid."""
    found: list[tuple[str, int]] = []

    def running() -> bool:
        for name in sessionlink.running_sessions():
            pid = sessionlink.running_pid(name)
            if pid:
                found.append((name, pid))
                return True
        return False

    wait_until(running, 120)
    return found[0]


def registered(session: str, step: str, seconds: float = 120) -> str:
    """The image id a step of the session's build registered, once its event log says so."""
    reader = EventLogReader(SessionPaths(session).events)
    ids: list[str] = []

    def finished() -> bool:
        for stamped in reader.poll():
            event = stamped.event
            if isinstance(event, StepFinished) and event.step == step:
                ids.extend(str(v) for v in event.outputs.values()
                           if re.fullmatch(r"e[km]i-[0-9A-Fa-f]{8}|eri-[0-9A-Fa-f]{8}", str(v)))
                return True
        return False

    wait_until(finished, seconds)
    assert ids, f"{step} finished without an image id"
    return ids[0]


def test_the_quick_start_reaches_done_over_a_link_that_drops_once(tmux: Tmux) -> None:
    folder = default_folder()
    stopped: list[int] = []  # pids this test holds still or must stop if it fails
    try:
        tmux.start("first", f"{WIZARD} --sandbox")
        tmux.wait_for("first", StartScreen.TITLE, 60)
        wait_until(lambda: running_sandbox(folder) is not None, 120)
        host = running_sandbox(folder)
        assert host is not None
        stopped.append(host.pid)
        access_key = read_eucarc(folder / "eucarc", environ={})["EC2_ACCESS_KEY"]

        for name in Choices().screens()[1:-1]:  # prerequisites ... build, keys only
            tmux.keys("first", "C-n")
            tmux.wait_for("first", heading(name), 60)
            if name == "credentials":  # the sandbox's eucarc is the one chosen
                tmux.wait_for("first", access_key, 60)
        tmux.keys("first", "C-g")
        session, build = the_running_build()
        kernel = registered(session, "kernel.register")
        os.kill(build, signal.SIGSTOP)  # mid-build, held still: see the module's docstring
        stopped.append(build)
        tmux.wait_for("first", kernel, 60)

        # Ctrl+Q asks, saying the build goes on; n stays.
        tmux.keys("first", "C-q")
        tmux.wait_for("first", "goes on", 30)
        tmux.keys("first", "n")
        wait_until(lambda: "goes on" not in tmux.screen("first"), 30)

        first = tmux.program_pid("first")
        tmux.kill_session("first")  # the link drops: the terminal hangs up the wizard
        wait_until(lambda: process_gone(first), 60)
        assert sessionlink.running_pid(session) == build, "the drop reached the build"
        assert not process_gone(host.pid), "the drop took the sandbox away from the build"

        tmux.start("second", f"{WIZARD} --sandbox")
        shown = tmux.wait_for("second", heading("build"), 60)
        shown = tmux.wait_for("second", kernel, 60)  # the history replayed
        assert session in shown
        again = running_sandbox(folder)
        assert again is not None and again.pid == host.pid, "the sandbox was not reused"
        os.kill(build, signal.SIGCONT)
        done = tmux.wait_for("second", DoneScreen.TITLE, 180)
        emi = re.search(r"emi-[0-9A-Fa-f]{8}", done)
        assert emi, done
        summary = summarize(session)
        assert summary.status == "done" and summary.ids["image"] == emi.group(0)
        assert summary.ids["kernel"] == kernel

        # A second drop, harder: nothing cleans up after a killed wizard; the sandbox,
        # needed by no wizard and no build now, ends by itself.
        os.kill(tmux.program_pid("second"), signal.SIGKILL)
        wait_until(lambda: process_gone(host.pid), 120)
        said = (folder / "sandbox.out").read_text()
        assert "No wizard and no build use the sandbox cloud any more." in said
    finally:
        for pid in reversed(stopped):
            if not process_gone(pid):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGTERM)


# A bug in a screen: F1's help text cannot be read (an exception, not a WizardError).
BUGGY = """
import sys
import wizard.tui.help
def broken(topic):
    raise RuntimeError("the help of " + topic + " is broken")
wizard.tui.help.help_text = broken
from wizard.cli.main import main
sys.exit(main([]))
"""


@pytest.mark.parametrize("how", ["ctrl+q", "SIGHUP", "SIGTERM", "a bug"])
def test_the_terminal_is_given_back_on_every_way_out(tmux: Tmux, how: str,
                                                     tmp_path: Path) -> None:
    command = f"{sys.executable} -c {shlex.quote(BUGGY)}" if how == "a bug" else WIZARD
    tmux.start("w", command)
    tmux.wait_for("w", StartScreen.TITLE, 60)
    drawing = tmux.modes("w")
    assert drawing["alternate_on"] == "1" and drawing["mouse_any_flag"] == "1"
    if how == "ctrl+q":
        tmux.keys("w", "C-q")
    elif how == "a bug":
        tmux.keys("w", "F1")
    else:
        os.kill(tmux.program_pid("w"), getattr(signal, how))
    status = {"ctrl+q": 0}.get(how, 1)
    after = tmux.wait_for("w", f"EXIT {status}", 60)
    after = tmux.screen("w", joined=True)

    # Line editing and echo back on, no alternate screen, no mouse reporting left on.
    assert re.search(r"(?<!-)icanon", after) and re.search(r"(?<!-)echo\b", after), after
    assert set(tmux.modes("w").values()) == {"0"}, tmux.modes("w")
    assert StartScreen.TITLE not in after, "a half-drawn screen was left behind"
    lines = after.splitlines()
    said = [line for line in lines[:lines.index(f"EXIT {status}")] if line.strip()]
    if how == "ctrl+q":
        assert said == []
    elif how == "a bug":
        [line] = said
        found = re.fullmatch(r"euca-windows-wizard: error: unexpected RuntimeError: the help "
                             r"of start is broken\. The full report is in (\S+); please "
                             r"attach it to a bug report\.", line)
        assert found, line
        report = Path(found.group(1)).read_text()
        assert "Traceback" in report and "is broken" in report
        assert Path(found.group(1)).is_relative_to(tmp_path)
    else:
        assert said == [f"euca-windows-wizard: error: interrupted by {how}; the wizard "
                        "ended. Fix: start `euca-windows-wizard` again."]

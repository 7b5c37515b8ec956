"""The wizard's sandbox process ends by itself once nothing needs it, and never before.

Real processes throughout: the sandbox (``sandbox --exit-when-idle``) started
by a stand-in for the wizard (``start_sandbox_process`` in a process of its
own, holding its lease as the wizard does), a stand-in for a detached build
holding a session's build lock (the real detached build is in
``test_tui_pty.py``), and SIGKILL for the link that drops. Waits poll for a
state with a generous timeout; no time is asserted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.tmux import process_gone
from wizard.cloud.lease import serving_pid
from wizard.core.errors import WizardError
from wizard.session.answers import parse_answers
from wizard.session.sandboxuse import CHECK_EVERY, builds_using
from wizard.session.store import SessionPaths, create_session
from wizard.tui.choices import Choices
from wizard.tui.sandbox_host import start_sandbox_process

ROOT = Path(__file__).resolve().parents[2]
GRACE = 2.0

# The wizard's side, in its own process: start (or reuse) the sandbox, say its pid,
# then on a line "leave" do what the wizard does when it quits, and say what it did.
WIZARD = """
import sys
from pathlib import Path
from wizard.tui.sandbox_host import start_sandbox_process
host = start_sandbox_process(Path(sys.argv[1]), idle_grace=float(sys.argv[2]))
print(host.pid, flush=True)
if sys.stdin.readline().strip() == "leave":
    print("stopped" if host.leave() else "left running", flush=True)
"""

# A build's side: hold the session's build lock until stdin closes.
BUILD = """
import sys
from pathlib import Path
from wizard.session.lock import BuildLock
with BuildLock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


class Child:
    """A Python child process talking in lines."""

    def __init__(self, script: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))

    def line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def say(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        """Close its stdin (the build stand-in lets go of its lock) and wait for it."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=60)


def serves(folder: Path) -> bool:
    """The sandbox answers HTTP at the S3 URL its eucarc names (any status will do)."""
    url = next(line.split("=", 1)[1].strip().strip("'\"")
               for line in (folder / "eucarc").read_text().splitlines()
               if line.startswith("export S3_URL="))
    try:
        with urllib.request.urlopen(url, timeout=10):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def wait_until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {seconds} s: {condition}")
        time.sleep(0.1)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This test's sessions folder, for the test and every process it starts."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    yield tmp_path


def session_on(folder: Path, name: str) -> SessionPaths:
    """A saved session whose answers use the sandbox in ``folder`` (as the wizard saves)."""
    choices = Choices(eucarc=str(folder / "eucarc"), disk=str(folder / "sample-disk.img"),
                      floppy=str(folder / "sample-floppy.img"),
                      memdisk=str(folder / "sample-memdisk"), name=name)
    return SessionPaths(create_session(parse_answers(choices.to_toml(), "test")))


def stop_leftover(folder: Path) -> None:
    pid = serving_pid(folder)
    if pid:
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: process_gone(pid))


def test_a_build_keeps_the_sandbox_after_the_wizard_is_killed_and_its_end_ends_it(
        state: Path) -> None:
    folder = state / "tui-sandbox"
    wizard = Child(WIZARD, str(folder), str(GRACE))
    build: Child | None = None
    try:
        pid = int(wizard.line())
        assert serves(folder)
        session = session_on(folder, "lifetime")
        build = Child(BUILD, str(session.lock))
        assert build.line() == "held"

        wizard.kill()  # SIGKILL: the link dropped and took the wizard with it
        # Several checks past the grace, the build still holds its lock: still serving.
        deadline = time.monotonic() + GRACE + 4 * CHECK_EVERY
        while time.monotonic() < deadline:
            assert not process_gone(pid), "the sandbox ended while a build was running on it"
            time.sleep(0.2)
        assert serves(folder)

        # A wizard relaunched meanwhile uses the same sandbox, and leaves it to the build.
        again = Child(WIZARD, str(folder), str(GRACE))
        assert int(again.line()) == pid
        again.say("leave")
        assert again.line() == "left running"
        again.close()
        assert not process_gone(pid) and serves(folder)

        build.close()  # the build ends: nothing needs the sandbox any more
        wait_until(lambda: process_gone(pid))
        assert serving_pid(folder) is None
        output = (folder / "sandbox.out").read_text()
        assert "No wizard and no build use the sandbox cloud any more." in output
    finally:
        wizard.kill()
        if build is not None:
            build.kill()
        stop_leftover(folder)


def test_the_last_wizard_quitting_with_no_build_stops_it_at_once(state: Path) -> None:
    folder = state / "tui-sandbox"
    first = Child(WIZARD, str(folder), "600")
    second: Child | None = None
    try:
        pid = int(first.line())
        second = Child(WIZARD, str(folder), "600")
        assert int(second.line()) == pid
        second.say("leave")  # another wizard still uses it
        assert second.line() == "left running"
        second.close()
        assert serves(folder)
        first.say("leave")
        assert first.line() == "stopped"
        # Gone when the wizard has quit: the next wizard starts a new one, never this one.
        assert serving_pid(folder) is None
        first.close()
        wait_until(lambda: process_gone(pid))
    finally:
        first.kill()
        if second is not None:
            second.kill()
        stop_leftover(folder)


def test_only_running_builds_on_this_sandbox_count(state: Path) -> None:
    """A session on another cloud, or one whose build is not running, does not count;
    one naming the sandbox's URLs instead of its eucarc (``run --answers
    sandbox-answers.toml``) does. Nothing is asked of the sandbox process here."""
    folder = state / "tui-sandbox"
    folder.mkdir(parents=True)
    (folder / "eucarc").write_text(
        "export S3_URL=http://127.0.0.1:9/services/objectstorage\n"
        "export EC2_URL=http://127.0.0.1:9/services/compute\n")
    other = state / "other"
    other.mkdir()
    (other / "eucarc").write_text("export S3_URL=http://127.0.0.1:8/services/objectstorage\n")
    on_it = session_on(folder, "on-it")
    elsewhere = session_on(other, "elsewhere")
    idle = session_on(folder, "idle")
    by_url = SessionPaths(create_session(parse_answers(
        '[cloud]\ns3_url = "http://127.0.0.1:9/services/objectstorage"\n'
        'ec2_url = "http://127.0.0.1:9/services/compute"\n'
        '[build]\nname = "by-url"\nbucket = "b"\narch = "i386"\nmode = "memdisk"\n'
        'disk = "/x.img"\nfloppy = "/f.img"\nmemdisk = "/m"\n', "test")))
    # A session that cannot be probed (a link planted as its lock) is passed over: the
    # sandbox's check goes on with the others instead of failing.
    odd = session_on(folder, "odd")
    odd.lock.symlink_to(state / "nowhere")
    builds = [Child(BUILD, str(paths.lock)) for paths in (on_it, elsewhere, by_url)]
    try:
        assert [b.line() for b in builds] == ["held"] * 3
        assert builds_using(folder) == ["by-url", "on-it"]
        assert idle.name not in builds_using(folder)
    finally:
        for b in builds:
            b.close()
    assert builds_using(folder) == []


def test_a_link_planted_as_the_lease_file_is_refused(state: Path) -> None:
    """The lease file is never opened through a link (O_NOFOLLOW): the wizard says so
    in one line with the fix, and whatever the link points at is left as it was."""
    folder = state / "tui-sandbox"
    folder.mkdir(parents=True)
    target = state / "precious"
    target.write_text("keep me")
    (folder / "wizards.lock").symlink_to(target)
    with pytest.raises(WizardError) as info:
        start_sandbox_process(folder)
    assert info.value.message == (f"the sandbox's lease file {folder / 'wizards.lock'} is a "
                                  "symbolic link; the wizard never writes through a link")
    assert info.value.fix == f"remove {folder / 'wizards.lock'} (the wizard makes its own)"
    assert target.read_text() == "keep me"
    assert not (folder / "sandbox.out").exists(), "a sandbox was started anyway"

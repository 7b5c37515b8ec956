"""Builds that outlive the terminal: ``run --detach`` from a real pseudo-terminal (tmux),
the terminal closed, the build going on; ``attach`` and ``sessions`` after it; a second
``run`` refused naming the build's pid; a build killed with SIGKILL seen as interrupted.

The store is held still at the first part sent (a gate in the sandbox's proxy), so the
terminal is closed while the build is in flight, not after it has finished.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.tools import need
from wizard.cloud.sandbox import Sandbox, start_sandbox
from wizard.session.answers import answers_to_toml, sandbox_answers
from wizard.session.listing import summarize
from wizard.session.lock import running_pid
from wizard.session.store import SessionPaths

ROOT = Path(__file__).resolve().parents[2]
WAIT = 240.0  # the longest any step of these tests may take on a loaded machine


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with start_sandbox(tmp_path_factory.mktemp("sandbox")) as sb:
        yield sb


@pytest.fixture(autouse=True)
def no_faults(sandbox: Sandbox) -> Iterator[None]:
    sandbox.proxy.clear()
    yield
    sandbox.proxy.clear()


class Gate:
    """Hold the first part PUT in the proxy until ``open()``; ``reached`` once one waits."""

    def __init__(self, sb: Sandbox) -> None:
        self.reached = threading.Event()
        self._open = threading.Event()
        sb.proxy.inject("delay", self._hold, times=1, seconds=0)

    def _hold(self, method: str, path: str) -> bool:
        if method == "PUT" and ".part." in path and not self._open.is_set():
            self.reached.set()
            self._open.wait(WAIT)
        return False

    def open(self) -> None:
        self._open.set()


def _env(sb: Sandbox, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EC2_", "AWS_", "S3_", "EUCA"))}
    env["PYTHONPATH"] = str(ROOT)
    env["HOME"] = str(home)  # no ~/.euca of the person running the tests
    return env


def _answers(sb: Sandbox, folder: Path, name: str) -> Path:
    """The sandbox's whole memdisk recipe (its samples, its eucarc) as an answers file."""
    answers = sandbox_answers(sb.folder)
    answers = replace(answers, build=replace(answers.build, name=name, bucket=f"{name}-images"))
    path = folder / f"{name}.toml"
    path.write_text(answers_to_toml(answers))
    return path


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                          text=True, env=env, timeout=WAIT, stdin=subprocess.DEVNULL)


def _until(what: str, test: object, timeout: float = WAIT) -> None:
    end = time.monotonic() + timeout
    while not test():  # type: ignore[operator]
        if time.monotonic() > end:
            pytest.fail(f"waited {timeout:.0f} s for {what}", pytrace=False)
        time.sleep(0.05)


def _tty_of(pid: int) -> int:
    """The controlling terminal's device number of ``pid`` (0: none)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[4])


class Terminal:
    """A tmux session on a private socket: a real pseudo-terminal, 80x24."""

    def __init__(self, folder: Path, env: dict[str, str], command: str) -> None:
        self.tmux = need("tmux")
        self.socket = folder / "tmux.sock"
        self.env = env
        script = folder / "in-terminal.sh"
        script.write_text(f"{command}\necho \"exit status $?\"\nexec sleep 3600\n")
        self._tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "t", "sh", str(script))
        self.shell = int(self._tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip())

    def _tmux(self, *args: str) -> str:
        result = subprocess.run([self.tmux, "-S", str(self.socket), *args], capture_output=True,
                                text=True, env=self.env, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-100")

    def close(self) -> None:
        """Close the terminal: tmux's server goes, the pty hangs up (SIGHUP)."""
        subprocess.run([self.tmux, "-S", str(self.socket), "kill-server"], env=self.env,
                       capture_output=True, timeout=60)

        def gone() -> bool:
            try:
                os.kill(self.shell, 0)
            except ProcessLookupError:
                return True
            return Path(f"/proc/{self.shell}/stat").read_text().split(") ")[1][0] == "Z"

        _until("the terminal's shell to end", gone)


def _session_files_hold_no_secret(paths: SessionPaths, secret: str) -> None:
    """Every folder of the session 0700, its own files 0600, the secret key in no file
    (the bundles the runner keeps there included)."""
    own = {paths.answers, paths.state, paths.events, paths.log, paths.lock}
    for folder, _, files in os.walk(paths.folder):
        assert (os.stat(folder).st_mode & 0o777) == 0o700, folder
        for name in files:
            path = Path(folder) / name
            assert not path.is_symlink(), path
            assert secret.encode() not in path.read_bytes(), path
            if path in own:
                assert (os.stat(path).st_mode & 0o777) == 0o600, path
    assert all(path.exists() for path in own)


@pytest.mark.slow
def test_a_detached_build_outlives_its_terminal(sandbox: Sandbox, tmp_path: Path,
                                                private_xdg: Path) -> None:
    env = _env(sandbox, tmp_path / "home")
    answers = _answers(sandbox, tmp_path, "detached")
    gate = Gate(sandbox)
    paths = SessionPaths("detached")
    terminal: Terminal | None = None
    try:
        terminal = Terminal(tmp_path, env, f"{sys.executable} -m wizard run --answers "
                            f"{answers} --detach --yes")
        _until("run --detach to return", lambda: "exit status" in terminal.screen())
        screen = terminal.screen()
        assert "exit status 0" in screen, screen
        assert "attach detached" in screen
        pid = running_pid(paths.lock)
        assert pid, screen
        # Its own session, no controlling terminal, stdin from /dev/null.
        assert os.getsid(pid) == pid != os.getsid(terminal.shell)
        assert _tty_of(pid) == 0 and _tty_of(terminal.shell) != 0
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
        _until("the build to send its first part", gate.reached.is_set)
        terminal.close()
        assert running_pid(paths.lock) == pid  # the hang-up did not reach it

        # A second build of the same session is refused while this one runs.
        second = _cli(env, "run", "--session", "detached", "--yes")
        assert second.returncode == 1
        assert f"process {pid}" in second.stderr
        assert "attach detached" in second.stderr
    finally:
        gate.open()
        if terminal is not None:
            terminal.close()

    # attach from the start to the end; the ids printed as run prints them.
    attached = _cli(env, "attach", "detached")
    assert attached.returncode == 0, attached.stderr
    ids = dict(line.split("\t") for line in attached.stdout.splitlines())
    assert list(ids) == ["KERNEL", "RAMDISK", "IMAGE"]
    assert ids["KERNEL"].startswith("eki-") and ids["RAMDISK"].startswith("eri-")
    assert ids["IMAGE"].startswith("emi-")
    # The history from the first step on, not just what happened after attaching.
    assert attached.stderr.index("following the build of detached") < \
        attached.stderr.index("…")
    assert running_pid(paths.lock) is None

    summary = summarize("detached")
    assert summary.status == "done"
    assert summary.ids == {"kernel": ids["KERNEL"], "ramdisk": ids["RAMDISK"],
                           "image": ids["IMAGE"]}
    listed = _cli(env, "sessions")
    row = next(line.split() for line in listed.stdout.splitlines()
               if line.startswith("detached "))
    assert row[2] == "done" and row[-1] == ids["IMAGE"]
    _session_files_hold_no_secret(paths, sandbox.secret_key)

    # Detached again, a finished session has nothing left to do: done at once, same ids.
    again = _cli(env, "run", "--session", "detached", "--detach", "--yes")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "detached\n"
    _until("the second build to end", lambda: running_pid(paths.lock) is None)
    assert _cli(env, "attach", "detached").stdout == attached.stdout


def test_detach_with_the_sandbox_is_refused_with_the_way_to_do_it(private_xdg: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "wizard", "run", "--sandbox", "--detach",
                             "--yes"], capture_output=True, text=True, timeout=WAIT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 1
    line = result.stderr.strip()
    assert line.startswith("euca-windows-wizard: error: --detach cannot be used with "
                           "--sandbox"), line
    assert "sandbox --dir DIR" in line and len(line.splitlines()) == 1


@pytest.mark.slow
def test_a_detached_build_killed_with_sigkill_is_interrupted_and_resumes(
        sandbox: Sandbox, tmp_path: Path, private_xdg: Path) -> None:
    env = _env(sandbox, tmp_path / "home")
    answers = _answers(sandbox, tmp_path, "killed")
    gate = Gate(sandbox)
    try:
        started = _cli(env, "run", "--answers", str(answers), "--detach", "--yes")
        assert started.returncode == 0, started.stderr
        assert started.stdout == "killed\n"
        paths = SessionPaths("killed")
        pid = running_pid(paths.lock)
        assert pid
        _until("the build to send its first part", gate.reached.is_set)
        os.kill(pid, signal.SIGKILL)
        _until("the killed build's lock to be free", lambda: running_pid(paths.lock) is None)
    finally:
        gate.open()
    summary = summarize("killed")
    assert summary.status == "interrupted"
    assert summary.current_step.endswith(".upload")
    listed = _cli(env, "sessions")
    assert any(line.split()[:3] == ["killed", "memdisk", "interrupted"]
               for line in listed.stdout.splitlines()), listed.stdout

    resumed = _cli(env, "run", "--session", "killed", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[-1].startswith("IMAGE\temi-")
    assert summarize("killed").status == "done"
    _session_files_hold_no_secret(paths, sandbox.secret_key)


@pytest.mark.slow
def test_sessions_stop_ends_a_detached_build_safely_and_run_resumes_it(
        sandbox: Sandbox, tmp_path: Path, private_xdg: Path) -> None:
    env = _env(sandbox, tmp_path / "home")
    answers = _answers(sandbox, tmp_path, "stopped")
    gate = Gate(sandbox)
    paths = SessionPaths("stopped")
    try:
        started = _cli(env, "run", "--answers", str(answers), "--detach", "--yes")
        assert started.returncode == 0, started.stderr
        pid = running_pid(paths.lock)
        assert pid
        _until("the build to send its first part", gate.reached.is_set)
        stop = subprocess.Popen([sys.executable, "-m", "wizard", "sessions", "stop", "stopped"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, stdin=subprocess.DEVNULL)
        assert stop.stderr is not None
        assert f"(process {pid}) to stop" in stop.stderr.readline()
    finally:
        # The part on the wire goes through; the build then stops instead of going on.
        gate.open()
    stop.wait(timeout=WAIT)
    rest = stop.stderr.read()
    stop.stderr.close()
    assert stop.stdout is not None
    stop.stdout.close()
    assert stop.returncode == 0, rest
    assert "stopped. Resume it with `euca-windows-wizard run --session stopped`" in rest
    assert running_pid(paths.lock) is None
    summary = summarize("stopped")
    assert summary.status == "interrupted", summary
    assert "interrupted by SIGTERM" in summary.message
    assert "image" not in summary.ids
    # attach tells the same, with the way to resume.
    attached = _cli(env, "attach", "stopped")
    assert attached.returncode == 1
    assert "the build of 'stopped' was interrupted at " in attached.stderr
    assert "run --session stopped" in attached.stderr

    resumed = _cli(env, "run", "--session", "stopped", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[-1].startswith("IMAGE\temi-")
    assert summarize("stopped").status == "done"

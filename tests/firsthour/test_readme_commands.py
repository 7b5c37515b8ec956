"""The README's two quick-start commands, run as written, in a fresh copy and venv.

The commands are read from README.md itself, so the test and the README
cannot drift apart. The first (install, then the wizard on the sandbox)
runs in a pseudo-terminal of 80x24 until the wizard shows the sandbox's
credentials on its Credentials screen, then gets Ctrl+Q; the second runs the whole
set-up (Debian packages, venv, install) and, to keep its cost bounded, a
small part of the suite (chosen through PYTEST_ADDOPTS, which pytest reads;
the command itself is unchanged). pip's cache is warm: the time is printed.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A fresh machine's PATH: the system's python3, not the venv the tests run in.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
COPY_IGNORES = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.pyc",
                                      "*.egg-info", "build", "dist", ".*_cache")


def quick_start_commands() -> list[str]:
    """The shell commands of the README's Quick start block, comments left out."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README.md: no ```sh block under Quick start"
    return [line for line in block.group(1).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_gives_two_commands_and_ci_runs_the_second() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci, f".ci/run does not run the README's test command {commands[1]!r}"


def fresh_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS")
           and not key.startswith(("XDG_", "PYTEST_"))}
    env.update(PATH=SYSTEM_PATH, HOME=str(home), TMPDIR=str(home / "tmp"))
    # A fresh HOME, but pip's warm cache (HOME's own would start cold: every
    # wheel fetched again, the install timed by the index, not by the set-up).
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return env


@pytest.mark.slow
def test_the_readme_commands_work_in_a_fresh_copy(tmp_path: Path) -> None:
    first, second = quick_start_commands()
    clone = tmp_path / "euca-windows-wizard"
    shutil.copytree(ROOT, clone, ignore=COPY_IGNORES)
    env = fresh_env(tmp_path / "home")

    started = time.monotonic()
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    wizard = subprocess.Popen(["bash", "-c", first], cwd=clone,
                              env={**env, "TERM": "xterm-256color"}, stdin=slave, stdout=slave,
                              stderr=slave, start_new_session=True, close_fds=True)
    os.close(slave)
    seen = b""

    def wait_for(text: bytes, seconds: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + seconds
        while text not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:  # the terminal's other side is gone: the command ended
                    break
        assert text in seen, seen[-3000:].decode(errors="replace")

    try:
        # The install, then the wizard's first screen under its SANDBOX banner.
        wait_for(b"Windows image to cloud image: start", 900)
        assert b"SANDBOX: a local test cloud" in seen
        first_time = time.monotonic() - started
        # Two screens on, the sandbox's own credentials (its access key) are shown.
        os.write(master, b"\x0e")  # Ctrl+N: Prerequisites
        wait_for(b"Prerequisites", 60)
        os.write(master, b"\x0e")  # Ctrl+N: Credentials
        wait_for(b"AKSANDBOX", 120)
        os.write(master, b"\x11")  # Ctrl+Q
        wizard.wait(timeout=60)
    finally:
        if wizard.poll() is None:
            os.killpg(wizard.pid, signal.SIGKILL)
            wizard.wait()
        os.close(master)
    assert wizard.returncode == 0, seen[-3000:].decode(errors="replace")

    # The second makes .venv afresh (the first left one: start from none).
    shutil.rmtree(clone / ".venv")
    started = time.monotonic()
    tests = subprocess.run(["bash", "-c", second], cwd=clone, capture_output=True, text=True,
                           env={**env, "PYTEST_ADDOPTS": "-q -p no:cacheprovider "
                                "tests/test_core.py"}, timeout=1200, check=False)
    second_time = time.monotonic() - started
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]
    assert re.search(r"\d+ passed", tests.stdout), tests.stdout[-2000:]
    assert (clone / ".venv" / "bin" / "euca-windows-wizard").exists()
    print(f"\nREADME first command, until the wizard's first screen: {first_time:.1f} s; "
          f"second command (set-up + tests/test_core.py): {second_time:.1f} s")

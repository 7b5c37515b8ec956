"""``run`` on a terminal shows the plan and asks first (a real pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from wizard.session.store import SessionPaths

ROOT = Path(__file__).resolve().parents[2]

ANSWERS = """\
[cloud]
eucarc = "eucarc"

[build]
name = "asked"
bucket = "b"
arch = "i386"
mode = "memdisk"
disk = "xp.img"
floppy = "win-boot.img"
memdisk = "/usr/lib/syslinux/memdisk"
"""


def read_until(fd: int, text: str, timeout: float = 60) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        try:
            seen += os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
    return seen.decode(errors="replace")


def test_run_on_a_terminal_shows_the_plan_and_a_no_starts_nothing(tmp_path: Path) -> None:
    (tmp_path / "answers.toml").write_text(ANSWERS)
    main, child_end = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EC2_", "AWS_", "S3_"))}
    env["PYTHONPATH"] = str(ROOT)
    child = subprocess.Popen([sys.executable, "-m", "wizard", "run", "--answers",
                              "answers.toml"], stdin=child_end, stdout=child_end,
                             stderr=child_end, cwd=tmp_path, env=env, close_fds=True)
    os.close(child_end)
    try:
        shown = read_until(main, "Start the build? [y/N]")
        assert "New session asked (memdisk recipe):" in shown
        assert f"disk image: {tmp_path / 'xp.img'}" in shown
        assert "12. Register the disk image [image.register]" in shown
        os.write(main, b"n\n")
        rest = read_until(main, "error:")
        assert child.wait(timeout=60) == 1
        rest += read_until(main, "\n", timeout=5)
    finally:
        os.close(main)
    assert "error: the build was not started. Fix: answer y to start it, or add --yes." in rest
    assert not SessionPaths("asked").exists()  # nothing was made of it

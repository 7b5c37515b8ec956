"""The progress bar fits the terminal it is drawn on, and keeps the figures."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Bundling windows-server-2003-standard-sp2-x86.img"
FIGURES = "1.2 GiB of 300.0 GiB, part 3/30000, 480.0 MiB/s, 10 minutes left"

DRAW = f"""
from wizard.cli.progress import ConsoleProgress
from wizard.core.events import StepFinished, StepProgress, StepStarted
p = ConsoleProgress()
p(StepStarted("bundle", {TITLE!r}))
for done in range(0, 300 * 2**30, 30 * 2**30):
    p(StepProgress("bundle", done, 300 * 2**30, parts_done=done >> 20, parts_total=30720))
    p._last_draw = 0.0  # draw every event, not ten a second
"""


@pytest.mark.parametrize("columns", [80, 60, 40, 200])
def test_fit_line_is_narrower_than_the_terminal(columns: int) -> None:
    from wizard.cli.progress import fit_line

    line = fit_line(TITLE, 0.42, FIGURES, columns)
    assert len(line) < columns
    assert line.startswith(("Bundling", "[###-----]  42% 1.2 GiB"))
    typical = fit_line(TITLE, 0.15, "1.2 GiB of 8.0 GiB, part 123/820, 480.0 MiB/s, "
                       "14 seconds left", columns)
    assert len(typical) < columns and "]  15% 1.2 GiB" in typical
    if columns >= 80:
        assert typical.endswith("14 seconds left")  # the time left survives at 80 columns


def test_the_bar_fits_an_80_column_terminal(tmp_path: Path) -> None:
    """Measured on stderr's own terminal: stdout to a file and COLUMNS from
    an earlier, wider window (both as an operator may have them)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    with open(tmp_path / "stdout", "w") as out:
        child = subprocess.Popen([sys.executable, "-c", DRAW], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=slave, env=env)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    assert child.wait(timeout=60) == 0
    os.close(master)
    rows = [re.sub(r"\x1b\[K", "", seg) for seg in drawn.decode().split("\r")]
    rows = [row for row in rows if row.strip()]
    assert len(rows) >= 10
    assert all(len(row) < 80 for row in rows), max(rows, key=len)

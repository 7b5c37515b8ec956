"""``euca-windows-wizard`` with no command opens the wizard, and only in a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [[], ["--sandbox"]])
def test_without_a_terminal_one_line_and_exit_1(args: list[str], tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                            text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("euca-windows-wizard: error: the wizard needs a terminal.")
    assert "Fix: " in lines[0]
    assert result.stdout == ""

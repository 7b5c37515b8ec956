"""A log folder that cannot be made (XDG_STATE_HOME is a file): the error names the path and
XDG_STATE_HOME, with a fix that works; a real process, as the operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_xdg_state_home_a_file_is_named_with_the_fix(tmp_path: Path) -> None:
    somefile = tmp_path / "somefile"
    somefile.write_text("")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(somefile)}
    result = subprocess.run([sys.executable, "-m", "wizard", "memdisk", "find"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"euca-windows-wizard: error: cannot open the log file at "
        f"{somefile}/euca-windows-wizard (Not a directory); the log folder is below "
        f"XDG_STATE_HOME ({somefile}). Fix: set XDG_STATE_HOME to a writable folder, or "
        "unset it, or give a writable path with --log-file."]
    # The fix works: --log-file.
    result = subprocess.run([sys.executable, "-m", "wizard", "--log-file",
                             str(tmp_path / "run.log"), "memdisk", "find"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert "cannot open the log file" not in result.stderr

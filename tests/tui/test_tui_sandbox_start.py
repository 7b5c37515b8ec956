"""``--sandbox`` while another sandbox process holds its folder: the error of that process
with its own fix, not the install hint (a real ``sandbox --dir`` process holds the folder)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizard.core.errors import WizardError
from wizard.tui.sandbox_host import READY, start_sandbox_process

ROOT = Path(__file__).resolve().parents[2]


def test_a_folder_held_by_another_sandbox_says_so_without_the_install_fix(
        tmp_path: Path) -> None:
    folder = tmp_path / "tui-sandbox"
    out = tmp_path / "other.out"
    with open(out, "wb") as handle:
        other = subprocess.Popen([sys.executable, "-m", "wizard", "sandbox", "--dir", str(folder)],
                                 stdout=handle, stderr=subprocess.STDOUT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        for _ in range(600):
            if READY in out.read_text(errors="replace") or other.poll() is not None:
                break
            time.sleep(0.1)
        assert READY in out.read_text(errors="replace")
        with pytest.raises(WizardError) as info:
            start_sandbox_process(folder)
        assert info.value.message == (f"the sandbox cloud did not start: the sandbox folder "
                                      f"{folder} is in use by a running sandbox "
                                      f"(pid {other.pid})")
        assert info.value.fix == ("stop that sandbox (Ctrl+C where it runs) or choose "
                                  "another folder for this one")
        assert "pip install" not in info.value.one_line()
    finally:
        other.send_signal(signal.SIGINT)
        other.wait(timeout=60)

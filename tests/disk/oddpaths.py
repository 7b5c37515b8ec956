"""Paths an operator may hand over by mistake: FIFOs, devices, unreadable files.

A FIFO blocks whoever reads it until a writer comes, so anything that opens
one without looking first hangs: the tests make sure the wizard looks. An
unreadable file needs more than chmod 000 when the tests run as root: the
command then runs without CAP_DAC_OVERRIDE, so permission bits count.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def without_dac_override() -> list[str]:
    """A command prefix under which permission bits count, even as root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root, where chmod 000 does not stop reading, and no setpriv "
                    "to drop CAP_DAC_OVERRIDE")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]


def run_wizard(*args: str, home: Path, unprivileged: bool = False,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m wizard ARGS`` with a clean cloud environment and its own HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EC2_", "AWS_", "EUCA", "S3_"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home), COLUMNS="80")
    prefix = without_dac_override() if unprivileged else []
    return subprocess.run([*prefix, sys.executable, "-m", "wizard", *args],
                          capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)


def one_error_line(stderr: str) -> str:
    """The single line of stderr, checked to be an operator error with a fix."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("euca-windows-wizard: error:"), stderr
    assert "Traceback" not in stderr and "Fix:" in lines[0], stderr
    return lines[0]

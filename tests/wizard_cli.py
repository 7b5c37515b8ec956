"""The one way tests run the real CLI: ``python -m wizard ARGS`` in a child process.

The child runs this work tree's code (PYTHONPATH), with none of the cloud
variables of the person running the tests (EC2_*, AWS_*, S3_URL, EUCA*), so
a test sees only the credentials it gives; ``home`` keeps ~/.euca out too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The environment variables credentials are read from (wizard.credentials.ENV_NAMES).
CLOUD_VARIABLES = ("EC2_", "AWS_", "S3_", "EUCA")


def run_wizard(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
               home: Path | None = None, encoding: str | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end; ``env`` on top of the cleaned environment.

    ``encoding``: the child's PYTHONIOENCODING (its output is read as UTF-8,
    undecodable bytes replaced), to test an ASCII or Latin-1 terminal.
    """
    full = {k: v for k, v in os.environ.items() if not k.startswith(CLOUD_VARIABLES)}
    full["PYTHONPATH"] = str(ROOT)
    if home is not None:
        full["HOME"] = str(home)
    if encoding is not None:
        full["PYTHONIOENCODING"] = encoding
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "wizard", *map(str, args)],
                          capture_output=True, text=True, env=full, cwd=cwd, timeout=timeout,
                          check=False, encoding="utf-8", errors="replace")

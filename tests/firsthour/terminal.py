"""Run a command on a real pseudo-terminal (stdout and stderr both), as an operator sees it."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def on_terminal(argv: list[str], columns: int = 80, env: dict[str, str] | None = None,
                timeout: float = 120) -> tuple[int, str]:
    """(exit status, everything the terminal received, with CR LF as LF)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("COLUMNS", None)
    child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=full_env)
    os.close(slave)
    received = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        received += chunk
    status = child.wait(timeout=timeout)
    os.close(master)
    return status, received.decode(errors="replace").replace("\r\n", "\n")

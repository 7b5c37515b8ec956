"""Where the wizard keeps sessions and logs (platformdirs, so XDG_* apply).

Folders are created mode 0700: they hold state that names credential files
and bundles that carry wrapped keys.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from wizard import PROGRAM


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as a 0700 folder and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def state_dir() -> Path:
    """The user's state folder for the wizard (sessions live below it)."""
    return private_dir(Path(platformdirs.user_state_dir(PROGRAM)))


def log_dir() -> Path:
    """The user's log folder for the wizard (one log file per run)."""
    return private_dir(Path(platformdirs.user_log_dir(PROGRAM)))

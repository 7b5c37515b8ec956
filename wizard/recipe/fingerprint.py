"""A file's fingerprint: what tells, without reading it, that it changed since.

Size, modification and change times (nanoseconds) and the inode: an image
written to changes its mtime; one replaced by another (``mv``, ``cp -p``,
which keep an old mtime) has a new inode and change time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wizard.core.errors import WizardError


def fingerprint(path: Path, what: str, key: str | None = None) -> dict[str, Any]:
    """The fingerprint of ``path``; a WizardError naming ``what`` if it is gone."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise WizardError(f"{what} {path} does not exist",
                          "give the right path in the answers file, or put the file back",
                          key=key) from None
    except OSError as exc:
        raise WizardError(f"cannot read {what} {path} ({exc.strerror})",
                          "check the path and its permissions", key=key) from None
    return {"path": str(path), "size": info.st_size, "mtime_ns": info.st_mtime_ns,
            "ctime_ns": info.st_ctime_ns, "inode": info.st_ino, "device": info.st_dev}


def what_changed(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The keys whose values differ (fingerprints nested one level are named by their key)."""
    changed = []
    for key in sorted(set(before) | set(now)):
        if before.get(key) != now.get(key):
            changed.append(key)
    return changed

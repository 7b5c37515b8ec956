"""Where the wizard keeps sessions and logs (platformdirs, so XDG_* apply),
and the one way it creates folders.

Every folder the wizard creates (state, logs, sessions, bundles, work
folders) is made by ``make_dirs``: each level it creates is 0700, because
they hold state that names credential files and bundles that carry wrapped
keys. ``Path.mkdir(parents=True, mode=0o700)`` would not do: it gives the
mode to the last level only, and the parents get 0777 less the umask.
Levels that were already there are never re-permissioned: they may be /tmp,
a shared folder or the operator's home. ``make_dirs`` needs the standard
library only: the tarball extraction uses it and is checked on the system's
own Python, which has none of the project's packages.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wizard import PROGRAM

PRIVATE = 0o700


def make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents, each new level 0700.

    Returns the levels this call created, outermost first (empty when
    ``path`` was there already), so a caller that fails can remove exactly
    those (``remove_created``) and nothing that another process made or that
    was there before. A level created meanwhile by another process counts as
    not created here. Raises OSError as ``os.mkdir`` does (e.g.
    NotADirectoryError when a level is a file).
    """
    path = Path(os.path.abspath(path))
    missing: list[Path] = []
    for level in (path, *path.parents):
        if os.path.lexists(level):
            break
        missing.append(level)
    created: list[Path] = []
    for level in reversed(missing):
        try:
            os.mkdir(level, PRIVATE)
        except FileExistsError:
            if not level.is_dir():
                raise
            continue
        created.append(level)
        # A umask that takes bits from the owner (e.g. 0277) would leave a
        # folder the wizard cannot use; the owner's three bits are the rule.
        # Through a descriptor of the folder itself: a link swapped in under
        # its name meanwhile is refused (ELOOP), never given the mode.
        fd = os.open(level, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            if stat.S_IMODE(os.fstat(fd).st_mode) != PRIVATE:
                os.fchmod(fd, PRIVATE)
        finally:
            os.close(fd)
    return created


def remove_created(created: list[Path]) -> None:
    """Remove the levels ``make_dirs`` created, innermost first, while they are empty.

    Only empty folders go (rmdir): files that another process or the
    operator put there meanwhile are never deleted, and their folder stays.
    """
    for level in reversed(created):
        try:
            os.rmdir(level)
        except FileNotFoundError:
            continue
        except OSError:
            return


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with ``make_dirs`` and return it."""
    make_dirs(path)
    return path


def state_dir() -> Path:
    """The user's state folder for the wizard (sessions live below it)."""
    import platformdirs  # here, not above: make_dirs needs only the standard library

    return private_dir(Path(platformdirs.user_state_dir(PROGRAM)))


def log_dir() -> Path:
    """The user's log folder for the wizard (one log file per run)."""
    import platformdirs  # here, not above: make_dirs needs only the standard library

    return private_dir(Path(platformdirs.user_log_dir(PROGRAM)))


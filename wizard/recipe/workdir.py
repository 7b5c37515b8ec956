"""The session's own folder inside ``build.work_dir``, where its bundles are made.

The operator names a roomy folder (``build.work_dir``): a multi-GB image's
bundle does not fit in every home folder, where the state folder lives.
The bundle step clears stale parts from its folder before it bundles again,
so that folder must hold nothing of anyone else's, not even a same-name
session of another state folder (another user, another ``XDG_STATE_HOME``)
using the same work folder. So a session does not compute a name there: it
claims a fresh folder with ``mkdtemp`` (0700, a name nobody else holds) the
first time, and records its path in the session's own folder. Every later
run, and a resume, finds the same folder by that record.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from wizard.core.dirs import make_dirs
from wizard.core.errors import WizardError
from wizard.core.files import write_atomic

CLAIM_FILE = "work-folder"  # in the session's folder: the path of its claimed folder


def claimed_folder(record: Path, work_dir: Path, session: str) -> Path:
    """The folder this session claimed in ``work_dir`` (claimed now if it has none there)."""
    recorded = _recorded(record, work_dir)
    if recorded is not None:
        return recorded
    work_dir = Path(os.path.abspath(work_dir))  # mkdtemp keeps a ``..`` as given
    try:
        make_dirs(work_dir)
        folder = Path(tempfile.mkdtemp(prefix=f"{session}-bundles-", dir=work_dir))
    except OSError as exc:
        raise WizardError(f"cannot make a folder for the bundles in {work_dir} "
                          f"({exc.strerror or exc})",
                          "give a folder you can write to as the work folder, or leave it "
                          "out to bundle inside the session's folder",
                          key="build.work_dir") from None
    write_atomic(record, f"{folder}\n".encode(), mode=0o600)
    return folder


def _recorded(record: Path, work_dir: Path) -> Path | None:
    """The folder ``record`` names, when it is still this session's: a folder of
    ``work_dir`` itself (not a link), owned by this user. Anything else (no
    record, a work folder changed in the answers, the folder removed) means a
    new claim."""
    try:
        text = record.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    folder = Path(text)
    if not text or folder.parent != Path(os.path.abspath(work_dir)):
        return None
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return None
    return folder

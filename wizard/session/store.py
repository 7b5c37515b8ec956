"""Session folders: one private folder per build under the user's state folder.

A session is a folder ``<state>/sessions/NAME`` (platformdirs' user state
folder, so ``XDG_STATE_HOME`` applies) holding the build's answers
(``answers.toml``), each step's status and outputs (``state.json``), the
append-only event log (``events.jsonl``), the build's log file
(``build.log``) and the lock a running build holds (``build.lock``).
Folders are 0700 and files 0600: the answers name credential files and the
state names bundles whose manifests carry wrapped keys. Never a secret in
any of them.

A session's name is a plain name, never a path: it becomes a folder name
under the sessions folder and nothing an operator types may point anywhere
else (``../x``, ``/etc``, a dot file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from wizard import PROGRAM
from wizard.core.dirs import private_dir, state_dir
from wizard.core.errors import WizardError
from wizard.core.files import write_atomic
from wizard.session.answers import NAME_PATTERN, Answers, answers_to_toml

# Letters, digits, dot, dash and underscore; a letter or digit first (no dot
# file, no "..", no option-looking "-x"); short enough for a terminal column.
# The answers file's build.name follows the same rule.
_NAME = NAME_PATTERN
NAME_RULE = ("1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit")

FILE_MODE = 0o600


def sessions_root() -> Path:
    """The folder holding every session (created 0700 at every level the wizard owns)."""
    return private_dir(state_dir() / "sessions")


def check_name(name: str) -> str:
    """``name`` if it is a plain session name; a WizardError saying the rule otherwise."""
    if not _NAME.fullmatch(name):
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise WizardError(
            f"{shown!r} is not a session name: a name is {NAME_RULE}",
            f"see the saved sessions with `{PROGRAM} sessions`, or choose a plain name "
            "such as winxp-2026",
        )
    return name


@dataclass(frozen=True)
class SessionPaths:
    """The files of one session (the name is checked; nothing is created)."""

    name: str

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def folder(self) -> Path:
        return sessions_root() / self.name

    @property
    def answers(self) -> Path:
        return self.folder / "answers.toml"

    @property
    def state(self) -> Path:
        return self.folder / "state.json"

    @property
    def events(self) -> Path:
        return self.folder / "events.jsonl"

    @property
    def log(self) -> Path:
        return self.folder / "build.log"

    @property
    def lock(self) -> Path:
        return self.folder / "build.lock"

    def exists(self) -> bool:
        return self.folder.is_dir()


def open_session(name: str) -> SessionPaths:
    """The paths of an existing session; a WizardError naming the way out if there is none."""
    paths = SessionPaths(name)
    if not paths.exists():
        raise WizardError(f"there is no session named {name!r}",
                          f"see the saved sessions with `{PROGRAM} sessions`")
    return paths


def claim_session(base: str) -> SessionPaths:
    """Create a new, empty session folder named ``base`` (or ``base-2``, ``base-3`` … when
    taken) and return its paths.

    ``mkdir`` is the claim: two builds started at once never share a folder.
    """
    check_name(base)
    root = sessions_root()
    for number in range(1, 10_000):
        suffix = "" if number == 1 else f"-{number}"
        name = base[: 64 - len(suffix)] + suffix
        try:
            os.mkdir(root / name, 0o700)
        except FileExistsError:
            continue
        # mkdir's mode is reduced by the umask; set it on the folder just made,
        # through a descriptor, so a name swapped meanwhile is never chmodded.
        folder = os.open(root / name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            os.fchmod(folder, 0o700)
        finally:
            os.close(folder)
        return SessionPaths(name)
    raise WizardError(f"there are already 9999 sessions named {base!r}",
                      "choose another session name")


def create_session(answers: Answers) -> str:
    """A new session for ``answers``: its folder claimed, its answers written; the name.

    The name is ``build.name`` (or ``build.name-2`` … when a session of that
    name exists); the saved answers carry the name the session got.
    """
    paths = claim_session(answers.build.name)
    if paths.name != answers.build.name:
        answers = replace(answers, build=replace(answers.build, name=paths.name))
    try:
        write_session_file(paths.answers, answers_to_toml(answers))
    except BaseException:
        # No empty folder left to be listed as a session.
        paths.folder.rmdir()
        raise
    return paths.name


def write_session_file(path: Path, text: str) -> None:
    """Write one of a session's files atomically (temp, fsync, rename), mode 0600."""
    write_atomic(path, text.encode("utf-8"), FILE_MODE)


def session_names() -> list[str]:
    """The names of the saved sessions, sorted (folders that are not sessions are left out)."""
    root = sessions_root()
    names = []
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False) and _NAME.fullmatch(entry.name):
            names.append(entry.name)
    return sorted(names)

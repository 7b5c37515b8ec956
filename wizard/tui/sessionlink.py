"""The wizard's calls into the session engine (wizard.session, wizard.recipe).

One place that knows the session API (/work/wt/SESSION-API.md): the
screens ask here for the recipe's steps, the saved sessions, a new detached
build, its event log, whether it runs, and to stop it. The engine modules
are imported when first used, so the wizard opens even where a part of the
engine is missing, and says which part.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from wizard.core.errors import WizardError


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise WizardError(f"this copy of the wizard has no {name} ({exc})",
                          "update euca-windows-wizard to a release with sessions") from None


@dataclass(frozen=True)
class StepLine:
    id: str
    title: str


@dataclass(frozen=True)
class SessionLine:
    """A saved session as the Start screen lists it."""

    name: str
    mode: str
    current_step: str
    status: str
    updated: float
    ids: dict[str, str]


@dataclass(frozen=True)
class Stamp:
    """One event of a session's log with its sequence number and time."""

    seq: int
    ts: float
    event: Any


@dataclass(frozen=True)
class SessionFiles:
    folder: Path
    answers: Path
    events: Path
    log: Path
    lock: Path


def recipe_steps(mode: str) -> list[StepLine]:
    infos = _module("wizard.recipe.plan").step_infos(mode)
    return [StepLine(str(info.id), str(info.title)) for info in infos]


def saved_sessions() -> list[SessionLine]:
    summaries = _module("wizard.session.listing").list_sessions()
    return [SessionLine(s.name, s.mode, s.current_step or "", s.status, float(s.updated),
                        dict(s.ids)) for s in summaries]


def files(name: str) -> SessionFiles:
    p = _module("wizard.session.store").SessionPaths(name)
    return SessionFiles(Path(p.folder), Path(p.answers), Path(p.events), Path(p.log),
                        Path(p.lock))


def running_pid(name: str) -> int | None:
    pid = _module("wizard.session.lock").running_pid(files(name).lock)
    return int(pid) if pid is not None else None


def start_build(answers_toml: str, source: str = "the wizard") -> str:
    """Check the answers as ``run --answers`` does, save a session, start it detached."""
    answers = _module("wizard.session.answers").parse_answers(answers_toml, source)
    name = str(_module("wizard.session.store").create_session(answers))
    resume_build(name)
    return name


def resume_build(name: str) -> int:
    """Start (or restart) the session's build in a detached process; its pid."""
    return int(_module("wizard.session.detach").start_detached(name))


def stop_build(name: str) -> bool:
    return bool(_module("wizard.session.detach").stop_build(name))


def linger_warning() -> str | None:
    try:
        warning = _module("wizard.session.detach").linger_warning()
    except (WizardError, AttributeError):
        return None
    return str(warning) if warning else None


class EventFollower:
    """Reads a session's event log: the whole history first, then what is new."""

    def __init__(self, name: str) -> None:
        self.name = name
        reader_class = _module("wizard.session.eventlog").EventLogReader
        self._reader = reader_class(files(name).events)

    def poll(self) -> list[Stamp]:
        return [Stamp(int(s.seq), float(s.ts), s.event) for s in self._reader.poll()]

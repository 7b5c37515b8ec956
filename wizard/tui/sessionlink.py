"""The wizard's calls into the session engine (wizard.session, wizard.recipe).

One place that knows the session API (/work/wt/SESSION-API.md): the
screens ask here for the recipe's steps, the saved sessions, a new detached
build, its event log, whether it runs, and to stop it. The screens hold no
recipe logic: answers are checked by the engine's own parser, exactly as
``run --answers`` checks a file.
"""

from __future__ import annotations

from pathlib import Path

from wizard.core.events import Stamped
from wizard.recipe.plan import step_infos
from wizard.recipe.steps import StepInfo
from wizard.session import detach
from wizard.session.answers import parse_answers
from wizard.session.eventlog import EventLogReader
from wizard.session.listing import SessionSummary, list_sessions
from wizard.session.lock import running_pid as lock_holder
from wizard.session.store import SessionPaths, create_session


def recipe_steps(mode: str) -> list[StepInfo]:
    return list(step_infos(mode))


def saved_sessions() -> list[SessionSummary]:
    return list_sessions()


def files(name: str) -> SessionPaths:
    return SessionPaths(name)


def running_pid(name: str) -> int | None:
    """The pid of the build holding the session's lock; None when none runs."""
    return lock_holder(SessionPaths(name).lock)


def start_build(answers_toml: str, source: str = "the wizard's answers") -> str:
    """Check the answers as ``run --answers`` does, save a session, start it detached."""
    answers = parse_answers(answers_toml, source)
    name = create_session(answers)
    resume_build(name)
    return name


def resume_build(name: str) -> int:
    """Start (or start again) the session's build in a detached process; its pid."""
    return detach.start_detached(name)


def stop_build(name: str) -> bool:
    return detach.stop_build(name)


def linger_warning() -> str | None:
    return detach.linger_warning()


class EventFollower:
    """A session's event log: the whole history first, then what is new."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._reader = EventLogReader(Path(SessionPaths(name).events))

    def poll(self, final: bool = False) -> list[Stamped]:
        return self._reader.poll(final=final)

    @property
    def behind(self) -> bool:
        """The last poll stopped short of the end: more is on disk already."""
        return self._reader.behind

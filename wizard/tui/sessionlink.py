"""The wizard's calls into the session engine (wizard.session, wizard.recipe).

One place that knows the session API (/work/wt/SESSION-API.md): the
screens ask here for the recipe's steps, the saved sessions, a new detached
build, its event log, whether it runs, and to stop it. The screens hold no
recipe logic: answers are checked by the engine's own parser, exactly as
``run --answers`` checks a file. The recipe, answers and detach modules pull
in boto3 and cryptography: they are imported when first used, so the first
screen is drawn without waiting for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core.errors import WizardError
from wizard.core.events import Stamped
from wizard.session.eventlog import EventLogReader
from wizard.session.lock import running_pid as lock_holder
from wizard.session.store import SessionPaths

if TYPE_CHECKING:
    from wizard.credentials import Credentials
    from wizard.recipe.steps import StepInfo
    from wizard.session.listing import SessionSummary


def recipe_steps(mode: str) -> list[StepInfo]:
    from wizard.recipe.plan import step_infos

    return list(step_infos(mode))


def saved_sessions() -> list[SessionSummary]:
    from wizard.session.listing import list_sessions

    return list_sessions()


def session_mode(name: str) -> str:
    """The recipe a saved session was started with ("memdisk", "native"; "" if unknown):
    its own summary, not every session's."""
    from wizard.session.listing import summarize

    return summarize(name).mode


def running_sessions() -> list[str]:
    """The sessions whose build holds its lock, the most recently active first.

    Only the locks are probed (no state or event log is read): the wizard
    asks this before its first screen.
    """
    from wizard.session.store import session_names

    running = [name for name in session_names() if running_pid(name) is not None]

    def active(name: str) -> float:
        try:
            return SessionPaths(name).events.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(running, key=active, reverse=True)


def build_credentials(source: str, eucarc: str, region: str) -> Credentials:
    """The credentials a build with these answers will use (the answers, over the
    environment, the eucarc and ~/.euca: ``recipe.context``), for the screen to show."""
    from wizard.recipe.context import credentials_from_answers
    from wizard.session.answers import CloudAnswers

    if source == "eucarc":
        if not eucarc:
            raise WizardError("no eucarc is chosen", "type its path or press Ctrl+O",
                              key="cloud.eucarc")
        return credentials_from_answers(CloudAnswers(eucarc=Path(eucarc).expanduser()))
    if source == "ini":
        return credentials_from_answers(CloudAnswers(region=region or None))
    return credentials_from_answers(CloudAnswers())


def step_statuses(name: str) -> dict[str, str]:
    """Each step's status in the session's state file ({} when it has none yet)."""
    from wizard.session.state import parse_state

    paths = SessionPaths(name)
    try:
        text = paths.state.read_text(encoding="utf-8")
    except OSError:
        return {}
    state = parse_state(text, paths.state, name)
    return {step: record.status for step, record in state.steps.items()}


def files(name: str) -> SessionPaths:
    return SessionPaths(name)


def running_pid(name: str) -> int | None:
    """The pid of the build holding the session's lock; None when none runs."""
    return lock_holder(SessionPaths(name).lock)


def start_build(answers_toml: str, source: str = "the wizard's answers") -> str:
    """Check the answers as ``run --answers`` does, save a session, start it detached."""
    from wizard.session.answers import parse_answers
    from wizard.session.store import create_session

    answers = parse_answers(answers_toml, source)
    name = create_session(answers)
    try:
        resume_build(name)
    except WizardError:
        if not ran(name):
            raise
        # The build started and failed at once (a missing disk image): its event
        # log says which step and which answer, which the Build screen shows.
    return name


def ran(name: str) -> bool:
    """Whether a build of the session has written events."""
    try:
        return SessionPaths(name).events.stat().st_size > 0
    except OSError:
        return False


def resume_build(name: str) -> int:
    """Start (or start again) the session's build in a detached process; its pid."""
    from wizard.session.detach import start_detached

    return start_detached(name)


def stop_build(name: str) -> bool:
    from wizard.session.detach import stop_build as stop

    return stop(name)


def linger_warning() -> str | None:
    from wizard.session.detach import linger_warning as warning

    return warning()


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

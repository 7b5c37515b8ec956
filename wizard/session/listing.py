"""What each saved session is doing: its mode, current step, status, last update and ids.

The status comes from the lock first (a build holds it for its whole life:
``running``), then from the state file and the end of the event log:

- ``done``: the disk image is registered (``image.register`` done);
- ``interrupted``: no build holds the lock, yet a step was left running, or
  the last step ended "interrupted …" (Ctrl+C, SIGTERM), or some steps are done and
  the rest never started (killed between two steps, ``kill -9`` included);
- ``failed``: a step ended in an error;
- ``new``: nothing has run yet.

Nothing here fails on a damaged session: an unreadable file makes its field
empty and the status says what can be told, so ``sessions`` always lists.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from wizard.core.errors import INTERRUPTED
from wizard.core.events import Stamped, StepFailed, StepFinished, StepStarted
from wizard.core.logs import get_logger
from wizard.session.eventlog import tail_events
from wizard.session.lock import running_pid
from wizard.session.store import SessionPaths, session_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (see pyproject)
    import tomli as tomllib

log = get_logger(__name__)

STATUSES = ("new", "running", "interrupted", "failed", "done")
# The step that ends both recipes (memdisk and native).
LAST_STEP = "image.register"
# The registered images, in the order ``run`` prints them.
ROLES = ("kernel", "ramdisk", "image")
# eki-/eri-/emi- (Eucalyptus) and aki-/ari-/ami- (EC2) ids.
_IMAGE_ID = re.compile(r"[ae][kmr]i-[0-9A-Fa-f]{8,17}")
# The end of the event log read for the last events (a few hundred lines).
_TAIL = 64 * 1024


@dataclass(frozen=True)
class SessionSummary:
    """One row of ``euca-windows-wizard sessions``."""

    name: str
    mode: str  # "memdisk", "native", or "" when the answers cannot be read
    current_step: str  # the step id running, failed or last started; "" if none
    status: str  # one of STATUSES
    updated: float  # epoch seconds of the last change to the session
    ids: dict[str, str] = field(default_factory=dict)  # role ("kernel", ...) -> image id
    pid: int | None = None  # the running build's process
    message: str = ""  # why it failed or stopped, with the fix


def _stopped(message: str) -> bool:
    """A step ended by a stop the operator asked for ("interrupted by SIGTERM; …")."""
    return message.startswith((INTERRUPTED, "cancelled"))


def _mode(paths: SessionPaths) -> str:
    with contextlib.suppress(OSError, ValueError, RecursionError):
        data = tomllib.loads(paths.answers.read_text(encoding="utf-8"))
        mode = data.get("build", {}).get("mode", "")
        if isinstance(mode, str):
            return mode
    return ""


def _steps(paths: SessionPaths) -> dict[str, dict[str, Any]]:
    """The state file's steps (``{id: {"status":..,"outputs":..}}``), {} if unreadable."""
    with contextlib.suppress(OSError, ValueError, RecursionError):
        data = json.loads(paths.state.read_text(encoding="utf-8"))
        steps = data.get("steps") if isinstance(data, dict) else None
        if isinstance(steps, dict):
            return {k: v for k, v in steps.items() if isinstance(v, dict)}
    return {}


def last_events(paths: SessionPaths) -> list[Stamped]:
    """The last whole, readable events of the session's log (its last ~64 KiB)."""
    return tail_events(paths.events, _TAIL)


def image_ids(steps: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The image ids a session registered: role -> id, from the register steps' outputs."""
    ids = {}
    for role in ROLES:
        step = steps.get(f"{role}.register", {})
        if step.get("status") != "done":
            continue
        outputs = step.get("outputs")
        values = outputs.values() if isinstance(outputs, dict) else ()
        for value in values:
            if isinstance(value, str) and _IMAGE_ID.fullmatch(value):
                ids[role] = value
                break
    return ids


def _updated(paths: SessionPaths, steps: dict[str, dict[str, Any]],
             events: list[Stamped]) -> float:
    times = [events[-1].ts] if events else []
    times += [s["updated"] for s in steps.values()
              if isinstance(s.get("updated"), (int, float))]
    for path in (paths.state, paths.events, paths.answers, paths.folder):
        with contextlib.suppress(OSError):
            times.append(path.stat().st_mtime)
    return max(times, default=0.0)


def summarize(name: str) -> SessionSummary:
    """The summary of the session ``name`` (which must exist)."""
    paths = SessionPaths(name)
    pid = running_pid(paths.lock)
    steps = _steps(paths)
    events = last_events(paths)
    statuses = {step: info.get("status") for step, info in steps.items()}
    left_running = [step for step, status in statuses.items() if status == "running"]
    failed = [step for step, status in statuses.items() if status == "failed"]
    # How the last step seen in the log ended (None: it had not ended).
    last = next((s.event for s in reversed(events)
                 if isinstance(s.event, (StepStarted, StepFinished, StepFailed))), None)
    if left_running:
        current = left_running[0]
    elif isinstance(last, (StepStarted, StepFailed)):
        current = last.step
    else:
        current = failed[0] if failed else ""
    message = ""
    if isinstance(last, StepFailed):
        message = last.message + (f". Fix: {last.fix}" if last.fix else "")
    if pid is not None:
        status = "running"
    elif statuses.get(LAST_STEP) == "done":
        status, current, message = "done", "", ""
    elif left_running:
        status = "interrupted"  # killed in the middle of a step (kill -9, power loss)
    elif isinstance(last, StepFailed):
        status = "interrupted" if _stopped(last.message) else "failed"
    elif failed:
        status = "failed"
    elif steps or events:
        status = "interrupted"  # stopped between two steps, or before the first one ended
    else:
        status = "new"
    return SessionSummary(name=name, mode=_mode(paths), current_step=current, status=status,
                          updated=_updated(paths, steps, events), ids=image_ids(steps), pid=pid,
                          message=message)


def list_sessions() -> list[SessionSummary]:
    """Every saved session, oldest change first (the one worked on last at the end).

    One session whose files cannot be summed up (crafted, damaged in a way
    nothing above expects) is listed as failed, naming its folder: it never
    hides the others.
    """
    summaries = []
    for name in session_names():
        try:
            summaries.append(summarize(name))
        except Exception as exc:  # one bad session must not stop the listing
            log.warning("cannot summarize session %s", name, exc_info=True)
            summaries.append(_damaged(name, exc))
    return sorted(summaries, key=lambda s: (s.updated, s.name))


def _damaged(name: str, exc: Exception) -> SessionSummary:
    folder = SessionPaths(name).folder
    updated = 0.0
    with contextlib.suppress(OSError):
        updated = folder.stat().st_mtime
    return SessionSummary(
        name=name, mode="", current_step="", status="failed", updated=updated,
        message=f"the session's files in {folder} are damaged ({type(exc).__name__}). "
                "Fix: start the session over, or remove its folder")

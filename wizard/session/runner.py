"""Run a session's build from where it stands to the registered image.

``run_session(name, sink, cancel)`` takes the session's build lock (a
second build on the same session is refused, naming the running one),
reads its answers and state, and goes through the recipe's steps in order:

- each step starts with ``StepStarted`` and ends in ``StepFinished`` (its
  outputs) or ``StepFailed`` (the operator's message, the fix, the answer
  key), interrupts included;
- a step done before whose inputs are unchanged and whose recorded outputs
  still hold (``Step.done``) is not done again: it is reported finished
  with the outputs it had; a step whose inputs changed since (the disk
  image was written to) is done again, and a ``StepWarning`` says why;
- every event is written, stamped, to the session's event log first, then
  passed to ``sink`` (the CLI's progress, a test's list): a viewer that
  attaches later sees exactly what the build's own terminal saw;
- the state is saved (atomically) when a step starts and when it ends.

Errors before any step (the answers, the state file) are reported as
``StepFailed`` of the pseudo-step ``session`` and raised.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import fields, replace
from typing import Any

from wizard import PROGRAM
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import (
    CancelFlag,
    Event,
    LogLine,
    Sink,
    StepFailed,
    StepFinished,
    StepStarted,
    StepWarning,
    failure,
)
from wizard.core.logs import get_logger
from wizard.recipe.context import StepContext
from wizard.recipe.fingerprint import what_changed
from wizard.recipe.plan import build_steps
from wizard.recipe.steps import Step
from wizard.session.answers import Answers, answers_to_toml, load_answers
from wizard.session.eventlog import EventLog
from wizard.session.lock import BuildLock
from wizard.session.state import SessionState, load_state, save_state, set_aside
from wizard.session.store import SessionPaths, open_session, write_session_file

log = get_logger(__name__)

SESSION_STEP = "session"  # the pseudo-step of errors that come before any step


def without_secret(answers: Answers) -> Answers:
    """The answers as a session saves them (``answers_to_toml`` leaves the secret out)."""
    return replace(answers, cloud=replace(answers.cloud, secret_key=None))


def image_ids(outputs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """{"kernel": "eki-..", "ramdisk": "eri-..", "image": "emi-.."} from the steps' outputs."""
    ids: dict[str, str] = {}
    for role in ("kernel", "ramdisk", "image"):
        found = outputs.get(f"{role}.register", {}).get("image_id")
        if found:
            ids[role] = str(found)
    return ids


def _changes(before: dict[str, Any], now: dict[str, Any]) -> str:
    said = []
    for key in what_changed(before, now):
        old, new = before.get(key), now.get(key)
        if isinstance(new, dict) and "path" in new:
            if isinstance(old, dict) and old.get("path") == new["path"]:
                said.append(f"{new['path']} changed")
            else:
                said.append(f"{key} is now {new['path']}")
        else:
            said.append(f"{key} changed ({old!r} -> {new!r})")
    return "; ".join(said)


class _Recorder:
    """Every event to the event log, then to the caller's sink; thread-safe (uploads
    report from their worker threads), and a closed terminal never stops the build."""

    def __init__(self, events: EventLog, sink: Sink) -> None:
        self._events = events
        self._sink = sink
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._events.log(event)
            with contextlib.suppress(OSError, ValueError):
                self._sink(event)


def run_session(name: str, sink: Sink, cancel: CancelFlag, *,
                answers: Answers | None = None, start_over: bool = False) -> dict[str, str]:
    """Build session ``name`` from where it stands; returns the registered ids.

    ``answers``: the answers as the operator gave them again (``run
    --answers FILE``), secret key included; they must be the session's own.
    ``start_over``: set the state file aside first (a damaged one, or to
    check every step again); finished work is found again by each step.
    """
    paths = open_session(name)
    with BuildLock(paths.lock, name), EventLog(paths.events) as events:
        emit = _Recorder(events, sink)
        try:
            has_run = events.seq > 0
            ctx, state = _open(paths, answers, start_over, has_run, emit)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                emit(failure(SESSION_STEP, exc))
            raise
        for step in build_steps(ctx.answers):
            _run_step(step, ctx, state, paths, emit, cancel)
        ids = image_ids(ctx.outputs)
        log.info("session %s built: %s", name, ids)
        return ids


def check_same_answers(paths: SessionPaths, given: Answers) -> Answers:
    """The session's saved answers; a WizardError when ``given`` are other answers.

    Continuing a session with other answers would mix two builds' steps (a
    bundle of one disk registered with another's kernel): the operator
    continues it as it was, starts it over, or names a new session.
    """
    saved = load_answers(paths.answers)
    differ = _differ(saved, given)
    if differ is not None:
        raise _other_answers(paths, differ)
    return saved


def take_answers(paths: SessionPaths, given: Answers, start_over: bool = False) -> str | None:
    """Make ``given`` the session's answers where nothing done depends on the saved ones.

    A session whose steps have done nothing yet (a run that failed on a
    wrong path, fixed in the answers file since), or one started over,
    takes the corrected answers: they are saved (atomically) and the line
    returned says what changed. One with steps done is refused
    (``check_same_answers``'s error, with ``--start-over`` as a way out).
    None when the answers are the saved ones.
    """
    saved = load_answers(paths.answers)
    differ = _differ(saved, given)
    if differ is None:
        return None
    if not start_over and _work_done(paths, saved):
        raise _other_answers(paths, differ, started=True)
    write_session_file(paths.answers, answers_to_toml(given))
    note = (f"session {paths.name}: {', '.join(differ) or 'the answers'} changed since the "
            f"last run; {paths.answers} now holds the answers given")
    log.info("%s", note)
    return note


def _differ(saved: Answers, given: Answers) -> list[str] | None:
    if without_secret(given) == saved:
        return None
    return [f"{table}.{f.name}" for table in ("cloud", "build")
            for f in fields(getattr(saved, table))
            if f.name != "secret_key"
            and getattr(getattr(saved, table), f.name) != getattr(getattr(given, table), f.name)]


def _work_done(paths: SessionPaths, saved: Answers) -> bool:
    """Whether a step of the session is done (checks done on every run aside)."""
    try:
        state = load_state(paths.state, paths.name, has_run=False)
    except WizardError:
        return True  # a damaged state file: assume the worst
    checks = {step.id for step in build_steps(saved) if step.every_run}
    return any(record.status == "done" and step_id not in checks
               for step_id, record in state.steps.items())


def _start_over(name: str) -> str:
    # A whole command line, as ``state.way_out`` gives one: what works is this
    # command; a bare flag would not say which command takes it.
    return (f"start it over with these answers (`{PROGRAM} run --answers FILE "
            f"--start-over`; finished work is found again), resume the session {name} as "
            "it was saved, or give another build.name for a new session")


def _other_answers(paths: SessionPaths, differ: list[str], started: bool = False) -> WizardError:
    return WizardError(
        f"session {paths.name!r} was started with other answers: "
        f"{', '.join(differ) or 'the answers'} not as saved in {paths.answers}"
        + (", and steps done depend on them" if started else ""),
        _start_over(paths.name), key=differ[0] if differ else None)


def _open(paths: SessionPaths, given: Answers | None, start_over: bool, has_run: bool,
          emit: Sink) -> tuple[StepContext, SessionState]:
    if given is not None:
        note = take_answers(paths, given, start_over)
        if note is not None:
            emit(LogLine(SESSION_STEP, note))
    saved = load_answers(paths.answers) if given is None else check_same_answers(paths, given)
    if start_over:
        aside = set_aside(paths.state)
        if aside is not None:
            emit(LogLine(SESSION_STEP, f"starting over: the state file is kept as {aside}"))
    state = load_state(paths.state, paths.name, has_run=has_run and not start_over)
    ctx = StepContext(paths.name, given or saved, paths.folder)
    for step_id, record in state.steps.items():
        ctx.previous[step_id] = record.outputs
        if record.status == "done":
            ctx.done_before[step_id] = record.inputs
    return ctx, state


def _run_step(step: Step, ctx: StepContext, state: SessionState, paths: SessionPaths,
              emit: Sink, cancel: CancelFlag) -> None:
    record = state.steps.get(step.id)
    emit(StepStarted(step.id, step.title))
    # Where the step got to: "checking" (nothing of it ran: a record done
    # before stays done), "running" (its work began), "done" (saved done).
    # Only a step whose work began is recorded interrupted or failed: a
    # Ctrl+C at a step boundary must not make a finished step look unfinished
    # (the next run would do it again, and a memdisk built again means a new
    # kernel, and so a new image).
    reached = "checking"
    try:
        cancel.check()
        if record is not None:
            ctx.previous[step.id] = record.outputs
            ctx.generations[step.id] = record.generation
        inputs = step.inputs(ctx)
        again = False
        if record is not None and record.status == "done":
            changed = _changes(record.inputs, inputs)
            if changed:
                emit(StepWarning(step.id, f"{changed} since this step was done: doing it "
                                 "again"))
            elif step.every_run:
                pass
            elif step.done(ctx, record.outputs):
                emit(LogLine(step.id, "done in an earlier run, and its outputs still hold"))
                ctx.outputs[step.id] = record.outputs
                emit(StepFinished(step.id, record.outputs))
                return
            elif (held := step.held_elsewhere(ctx, record.outputs)) is not None:
                emit(LogLine(step.id, held))
                ctx.outputs[step.id] = record.outputs
                emit(StepFinished(step.id, record.outputs))
                return
            else:
                emit(StepWarning(step.id, "done in an earlier run, but its outputs no longer "
                                 "hold: doing it again"))
            again = not step.every_run
        cancel.check()
        reached = "running"
        record = state.mark(step.id, "running", inputs=inputs)
        if again:
            record.generation += 1
        ctx.generations[step.id] = record.generation
        save_state(paths.state, state)
        outputs = step.run(ctx, emit, cancel)
        # The step may have taken another generation (a bundle found again
        # under a later name, or a name taken in the cloud): the state keeps it.
        state.mark(step.id, "done", outputs=outputs, inputs=inputs).generation = \
            ctx.generation(step.id)
        save_state(paths.state, state)
        reached = "done"
        ctx.outputs[step.id] = outputs
        emit(StepFinished(step.id, outputs))
    except BaseException as exc:
        interrupted = isinstance(exc, Cancelled) or not isinstance(exc, Exception)
        if reached == "running":
            with contextlib.suppress(Exception):
                state.mark(step.id, "interrupted" if interrupted else "failed")
                save_state(paths.state, state)
        with contextlib.suppress(Exception):
            event: StepFailed = failure(step.id, exc)
            emit(event)
        raise

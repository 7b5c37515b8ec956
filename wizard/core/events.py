"""Progress events, the cancel flag, and a throttle for progress.

A step reports through a *sink*: a callable taking one event. The same
events feed the CLI's progress line, a session's event log (one JSON object
a line, see ``stamped_to_json``/``stamped_from_json``) and the TUI, so a
build watched live and a build re-attached to after an SSH drop are shown
by the same code. Long loops check a ``CancelFlag`` between blocks.

Events carry the step's id (unique within a build: ``kernel.bundle``,
``image.upload``). The sequence number and the time are not fields of the
events: the event log stamps each one as it writes it (``Stamped``), so a
step never has to know whether anyone records it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from wizard.core.errors import RESUME, Cancelled, WizardError, interrupted

T = TypeVar("T")


@dataclass(frozen=True)
class StepStarted:
    step: str
    title: str


@dataclass(frozen=True)
class StepPhase:
    """A running step moved to a new phase ("checking parts", "sending parts").

    Not a second ``StepStarted``: a viewer keeps one row per step.
    """

    step: str
    phase: str


@dataclass(frozen=True)
class StepProgress:
    """Bytes (and, where the work has parts, parts) done so far."""

    step: str
    done: int
    total: int | None
    parts_done: int | None = None
    parts_total: int | None = None


@dataclass(frozen=True)
class LogLine:
    step: str
    text: str


@dataclass(frozen=True)
class StepWarning:
    step: str
    text: str


@dataclass(frozen=True)
class StepFinished:
    step: str
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepFailed:
    step: str
    message: str
    fix: str | None = None
    # The answer key the failure is about ("build.disk"): the CLI names the
    # flag, the TUI focuses the field.
    key: str | None = None


Event = (StepStarted | StepPhase | StepProgress | LogLine | StepWarning | StepFinished
         | StepFailed)
Sink = Callable[[Event], None]

_KINDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (StepStarted, StepPhase, StepProgress, LogLine, StepWarning, StepFinished,
                StepFailed)
}


@dataclass(frozen=True)
class Stamped:
    """An event as the event log holds it: its number in the log and when it happened.

    ``seq`` counts from 1 and goes on across runs of the same session; ``ts``
    is ``time.time()`` (epoch seconds), so a viewer that attaches later
    computes rates and time left from the log alone.
    """

    seq: int
    ts: float
    event: Event


def discard(event: Event) -> None:
    """A sink for callers that do not watch progress."""


def to_json(event: Event) -> str:
    """One line of a session's event log."""
    return json.dumps({"kind": type(event).__name__, **asdict(event)}, sort_keys=True)


def from_json(line: str) -> Event:
    """The event written by ``to_json``."""
    data = json.loads(line)
    kind = _KINDS[data.pop("kind")]
    event: Event = kind(**data)
    return event


def stamped_to_json(stamped: Stamped) -> str:
    """One line of a session's event log: ``{"seq":..,"ts":..,"kind":..,...fields}``."""
    event = stamped.event
    return json.dumps({"seq": stamped.seq, "ts": stamped.ts, "kind": type(event).__name__,
                       **asdict(event)}, sort_keys=True)


def stamped_from_json(line: str) -> Stamped:
    """The stamped event written by ``stamped_to_json``.

    Raises ``ValueError`` for a line that is not one (bad JSON, an unknown
    kind, missing or unknown fields): the reader says so instead of guessing.
    """
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        seq = data.pop("seq")
        ts = data.pop("ts")
        kind = _KINDS[data.pop("kind")]
        event: Event = kind(**data)
        _check_fields(event)
    except RecursionError:  # JSON nested thousands deep: written by no build
        raise ValueError("not an event line (nested too deep)") from None
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not an event line ({type(exc).__name__}: {exc})") from None
    if isinstance(seq, bool) or not isinstance(seq, int) or not isinstance(ts, (int, float)):
        raise ValueError("not an event line (seq or ts of the wrong type)")
    return Stamped(seq, float(ts), event)


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value is of the field's type (str, int, float, dict, Any, X | None)."""
    if hint is Any:
        return True
    if get_origin(hint) in (Union, types.UnionType):
        return any(_fits(value, arg) for arg in get_args(hint))
    if hint is type(None):
        return value is None
    if hint in (int, float):
        return isinstance(value, (int, float) if hint is float else int) \
            and not isinstance(value, bool)
    origin = get_origin(hint) or hint
    return isinstance(origin, type) and isinstance(value, origin)


_HINTS: dict[type, dict[str, Any]] = {}  # each event kind's field types, read once


def _hints(kind: type) -> dict[str, Any]:
    if kind not in _HINTS:
        _HINTS[kind] = get_type_hints(kind)
    return _HINTS[kind]


def _check_fields(event: Event) -> None:
    """A TypeError naming the first field of ``event`` not of its declared type: a
    viewer would fail on it later ("done": "lots" in a progress event)."""
    for name, hint in _hints(type(event)).items():
        value = getattr(event, name)
        if not _fits(value, hint):
            raise TypeError(f"{type(event).__name__}.{name} is {type(value).__name__}")


def failure(step: str, exc: BaseException) -> StepFailed:
    """The ``StepFailed`` that an exception ending a step is reported as."""
    if isinstance(exc, WizardError):
        return StepFailed(step, exc.message, exc.fix, exc.key)
    if not isinstance(exc, Exception):  # KeyboardInterrupt, a termination signal
        signum = getattr(exc, "signum", None)  # the CLI's Stopped carries its signal
        by = ("Ctrl+C" if isinstance(exc, KeyboardInterrupt)
              else signal.Signals(signum).name if isinstance(signum, int) else None)
        return StepFailed(step, interrupted(by), RESUME)
    detail = " ".join(str(exc).split())
    return StepFailed(step, f"unexpected {type(exc).__name__}{': ' + detail if detail else ''}",
                      "see the log file")


def run_reported(step: str, sink: Sink, work: Callable[[Sink], T]) -> T:
    """Run ``work(sink)``; once it has sent ``StepStarted``, it ends in
    ``StepFinished`` or ``StepFailed`` whatever happens.

    So a progress bar is cleared before the CLI prints its error line, and a
    TUI or an event log never shows a step running that has stopped.
    """
    running = False

    def watch(event: Event) -> None:
        nonlocal running
        if isinstance(event, StepStarted):
            running = True
        elif isinstance(event, (StepFinished, StepFailed)):
            running = False
        sink(event)

    try:
        return work(watch)
    except BaseException as exc:
        if running:
            # The step's own error must reach the caller, not one from the sink.
            with contextlib.suppress(Exception):
                sink(failure(step, exc))
        raise


class CancelFlag:
    """Set by the operator (Ctrl+C, the TUI's Cancel); checked between blocks."""

    def __init__(self) -> None:
        self._event = threading.Event()
        # What asked for the stop ("Ctrl+C"), for the message: "interrupted by …".
        self.reason: str | None = None

    def cancel(self, by: str | None = None) -> None:
        self.reason = self.reason or by
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` when the flag is set."""
        if self._event.is_set():
            raise Cancelled(interrupted(self.reason))


class Throttle:
    """Pass a progress event on at most ``per_second`` times a second.

    Loops over 10 MiB parts or 1 MiB blocks would otherwise flood a terminal
    or the event log; the last event (done == total) always goes through.
    """

    def __init__(self, sink: Sink, per_second: float = 4.0) -> None:
        self._sink = sink
        self._gap = 1.0 / per_second
        self._last = 0.0

    def __call__(self, event: StepProgress) -> None:
        now = time.monotonic()
        final = event.total is not None and event.done >= event.total
        if final or now - self._last >= self._gap:
            self._last = now
            self._sink(event)

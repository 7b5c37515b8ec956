"""Progress on stderr: a bar on a terminal, plain lines in a log or pipe.

It is a sink for the engine's events (``wizard.core.events``). On a
terminal it redraws one line at most ten times a second; elsewhere it
prints a plain line every tenth of the work, so a log of an unattended run
stays readable. The figures (bytes, parts, rate, time left) are worded by
``wizard.core.figures``, as the wizard's Build screen words them.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import TextIO

from wizard.core.events import (
    Event,
    LogLine,
    Stamped,
    StepFailed,
    StepFinished,
    StepPhase,
    StepProgress,
    StepStarted,
    StepWarning,
)
from wizard.core.figures import RateWindow, transfer_figures

_BAR = 24


def fit_line(title: str, fraction: float, figures: str, columns: int) -> str:
    """The progress line in fewer than ``columns`` characters.

    A line as wide as the terminal or wider wraps, and ``\\r`` then redraws
    only its last row (the bar climbs the screen). What matters most stays:
    the percentage, a bar (at least 8 wide) and the figures (sizes, rate,
    time left); the title is shortened (with an ellipsis) or left out first.
    """
    room = max(columns - 1, 1)
    tail = f"{int(fraction * 100):3d}% {figures}"
    left = room - len(tail) - 1  # for "TITLE [BAR]" and the space before the tail

    def bar(width: int) -> str:
        filled = int(fraction * width)
        return f"[{'#' * filled}{'-' * (width - filled)}]"

    def shorten(text: str, width: int) -> str:
        return text if len(text) <= width else text[:max(width - 1, 0)] + "…"

    if left - len(title) - 3 >= 8:  # the whole title and a bar of 8 or more
        return f"{title} {bar(min(_BAR, left - len(title) - 3))} {tail}"
    if left - 11 >= 12:  # a bar of 8 and at least 12 characters of title
        return f"{shorten(title, left - 11)} {bar(8)} {tail}"
    # No room for a title: a bar of 8, and the figures cut at the edge.
    return f"{bar(8)} {tail}"[:room]


class ConsoleProgress:
    """Render engine events for an operator watching a terminal (or not)."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._title = ""
        self._rate = RateWindow()
        self._last_draw = 0.0
        self._last_tenth = -1
        self._drawn = False
        self._clock: float | None = None  # the event's time, for events from a log

    def show(self, stamped: Stamped) -> None:
        """Render an event read back from a session's event log (``attach``): rates and
        time left come from the times the build wrote, not from when it is read."""
        self._clock = stamped.ts
        try:
            self(stamped.event)
        finally:
            self._clock = None

    def _now(self) -> float:
        return time.monotonic() if self._clock is None else self._clock

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self._title = event.title
            self._rate.restart(self._now())
            self._last_tenth = -1
            if not self.tty:
                self._line(f"{event.title}…")
        elif isinstance(event, StepPhase):
            # A new phase ("Uploading ..." after "Checking the parts"): rates and
            # time left count from here, the bar keeps the step's title.
            self._rate.restart(self._now())
            self._last_tenth = -1
            if not self.tty:
                self._line(f"{event.phase}…")
        elif isinstance(event, StepProgress):
            self._progress(event)
        elif isinstance(event, StepWarning):
            self._line(f"warning: {event.text}")
        elif isinstance(event, LogLine):
            self._line(event.text)
        elif isinstance(event, (StepFinished, StepFailed)):
            self._clear()

    def _progress(self, event: StepProgress) -> None:
        now = self._now()
        self._rate.add(now, event.done)
        fraction = min(event.done / event.total, 1.0) if event.total else 0.0
        figures = transfer_figures(
            event.done, event.total, parts_done=event.parts_done,
            parts_total=event.parts_total, rate=self._rate.rate,
            seconds_left=self._rate.seconds_left(event.done, event.total),
            state="done" if event.total and fraction >= 1 else None)
        if self.tty:
            final = event.total is not None and event.done >= event.total
            if not final and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            line = fit_line(self._title, fraction, figures, self._width())
            self.stream.write(f"\r\x1b[K{line}")
            self.stream.flush()
            self._drawn = True
        else:
            tenth = int(fraction * 10)
            if tenth != self._last_tenth:
                self._last_tenth = tenth
                self._line(f"{self._title}: {int(fraction * 100)}% ({figures})")

    def _width(self) -> int:
        """Columns of the terminal the bar is drawn on (stderr's, not stdout's or COLUMNS)."""
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (AttributeError, OSError, ValueError):
            return shutil.get_terminal_size((80, 24)).columns

    def clear(self) -> None:
        """Take a half-drawn bar off the terminal (before a line printed elsewhere)."""
        self._clear()

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def _line(self, text: str) -> None:
        self._clear()
        self.stream.write(text + "\n")
        self.stream.flush()

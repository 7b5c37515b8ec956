"""The figures of a transfer, in words: bytes done, parts, rate and time left.

One formatter for both faces: the CLI's progress line (``cli/progress.py``)
and the wizard's Build rows (``tui/buildview.py``) say the same thing the
same way. The rate is measured over a sliding window of samples stamped
with the events' own times (``Stamped.ts`` for a replayed event log), so a
viewer that re-attaches to a build, or reads its log back, shows what a
live one shows. No Textual here: the CLI and the detached build import it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import humanize

# Seconds of samples a rate is measured over: long enough to smooth one slow
# part, short enough to follow a store that slows down.
RATE_WINDOW = 20.0


def size(n: float) -> str:
    """Bytes the way an operator reads them (binary units: 8.0 GiB)."""
    return str(humanize.naturalsize(n, binary=True))


def sizes(done: int, total: int | None) -> str:
    """Bytes done, and of how many: "3.0/8.0 GiB", "800.0 MiB/8.0 GiB", "26.2 KiB"."""
    shown = size(done)
    if not total:
        return shown
    whole = size(total)
    figure, unit = shown.split(" ", 1)
    if whole.endswith(" " + unit):  # one unit once: 80 columns are few
        return f"{figure}/{whole}"
    return f"{shown}/{whole}"


def time_left(seconds: float) -> str:
    return f"{humanize.naturaldelta(seconds)} left"


class RateWindow:
    """Bytes a second over the last ``RATE_WINDOW`` seconds of (time, bytes done) samples.

    Times are whatever clock the caller keeps: the events' timestamps for a
    build followed from its event log, a monotonic clock for a live one.
    """

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, when: float, done: int) -> None:
        if self.samples and done < self.samples[-1][1]:
            self.samples.clear()  # counting again from the start (a retried part)
        self.samples.append((when, done))
        while len(self.samples) > 2 and when - self.samples[0][0] > self.window:
            self.samples.popleft()

    def clear(self) -> None:
        self.samples.clear()

    def restart(self, when: float) -> None:
        """Count from ``when`` with nothing done (a step or a phase starts): the
        first progress then has a rate, and time spent before does not count."""
        self.samples.clear()
        self.samples.append((when, 0))

    @property
    def rate(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        if t1 <= t0 or d1 < d0:
            return None
        return (d1 - d0) / (t1 - t0)

    def seconds_left(self, done: int, total: int | None) -> float | None:
        rate = self.rate
        if not rate or total is None:
            return None
        return max(total - done, 0) / rate


# Where the words of ``transfer_words`` stand, for ``fit_words``'s ``drop``:
# in a narrow place the parts go first, then the rate; bytes and time left stay.
PARTS, RATE = 1, 2


def transfer_words(done: int, total: int | None, *, parts_done: int | None = None,
                   parts_total: int | None = None, rate: float | None = None,
                   seconds_left: float | None = None, state: str | None = None) -> list[str]:
    """The pieces of ``transfer_figures``: bytes, parts, rate, time left (or the state).

    ``state`` ("done", "failed", "interrupted") replaces the time left once
    the transfer is no longer running (the rate stays if given). A piece not known is left
    out, except the parts (``PARTS`` is always the second piece, "" if none).
    """
    words = [size(done) if state == "done" else sizes(done, total)]
    words.append(f"part {parts_done or 0}/{parts_total}" if parts_total else "")
    words.append(size(rate) + "/s" if rate else "")
    if state:
        words.append(state)
    elif seconds_left is not None:
        words.append(time_left(seconds_left))
    return words


def transfer_figures(done: int, total: int | None, *, parts_done: int | None = None,
                     parts_total: int | None = None, rate: float | None = None,
                     seconds_left: float | None = None, state: str | None = None) -> str:
    """One line: "3.0/8.0 GiB, part 310/800, 10.0 MiB/s, 8 minutes left"."""
    return join_words(transfer_words(done, total, parts_done=parts_done,
                                     parts_total=parts_total, rate=rate,
                                     seconds_left=seconds_left, state=state))


def join_words(words: Sequence[str]) -> str:
    return ", ".join(word for word in words if word)


def fit_words(words: Sequence[str], width: int, drop: Sequence[int] = ()) -> str:
    """``words`` joined by ", " in ``width`` characters: the words at the indexes in
    ``drop`` are left out one by one (in that order) until it fits; then the end
    is cut with an ellipsis."""
    kept = [i for i, word in enumerate(words) if word]
    for index in drop:
        if len(join_words([words[i] for i in kept])) <= width:
            break
        if index in kept and len(kept) > 1:
            kept.remove(index)
    text = join_words([words[i] for i in kept])
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"

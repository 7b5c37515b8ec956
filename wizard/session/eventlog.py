"""A session's event log: one JSON line per event, appended by the build, read by viewers.

One writer (the build, which holds the session's lock) opens the log
``O_APPEND`` and writes each stamped event with a single ``os.write`` of one
whole line, so a viewer reading at the same moment sees whole lines, or a
last line still arriving that it holds back. Sequence numbers go on from the
last line already on disk: a resumed build extends the history, it does not
start a second one.

A reader (``attach``, the TUI) starts at offset 0, so a viewer that attaches
late rebuilds the whole view from the history, then keeps its offset and
reads only what is new at each poll. A line that is not an event is reported
as a warning event in its place, never skipped in silence.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from types import TracebackType

from wizard.core.events import (
    Event,
    Stamped,
    StepWarning,
    stamped_from_json,
    stamped_to_json,
)

_MODE = 0o600
# Enough of the end of the log to hold its last line (a progress event is
# ~200 bytes; a StepFinished with outputs a few KiB).
_TAIL = 64 * 1024
# What a poll reads at most: a viewer stays responsive while it replays a
# long history (it polls again at once while ``behind`` is true).
_CHUNK = 4 * 1024 * 1024
# How much of the start of the log tells it from a log that replaced it.
_HEAD = 128


def tail_events(path: Path, size: int = _TAIL) -> list[Stamped]:
    """The whole, readable events in the last ``size`` bytes of the log at ``path``
    (the end of a long history, without reading all of it); [] if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            end = os.fstat(handle.fileno()).st_size
            start = max(0, end - size)
            tail = os.pread(handle.fileno(), end - start, start)
    except OSError:
        return []
    lines = tail.split(b"\n")
    if start > 0:
        lines = lines[1:]  # cut by where the read began
    events = []
    for raw in lines:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            events.append(stamped_from_json(raw.decode("utf-8")))
    return events


def _last_seq(fd: int) -> tuple[int, bool]:
    """The seq of the last whole line of the log open on ``fd``, and whether the log
    ends in the middle of a line (a writer killed mid-write, a full disk)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, False
    start = max(0, size - _TAIL)
    tail = os.pread(fd, size - start, start)
    partial = not tail.endswith(b"\n")
    lines = tail.split(b"\n")
    if partial:
        lines.pop()
    for raw in reversed(lines):
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            return stamped_from_json(raw.decode("utf-8")).seq, partial
    return 0, partial


class EventLog:
    """The build's writer of its session's event log; also a sink (``log(event)``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = os.open(
            self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
            _MODE)
        try:
            os.fchmod(self._fd, _MODE)
            self._seq, partial = _last_seq(self._fd)
            if partial:
                # End the torn line, so it is reported as one bad line instead
                # of swallowing the first event of this run.
                os.write(self._fd, b"\n")
        except BaseException:
            self.close()
            raise

    @property
    def seq(self) -> int:
        """The seq of the last event written (0 for an empty log)."""
        return self._seq

    def log(self, event: Event) -> Stamped:
        """Append ``event`` with the next seq and the time now; returns it stamped."""
        if self._fd is None:
            raise ValueError("the event log is closed")
        stamped = Stamped(self._seq + 1, time.time(), event)
        data = (stamped_to_json(stamped) + "\n").encode("utf-8")
        written = os.write(self._fd, data)
        # A regular file takes the whole line in one write; a full disk may
        # not. Finish the line rather than leave it torn.
        while written < len(data):
            written += os.write(self._fd, data[written:])
        self._seq = stamped.seq
        return stamped

    __call__ = log

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class EventLogReader:
    """Follow a session's event log from its first line.

    ``poll()`` returns the events written since the last poll (the whole
    history on the first call); a missing log is an empty one.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0  # bytes of the file consumed, the held-back line included
        self.line_number = 0  # whole lines returned so far
        self.behind = False  # the last poll stopped at _CHUNK, more is on disk
        self._pending = b""  # a last line still being written
        self._last_seq = 0
        self._head = b""  # the first bytes of the file read so far

    def poll(self, final: bool = False) -> list[Stamped]:
        """The new events. ``final``: the writer is gone, so a held-back last line
        will never be finished: report it too."""
        data = self._read()
        buffer = self._pending + data
        lines = buffer.split(b"\n")
        self._pending = lines.pop()
        if final and self._pending and not self.behind:
            lines.append(self._pending)
            self._pending = b""
        return [self._parse(raw) for raw in lines]

    def _read(self) -> bytes:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self.behind = False
            return b""
        try:
            size = os.fstat(fd).st_size
            if size < self.offset or os.pread(fd, len(self._head), 0) != self._head:
                # The log was replaced (a session started over; the new file
                # may even have the old one's inode): its first bytes, which
                # carry a time stamp, differ. Read it again from its first line.
                self.offset, self._pending, self.line_number, self._head = 0, b"", 0, b""
            data = os.pread(fd, min(size - self.offset, _CHUNK), self.offset)
        finally:
            os.close(fd)
        if len(self._head) < _HEAD:
            self._head += data[: _HEAD - len(self._head)]
        self.offset += len(data)
        self.behind = self.offset < size
        return data

    def _parse(self, raw: bytes) -> Stamped:
        self.line_number += 1
        try:
            stamped = stamped_from_json(raw.decode("utf-8"))
        except ValueError as exc:  # UnicodeDecodeError included
            reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
            shown = raw[:80].decode("utf-8", "replace")
            text = (f"line {self.line_number} of the event log {self.path} is not an "
                    f"event ({reason}): {shown!r}")
            return Stamped(self._last_seq, time.time(), StepWarning("", text))
        self._last_seq = stamped.seq
        return stamped

"""The Build screen's model: a session's events folded into one row per image.

Pure Python (no Textual), so it is tested on its own and a re-attached
viewer rebuilds exactly the view a live one has: everything shown is
computed from the events and their timestamps (``Stamped.ts``), never from
the viewer's own clock. Rates and time left come from a sliding window of
progress samples; a replay from offset 0 gives the same figures.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import humanize

from wizard.core.events import (
    LogLine,
    StepFailed,
    StepFinished,
    StepPhase,
    StepProgress,
    StepStarted,
    StepWarning,
)

ARTIFACTS = ("kernel", "ramdisk", "image")
ARTIFACT_TITLES = {"kernel": "Kernel (memdisk)", "ramdisk": "Ramdisk (floppy)",
                   "image": "Disk image"}
# Seconds of progress samples a rate is measured over: long enough to smooth
# one slow part, short enough to follow a store that slows down.
RATE_WINDOW = 20.0


@dataclass
class Transfer:
    """Bundling or uploading one image: bytes and parts done, rate, time left."""

    done: int = 0
    total: int | None = None
    parts_done: int | None = None
    parts_total: int | None = None
    state: str = "pending"  # pending, running, done, failed
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, ts: float, done: int, total: int | None) -> None:
        self.done, self.total = done, total
        self.samples.append((ts, done))
        while len(self.samples) > 2 and ts - self.samples[0][0] > RATE_WINDOW:
            self.samples.popleft()

    @property
    def rate(self) -> float | None:
        """Bytes a second over the window, from the events' own timestamps."""
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        if t1 <= t0 or d1 < d0:
            return None
        return (d1 - d0) / (t1 - t0)

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        if not rate or self.total is None:
            return None
        return max(self.total - self.done, 0) / rate

    def describe(self) -> str:
        """One short line: bytes, parts, rate and time left, read at a glance."""
        if self.state == "pending":
            return "waiting"
        size = humanize.naturalsize(self.done, binary=True)
        if self.total and self.state != "done":
            total = humanize.naturalsize(self.total, binary=True)
            done_figure, done_unit = size.split(" ")
            if total.endswith(" " + done_unit):  # 3.0/8.0 GiB: 80 columns are few
                size = f"{done_figure}/{total}"
            else:
                size += "/" + total
        words = [size]
        if self.parts_total:
            words.append(f"part {self.parts_done or 0}/{self.parts_total}")
        if self.state == "running":
            rate = self.rate
            if rate:
                words.append(humanize.naturalsize(rate, binary=True) + "/s")
            left = self.seconds_left
            if left is not None:
                words.append(humanize.naturaldelta(left) + " left")
        else:
            words.append(self.state)
        return ", ".join(words)


@dataclass
class ImageRow:
    """One of kernel, ramdisk, image: its bundle, upload and registration."""

    artifact: str
    bundle: Transfer = field(default_factory=Transfer)
    upload: Transfer = field(default_factory=Transfer)
    register: str = "waiting"
    image_id: str | None = None

    @property
    def title(self) -> str:
        return ARTIFACT_TITLES[self.artifact]

    @property
    def doing(self) -> str:
        """The row's state in a word or two, for its title line."""
        if self.register != "waiting":
            return self.register
        for word, transfer in (("uploading", self.upload), ("bundling", self.bundle)):
            if transfer.state == "running":
                return word
            if transfer.state == "failed":
                return f"{word} failed"
        if self.upload.state == "done":
            return "uploaded"
        if self.bundle.state == "done":
            return "bundled"
        return "waiting"


@dataclass
class Failure:
    step: str
    message: str
    fix: str | None
    key: str | None


@dataclass(frozen=True)
class TransferShow:
    """What a progress bar and its label show, copied out of the model."""

    done: int
    total: int | None
    state: str
    text: str


@dataclass(frozen=True)
class RowShow:
    head: str
    bundle: TransferShow
    upload: TransferShow


def show_transfer(transfer: Transfer) -> TransferShow:
    return TransferShow(transfer.done, transfer.total, transfer.state, transfer.describe())


@dataclass
class BuildView:
    """Everything the Build screen shows, folded from the events in order."""

    rows: dict[str, ImageRow] = field(default_factory=dict)
    # Steps outside the three rows (prerequisites, memdisk, floppy): status words.
    other_steps: dict[str, str] = field(default_factory=dict)
    current: str | None = None
    phase: str | None = None
    failure: Failure | None = None
    warnings: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    last_seq: int = -1
    last_ts: float | None = None

    def __post_init__(self) -> None:
        for artifact in ARTIFACTS:
            self.rows.setdefault(artifact, ImageRow(artifact))

    def apply(self, seq: int, ts: float, event: Any) -> list[str]:
        """Fold one stamped event in; returns the lines it adds to the log view."""
        if seq < self.last_seq:
            return []  # seen already (a reader that replays). Equal: the reader's
            # warning about a corrupt line carries the seq of the line before it.
        self.last_seq, self.last_ts = seq, ts
        step: str = getattr(event, "step", "")
        artifact, _, kind = step.partition(".")
        row = self.rows.get(artifact) if kind else None
        if isinstance(event, StepStarted):
            self.current, self.phase, self.failure = step, None, None
            self._set_state(row, kind, step, "running")
            return [f"{step}: {event.title}"]
        if isinstance(event, StepPhase):
            self.phase = event.phase
            if row is not None and kind == "register":
                row.register = self.phase
            return [f"{step}: {self.phase}"]
        if isinstance(event, StepProgress):
            transfer = self._transfer(row, kind)
            if transfer is not None:
                transfer.state = "running"
                transfer.add(ts, event.done, event.total)
                transfer.parts_done, transfer.parts_total = event.parts_done, event.parts_total
            return []
        if isinstance(event, LogLine):
            return [f"{step}: {event.text}" if step else event.text]
        if isinstance(event, StepWarning):
            self.warnings.append(event.text)
            return [f"{step}: warning: {event.text}"]
        if isinstance(event, StepFinished):
            self._set_state(row, kind, step, "done")
            if row is not None and kind == "register":
                found = _image_id(event.outputs)
                if found:
                    row.image_id = found
                    self.ids[artifact] = found
                row.register = f"registered {found}" if found else "registered"
            if self.current == step:
                self.current, self.phase = None, None
            return [f"{step}: done"]
        if isinstance(event, StepFailed):
            self._set_state(row, kind, step, "failed")
            self.failure = Failure(step, event.message, event.fix, event.key)
            fix = f" Fix: {event.fix}." if event.fix else ""
            return [f"{step}: FAILED: {event.message}.{fix}"]
        return []

    def _transfer(self, row: ImageRow | None, kind: str) -> Transfer | None:
        if row is None:
            return None
        return {"bundle": row.bundle, "upload": row.upload}.get(kind)

    def _set_state(self, row: ImageRow | None, kind: str, step: str, state: str) -> None:
        transfer = self._transfer(row, kind)
        if transfer is not None:
            transfer.state = state
            if state == "done" and transfer.total is not None:
                transfer.done = transfer.total
        elif row is not None and kind == "register":
            row.register = {"running": "registering", "failed": "failed"}.get(state,
                                                                             row.register)
        elif row is None and step:
            self.other_steps[step] = state

    def rows_shown(self) -> dict[str, RowShow]:
        """Each row as text and figures: safe to hand from the follower's thread."""
        return {artifact: RowShow(f"{row.title}: {row.doing}", show_transfer(row.bundle),
                                  show_transfer(row.upload))
                for artifact, row in self.rows.items()}

    def status_words(self) -> str:
        """Where the build is: the step running and its phase, the other steps' states."""
        words = [f"{step} {state}" for step, state in self.other_steps.items()]
        if self.current:
            words.append(f"now {self.current}" + (f" ({self.phase})" if self.phase else ""))
        return ", ".join(words)

    @property
    def finished(self) -> bool:
        """The disk image is registered: the build is done."""
        return "image" in self.ids


def _image_id(outputs: dict[str, Any]) -> str | None:
    for key in ("image_id", "id", "emi", "eki", "eri"):
        value = outputs.get(key)
        if isinstance(value, str) and value:
            return value
    for value in outputs.values():
        if isinstance(value, str) and value[:4] in ("emi-", "eki-", "eri-", "ami-", "aki-",
                                                   "ari-"):
            return value
    return None

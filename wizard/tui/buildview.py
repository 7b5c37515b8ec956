"""The Build screen's model: a session's events folded into one row per image.

Pure Python (no Textual), so it is tested on its own and a re-attached
viewer rebuilds exactly the view a live one has: everything shown is
computed from the events and their timestamps (``Stamped.ts``), never from
the viewer's own clock. Rates and time left come from a sliding window of
progress samples (``wizard.core.figures``, which words them for the CLI
too); a replay from offset 0 gives the same figures.

A row is three lines, one a phase: the bundle, the upload, and the
registration with the wait for ``available`` (the image's id once known).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wizard.core.errors import INTERRUPTED
from wizard.core.events import (
    LogLine,
    StepFailed,
    StepFinished,
    StepPhase,
    StepProgress,
    StepStarted,
    StepWarning,
)
from wizard.core.figures import RateWindow, transfer_words

ARTIFACTS = ("kernel", "ramdisk", "image")
# Short enough for the rows' left column at 80 columns ("Disk image" wraps in two).
ARTIFACT_TITLES = {"kernel": "Kernel", "ramdisk": "Ramdisk", "image": "Disk image"}
# The register step's log lines name the image as soon as it is registered,
# before the step ends with it ("waiting for eki-... to become available",
# "eki-...: pending"): the row shows it while the cloud prepares the image.
_IMAGE_ID = re.compile(r"\b(?:e|a)[kmr]i-[0-9A-Fa-f]{8,}\b")
_IMAGE_STATE = re.compile(r"^(?:e|a)[kmr]i-[0-9A-Fa-f]{8,}: ([a-z ]+?)(?: after .*)?$")
WAITING_PHASE = "waiting for available"


def stop_word(message: str) -> str:
    """What a StepFailed means for a row: "interrupted" (Cancel, Ctrl+C, SIGTERM,
    SIGHUP: the runner's words "interrupted by ...") or "failed"."""
    return INTERRUPTED if message.startswith((INTERRUPTED, "cancelled")) else "failed"


@dataclass
class Transfer:
    """Bundling or uploading one image: bytes and parts done, rate, time left."""

    done: int = 0
    total: int | None = None
    parts_done: int | None = None
    parts_total: int | None = None
    state: str = "pending"  # pending, running, done, failed, interrupted
    window: RateWindow = field(default_factory=RateWindow)

    def add(self, ts: float, done: int, total: int | None) -> None:
        self.done, self.total = done, total
        self.window.add(ts, done)

    @property
    def rate(self) -> float | None:
        """Bytes a second over the window, from the events' own timestamps."""
        return self.window.rate

    @property
    def seconds_left(self) -> float | None:
        return self.window.seconds_left(self.done, self.total)

    def words(self) -> list[str]:
        """The figures' pieces (``core.figures.transfer_words``), or the state alone."""
        if self.state == "pending":
            return ["waiting"]
        return transfer_words(self.done, self.total, parts_done=self.parts_done,
                              parts_total=self.parts_total,
                              rate=self.rate if self.state == "running" else None,
                              seconds_left=self.seconds_left,
                              state=None if self.state == "running" else self.state)

    def describe(self) -> str:
        """One short line: bytes, parts, rate and time left, read at a glance."""
        return ", ".join(word for word in self.words() if word)


@dataclass
class Registration:
    """Registering one image and waiting until the cloud says it is ``available``."""

    state: str = "pending"  # pending, running, waiting, done, failed, interrupted
    phase: str = ""
    image_id: str | None = None
    image_state: str | None = None  # the cloud's word while waiting: pending, ...
    already: bool = False

    def describe(self) -> str:
        """The row's third line."""
        shown = self.image_id or "the image"
        if self.state == "pending":
            return "register: waiting"
        if self.state == "running":
            return self.phase or "registering"
        if self.state == "waiting":
            cloud = f" ({self.image_state})" if self.image_state else ""
            return f"{shown} registered, waiting for available{cloud}"
        if self.state == "done":
            return f"{shown} available" + (", registered before" if self.already else "")
        return f"register: {self.state}" + (f" ({shown})" if self.image_id else "")


@dataclass
class ImageRow:
    """One of kernel, ramdisk, image: its bundle, upload and registration."""

    artifact: str
    bundle: Transfer = field(default_factory=Transfer)
    upload: Transfer = field(default_factory=Transfer)
    registration: Registration = field(default_factory=Registration)

    @property
    def title(self) -> str:
        return ARTIFACT_TITLES[self.artifact]

    @property
    def image_id(self) -> str | None:
        return self.registration.image_id


@dataclass
class Failure:
    step: str
    message: str
    fix: str | None
    key: str | None


@dataclass(frozen=True)
class TransferShow:
    """What a progress bar and its figures show, copied out of the model."""

    done: int
    total: int | None
    state: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class RowShow:
    bundle: TransferShow
    upload: TransferShow
    register: str


def show_transfer(transfer: Transfer) -> TransferShow:
    return TransferShow(transfer.done, transfer.total, transfer.state,
                        tuple(transfer.words()))


@dataclass
class BuildView:
    """Everything the Build screen shows, folded from the events in order."""

    rows: dict[str, ImageRow] = field(default_factory=dict)
    # Steps outside the three rows (prerequisites, memdisk, floppy): status words.
    other_steps: dict[str, str] = field(default_factory=dict)
    current: str | None = None
    current_title: str | None = None
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
            self.current, self.current_title = step, event.title
            self.phase, self.failure = None, None
            self._set_state(row, kind, step, "running")
            self._restart_rate(row, kind, ts)
            return [f"{step}: {event.title}"]
        if isinstance(event, StepPhase):
            self.phase = event.phase
            self._restart_rate(row, kind, ts)  # checking the parts is no sending
            if row is not None and kind == "register":
                registration = row.registration
                registration.phase = event.phase
                registration.state = "waiting" if event.phase == WAITING_PHASE else "running"
            return [f"{step}: {self.phase}"]
        if isinstance(event, StepProgress):
            transfer = self._transfer(row, kind)
            if transfer is not None:
                transfer.state = "running"
                transfer.add(ts, event.done, event.total)
                transfer.parts_done, transfer.parts_total = event.parts_done, event.parts_total
            return []
        if isinstance(event, LogLine):
            if row is not None and kind == "register":
                self._note_registration(row.registration, event.text)
            return [f"{step}: {event.text}" if step else event.text]
        if isinstance(event, StepWarning):
            self.warnings.append(event.text)
            return [f"{step}: warning: {event.text}"]
        if isinstance(event, StepFinished):
            self._set_state(row, kind, step, "done")
            if row is not None and kind == "register":
                found = _image_id(event.outputs)
                if found:
                    row.registration.image_id = found
                    self.ids[artifact] = found
                row.registration.already = bool(event.outputs.get("already_registered"))
            if self.current == step:
                self.current, self.current_title, self.phase = None, None, None
            return [f"{step}: done"]
        if isinstance(event, StepFailed):
            self._set_state(row, kind, step, stop_word(event.message))
            if self.current == step:
                self.current, self.current_title, self.phase = None, None, None
            self.failure = Failure(step, event.message, event.fix, event.key)
            fix = f" Fix: {event.fix}." if event.fix else ""
            return [f"{step}: FAILED: {event.message}.{fix}"]
        return []

    @staticmethod
    def _note_registration(registration: Registration, text: str) -> None:
        if registration.image_id is None:
            found = _IMAGE_ID.search(text)
            if found:
                registration.image_id = found.group(0)
        said = _IMAGE_STATE.match(text)
        if said and registration.state == "waiting":
            registration.image_state = said.group(1)

    def _restart_rate(self, row: ImageRow | None, kind: str, ts: float) -> None:
        transfer = self._transfer(row, kind)
        if transfer is not None:
            transfer.window.restart(ts)

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
            if state == "done" and transfer.parts_total:
                transfer.parts_done = transfer.parts_total  # parts sent before count
        elif row is not None and kind == "register":
            row.registration.state = state
            if state == "running":
                row.registration.phase, row.registration.image_state = "", None
        elif row is None and step:
            self.other_steps[step] = state

    def rows_shown(self) -> dict[str, RowShow]:
        """Each row as text and figures: safe to hand from the follower's thread."""
        return {artifact: RowShow(show_transfer(row.bundle), show_transfer(row.upload),
                                  row.registration.describe())
                for artifact, row in self.rows.items()}

    def status_words(self) -> str:
        """Where the build is, in a few words: the step running and its phase."""
        if self.current:
            doing = self.current_title or self.current
            return doing + (f": {self.phase}" if self.phase else "")
        if self.failure is not None:
            return f"{stop_word(self.failure.message)} at {self.failure.step}"
        if self.finished:
            return "done"
        return "starting"

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

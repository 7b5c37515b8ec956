"""Typed messages that thread workers post to their screen (one result each).

Workers never touch widgets: they post one of these with ``post_message``
(thread-safe, never blocks) and the screen's handler updates the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from wizard.core.errors import WizardError


@dataclass
class WorkFailed(Message):
    """An engine call ended in an operator error (shown on the error screen)."""

    what: str
    error: WizardError
    key: str | None = None


@dataclass
class ChecksDone(Message):
    rows: list[Any]


@dataclass
class CredentialsFound(Message):
    rows: list[tuple[str, str, str]]
    notes: tuple[str, ...]


@dataclass
class EndpointsTested(Message):
    rows: list[Any]
    choices: tuple[str, str, str] = ("", "", "")  # (source, eucarc, region) tested


@dataclass
class DiskInspected(Message):
    report: Any
    # The Windows architecture read from the disk (``wizard.disk.windows``), if raw.
    arch: Any = None


@dataclass
class Progress(Message):
    """Bytes done of a long engine call (conversion), already throttled."""

    done: int
    total: int | None


@dataclass
class LogLines(Message):
    lines: list[str]


@dataclass
class MemdiskReady(Message):
    info: Any


@dataclass
class FloppyVerified(Message):
    report: Any


@dataclass
class Done(Message):
    """An engine call finished with nothing more to show than ``text``."""

    text: str

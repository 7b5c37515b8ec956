"""The error screen: what failed, why, the fix, the last log lines; keys to
retry, to view the full log, and to go back to the field whose input is wrong."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Log, Static

from wizard.core.errors import WizardError
from wizard.tui.base import WizardScreen

LOG_BYTES = 2 * 1024 * 1024  # the end of a long log is what matters


def _sentence(text: str) -> str:
    """An engine message ended as a sentence (its first word is kept as it is:
    it may be a command or a path)."""
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


class ErrorScreen(WizardScreen):
    NAME = "error"
    TITLE = "Something went wrong"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry", id="error.retry"),
        Binding("l", "view_log", "Full log", id="error.log"),
        Binding("g", "go_to_field", "Go to the field", id="error.field"),
    ]
    DEFAULT_CSS = """
    ErrorScreen #what { color: $error; text-style: bold; padding: 0 1; height: auto; }
    ErrorScreen #why, ErrorScreen #fix, ErrorScreen #keys { padding: 0 1; height: auto; }
    ErrorScreen #why { margin-top: 1; }
    ErrorScreen #fix { color: $success; text-style: bold; }
    ErrorScreen #keys { margin-top: 1; color: $text-muted; }
    ErrorScreen #tail { height: 1fr; }
    """

    def __init__(self, what: str, error: WizardError, key: str | None,
                 retry: Callable[[], None] | None, log_lines: list[str],
                 log_file: Path | None, field: tuple[str, str] | None) -> None:
        super().__init__()
        self.what, self.error, self.key = what, error, key
        self.retry, self.log_lines, self.log_file, self.field = (retry, log_lines, log_file,
                                                                 field)

    def body(self) -> Iterable[Widget]:
        yield Static(Text(f"{self.what} failed."), id="what")
        yield Static(Text(f"Why: {_sentence(self.error.message)}"), id="why")
        yield Static(Text(f"Fix: {_sentence(self.error.fix)}" if self.error.fix else
                          "No fix is known: the log below may say more."), id="fix")
        keys = ["Esc: back"]
        if self.retry:
            keys.append("r: retry")
        if self.log_file:
            keys.append("l: the full log")
        if self.field:
            keys.append(f"g: go to the {self.key} field ({self.field[0]} screen)")
        yield Static("   ".join(keys), id="keys")
        log = Log(id="tail")
        log.border_title = "The last lines of the log"
        yield log

    def on_mount(self) -> None:
        if self.log_lines:
            # Wrapped to the screen (a Log cuts at its edge): the last lines
            # often hold the whole story. Two spaces mark a continued line.
            width = max(40, self.app.size.width - 4)
            lines = [part for line in self.log_lines
                     for part in textwrap.wrap(line, width, subsequent_indent="  ",
                                               break_on_hyphens=False) or [""]]
            self.query_one("#tail", Log).write("\n".join(lines))
        else:
            self.query_one("#tail").display = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return self.retry is not None
        if action == "view_log":
            return self.log_file is not None
        if action == "go_to_field":
            return self.field is not None
        return True

    def action_retry(self) -> None:
        retry = self.retry
        self.app.pop_screen()
        if retry is not None:
            try:
                retry()
            except WizardError as exc:
                self.wizard.show_error(self.what, exc, getattr(exc, "key", None), retry)

    def action_view_log(self) -> None:
        if self.log_file is not None:
            self.app.push_screen(LogScreen(self.log_file))

    def action_go_to_field(self) -> None:
        if self.field is None:
            return
        screen, field_id = self.field
        self.app.pop_screen()
        self.wizard.go_to(screen, field_id)

    def action_back(self) -> None:
        self.app.pop_screen()


class LogScreen(WizardScreen):
    """A log file, whole (its last 2 MiB), in a scrolling view."""

    NAME = "log"
    TITLE = "Log"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "back", "Back", id="log.back"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def heading(self) -> str:
        return f"Log: {self.path}"

    def body(self) -> Iterable[Widget]:
        yield Log(id="full-log")

    def on_mount(self) -> None:
        log = self.query_one("#full-log", Log)
        try:
            with open(self.path, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - LOG_BYTES))
                text = f.read().decode("utf-8", errors="replace")
        except OSError as exc:
            text = f"cannot read {self.path}: {exc.strerror}"
        log.write_lines(text.splitlines())
        log.focus()

    def action_back(self) -> None:
        self.app.pop_screen()

"""Prerequisites: the ``check`` table (tools, memdisk, credentials, free space,
the disk), live: each row appears as its check is done (a worker walks the
engine's ``iter_checks``), the fix of the highlighted row below, a re-check key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from wizard.core.errors import WizardError
from wizard.prerequisites.checks import CheckResult, all_needed_ok, iter_checks
from wizard.tui.base import WizardScreen
from wizard.tui.messages import WorkFailed

# The last row while the checks run: more rows are coming.
CHECKING = ("checking…", "", "")


@dataclass
class CheckRow(Message):
    """One check done (``run``: which round of checks, so a re-check drops stale rows)."""

    run: int
    row: CheckResult


@dataclass
class ChecksFinished(Message):
    run: int


class PrerequisitesScreen(WizardScreen):
    NAME = "prerequisites"
    TITLE = "Prerequisites"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "recheck", "Re-check", id="prerequisites.recheck"),
        Binding("ctrl+n", "next", "Next", id="prerequisites.next"),
    ]
    DEFAULT_CSS = """
    PrerequisitesScreen #checks { height: 1fr; max-height: 100%; }
    PrerequisitesScreen #fix { height: auto; max-height: 5; padding: 0 1; }
    """
    # Cell widths: the check's name, its status; what was found gets the rest.
    NAME_WIDTH, STATUS_WIDTH = 23, 6

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[CheckResult] = []
        self.run = 0  # the round of checks on screen

    def body(self) -> Iterable[Widget]:
        yield DataTable(id="checks", cursor_type="row", zebra_stripes=True)
        yield Static("Checking...", id="status")
        yield Static("", id="fix")

    def on_mount(self) -> None:
        table = self.query_one("#checks", DataTable)
        table.add_columns("Check", "Status", "Found")
        table.focus()
        self.action_recheck()

    def action_recheck(self) -> None:
        c = self.wizard.choices
        self.check(self.new_round(), c.mode,
                   Path(c.eucarc) if c.source == "eucarc" and c.eucarc else None,
                   Path(c.disk) if c.disk else None)

    def new_round(self) -> int:
        """An empty table for a new round of checks; its number (``CheckRow.run``).
        Rows of an earlier round still arriving are dropped from now on."""
        self.run += 1
        self.rows = []
        table = self.query_one("#checks", DataTable)
        table.clear()
        table.add_row(*CHECKING, key="checking")
        self.query_one("#status", Static).update("Checking... (Ctrl+R starts again)")
        self.query_one("#fix", Static).update("")
        return self.run

    @work(thread=True, exclusive=True, exit_on_error=False)
    def check(self, run: int, recipe: str, eucarc: Path | None, disk: Path | None) -> None:
        worker = get_current_worker()
        try:
            for row in iter_checks(recipe, eucarc=eucarc, disk=disk):
                if worker.is_cancelled:  # a re-check started: this round is stale
                    return
                self.post_message(CheckRow(run, row))
        except WizardError as exc:
            self.post_message(WorkFailed("Checking the prerequisites", exc))
            return
        self.post_message(ChecksFinished(run))

    def _found_width(self) -> int:
        # Three cells padded by one a side, and two columns for the scroll bar.
        return max(self.size.width - self.NAME_WIDTH - self.STATUS_WIDTH - 8, 12)

    @on(CheckRow)
    def add(self, message: CheckRow) -> None:
        if message.run != self.run:
            return
        row = message.row
        self.rows.append(row)
        table = self.query_one("#checks", DataTable)
        # The cursor follows the newest row (its whole text below) unless moved away.
        following = table.cursor_row >= len(self.rows) - 2
        table.remove_row("checking")
        table.add_row(_short(row.name, self.NAME_WIDTH), row.status,
                      _short(row.value, self._found_width()))
        table.add_row(*CHECKING, key="checking")
        if following:
            table.move_cursor(row=len(self.rows) - 1)
            table.scroll_end(animate=False)
        failing = sum(1 for r in self.rows if not r.ok and r.needed)
        self.query_one("#status", Static).update(
            f"Checking... {len(self.rows)} done"
            + (f", {failing} needed item(s) missing" if failing else "")
            + " (Ctrl+R starts again)")
        self.show_fix()

    @on(ChecksFinished)
    def finished(self, message: ChecksFinished) -> None:
        if message.run != self.run:
            return
        table = self.query_one("#checks", DataTable)
        table.remove_row("checking")
        failing = [n for n, row in enumerate(self.rows) if not row.ok and row.needed]
        self.query_one("#status", Static).update(
            "Everything the recipe needs is here. Ctrl+N: next." if all_needed_ok(self.rows) else
            f"{len(failing)} needed item(s) missing: the fix for the highlighted row is "
            "below. Ctrl+R re-checks; the next screens set the credentials and the disk.")
        # The first missing item, its fix below; or the top when all is well.
        table.move_cursor(row=failing[0] if failing else 0)
        self.show_fix()

    @on(DataTable.RowHighlighted, "#checks")
    def show_fix(self) -> None:
        table = self.query_one("#checks", DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            self.query_one("#fix", Static).update("")
            return
        row = self.rows[table.cursor_row]
        text = f"{row.name}: {row.value}"
        if row.fix:
            text += f"\nFix: {row.fix}"
        self.query_one("#fix", Static).update(Text(text))

    @on(WorkFailed)
    def failed(self, message: WorkFailed) -> None:
        self.query_one("#status", Static).update(f"Check failed: {message.error.message}")
        self.fail(message.what, message.error, message.key, retry=self.action_recheck)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"

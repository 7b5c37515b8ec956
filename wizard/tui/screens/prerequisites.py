"""Prerequisites: the ``check`` table (tools, memdisk, credentials, free space,
the disk), each row with its fix, and a re-check key."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static

from wizard.core.errors import WizardError
from wizard.prerequisites.checks import CheckResult, all_needed_ok, run_checks
from wizard.tui.base import WizardScreen
from wizard.tui.messages import ChecksDone, WorkFailed


class PrerequisitesScreen(WizardScreen):
    NAME = "prerequisites"
    TITLE = "Prerequisites"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "recheck", "Re-check", id="prerequisites.recheck"),
        Binding("ctrl+n", "next", "Next", id="prerequisites.next"),
    ]
    DEFAULT_CSS = """
    PrerequisitesScreen #checks { max-height: 14; }
    PrerequisitesScreen #fix { height: auto; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[CheckResult] = []

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
        self.query_one("#status", Static).update("Checking...")
        c = self.wizard.choices
        self.check(c.mode, Path(c.eucarc) if c.source == "eucarc" and c.eucarc else None,
                   Path(c.disk) if c.disk else None)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def check(self, recipe: str, eucarc: Path | None, disk: Path | None) -> None:
        try:
            rows = run_checks(recipe, eucarc=eucarc, disk=disk)
        except WizardError as exc:
            self.post_message(WorkFailed("Checking the prerequisites", exc))
            return
        self.post_message(ChecksDone(rows))

    @on(ChecksDone)
    def show(self, message: ChecksDone) -> None:
        self.rows = list(message.rows)
        table = self.query_one("#checks", DataTable)
        table.clear()
        for row in self.rows:
            table.add_row(row.name, row.status, _short(row.value, 40))
        ok = all_needed_ok(self.rows)
        failing = sum(1 for row in self.rows if not row.ok and row.needed)
        self.query_one("#status", Static).update(
            "Everything the recipe needs is here. Ctrl+N: next." if ok else
            f"{failing} needed item(s) missing: the fix for the highlighted row is below. "
            "Ctrl+R re-checks; later screens set credentials and the disk.")
        self.show_fix()

    @on(DataTable.RowHighlighted, "#checks")
    def show_fix(self) -> None:
        table = self.query_one("#checks", DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return
        row = self.rows[table.cursor_row]
        text = f"{row.name}: {row.value}"
        if row.fix:
            text += f"\nFix: {row.fix}"
        self.query_one("#fix", Static).update(text)

    @on(WorkFailed)
    def failed(self, message: WorkFailed) -> None:
        self.query_one("#status", Static).update(f"Check failed: {message.error.message}")
        self.fail(message.what, message.error, message.key, retry=self.action_recheck)


def _short(text: Any, width: int) -> str:
    words = str(text)
    return words if len(words) <= width else words[: width - 1] + "…"

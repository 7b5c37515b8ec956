"""Floppy: create the blank image, the Windows-side checklist with this
build's commands (the VM's name asked for) as checkboxes, then verify: each
check with its result and, when it fails, the fix."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from wizard.core.errors import WizardError
from wizard.floppy.blank import create_blank
from wizard.floppy.checklist import Checklist, build_checklist
from wizard.floppy.verify import verify_floppy
from wizard.tui.base import WizardScreen
from wizard.tui.messages import Done, FloppyVerified, WorkFailed


class FloppyScreen(WizardScreen):
    NAME = "floppy"
    TITLE = "Floppy (the ramdisk)"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "blank", "Create blank", id="floppy.blank"),
        Binding("ctrl+r", "verify", "Verify", id="floppy.verify"),
        Binding("ctrl+n", "next", "Next", id="floppy.next"),
    ]
    DEFAULT_CSS = """
    FloppyScreen .row > Input#floppy-path { width: 2fr; }
    FloppyScreen .row > Label { width: auto; }
    FloppyScreen #checklist { height: auto; max-height: 7; }
    FloppyScreen #step { height: auto; max-height: 5; padding: 0 1; color: $text-muted; }
    FloppyScreen #checks { max-height: 6; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.checklist: Checklist | None = None

    def body(self) -> Iterable[Widget]:
        c = self.wizard.choices
        with Horizontal(classes="row"):
            yield Label("Floppy")
            yield Input(c.floppy, id="floppy-path", placeholder="floppy image path")
            yield Label("VM")
            yield Input(c.vm, id="vm", placeholder="VM name")
        yield SelectionList[int](id="checklist")
        yield Static("", id="step")
        yield Static("", id="status")
        yield DataTable(id="checks", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#checks", DataTable).add_columns("Check", "Result", "Found / fix")
        self.query_one("#floppy-path", Input).focus()
        self.show_checklist()

    def sandbox_ready(self) -> None:
        self.query_one("#floppy-path", Input).value = self.wizard.choices.floppy
        self.query_one("#vm", Input).value = self.wizard.choices.vm
        self.show_checklist()

    def _read_fields(self) -> None:
        self.wizard.choices.floppy = self.query_one("#floppy-path", Input).value.strip()
        self.wizard.choices.vm = self.query_one("#vm", Input).value.strip()

    @on(Input.Submitted)
    def typed(self) -> None:
        self._read_fields()
        self.show_checklist()

    def show_checklist(self) -> None:
        c = self.wizard.choices
        selection = self.query_one("#checklist", SelectionList)
        done = set(selection.selected)
        selection.clear_options()
        if not c.floppy:
            self.query_one("#status", Static).update(
                "Type the floppy image's path (Ctrl+B creates a blank one there).")
            return
        self.checklist = build_checklist(Path(c.floppy), c.vm or None, self.wizard.disk_report)
        for number, step in enumerate(self.checklist.steps):
            selection.add_option(Selection(step.title, number, number in done))
        if selection.highlighted is None and selection.option_count:
            selection.highlighted = 0
        self.show_step(selection.highlighted or 0)

    @on(SelectionList.SelectionHighlighted, "#checklist")
    def step_highlighted(self, event: SelectionList.SelectionHighlighted[int]) -> None:
        self.show_step(event.selection_index)

    def show_step(self, number: int) -> None:
        """The highlighted step's commands, where to type them, and why."""
        checklist = self.checklist
        if checklist is None or not 0 <= number < len(checklist.steps):
            return
        step = checklist.steps[number]
        lines = [f"{step.where}:", *(f"  {command}" for command in step.commands), step.why]
        self.query_one("#step", Static).update(Text("\n".join(lines)))

    def action_blank(self) -> None:
        self._read_fields()
        if not self.wizard.choices.floppy:
            self.query_one("#status", Static).update("Type the floppy image's path first.")
            return
        self.blank(Path(self.wizard.choices.floppy))

    @work(thread=True, exclusive=True, exit_on_error=False, group="floppy")
    def blank(self, path: Path) -> None:
        try:
            made = create_blank(path)
        except WizardError as exc:
            self.post_message(WorkFailed("Creating the blank floppy", exc, "build.floppy"))
            return
        self.post_message(Done(f"Created the blank floppy {made}: now the steps above."))

    @on(Done)
    def created(self, message: Done) -> None:
        self.query_one("#status", Static).update(message.text)
        self.show_checklist()

    def action_verify(self) -> None:
        self._read_fields()
        if self.wizard.choices.floppy:
            self.verify(Path(self.wizard.choices.floppy))

    @work(thread=True, exclusive=True, exit_on_error=False, group="floppy")
    def verify(self, path: Path) -> None:
        try:
            report = verify_floppy(path, self.wizard.disk_report)
        except WizardError as exc:
            self.post_message(WorkFailed("Verifying the floppy", exc, "build.floppy"))
            return
        self.post_message(FloppyVerified(report))

    @on(FloppyVerified)
    def verified(self, message: FloppyVerified) -> None:
        table = self.query_one("#checks", DataTable)
        table.clear()
        for check in message.report.checks:
            said = check.fix if check.fix and not check.passed else check.detail
            table.add_row(check.title, check.result.value, said)
        self.query_one("#status", Static).update(
            "The floppy is ready: Ctrl+N goes on." if message.report.ready else
            f"{len(message.report.failures)} check(s) failed: the fix is in each row.")

    @on(WorkFailed)
    def failed(self, message: WorkFailed) -> None:
        fix = f" Fix: {message.error.fix}." if message.error.fix else ""
        self.query_one("#status", Static).update(f"{message.error.message}.{fix}")

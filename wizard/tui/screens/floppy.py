"""Floppy: create the blank image, the Windows-side checklist with this
build's commands (the VM's name asked for) as checkboxes, then verify: each
check with its result and, when it fails, the fix.

Two tabs share the screen at 80x24. "Steps" is the checklist above the
highlighted step's commands, shown so they can be pasted: the image's long
path in a shell variable on its own line (``FLOPPY=...``, see
``wizard.tui.shell``), Ctrl+Y copies them. "Verify" lists the checks with
their result in words (failures first) above the highlighted check's
whole finding and fix, wrapped: nothing is cut at the screen's edge.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from rich.text import Text
from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, VerticalScroll
from textual.widget import Widget
from textual.widgets import (
    DataTable,
    Input,
    Label,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.selection_list import Selection

from wizard.core.errors import WizardError
from wizard.floppy.blank import create_blank
from wizard.floppy.checklist import Checklist, ChecklistStep, build_checklist
from wizard.floppy.verify import Check, Result, verify_floppy
from wizard.tui.base import WizardScreen
from wizard.tui.messages import Done, FloppyVerified, WorkFailed
from wizard.tui.shell import with_variables
from wizard.tui.toggles import SelectionList

# The steps the operator ticked off, per wizard: kept when the screen is left
# (Esc to the Disk screen and back), gone with the app.
TICKED: WeakKeyDictionary[App[Any], set[int]] = WeakKeyDictionary()

# A check's result in words and a mark, so it reads the same without colour.
MARKS = {Result.FAIL: "✗ FAIL", Result.SKIP: "- not checked", Result.PASS: "✓ pass"}
# Failures first (what to fix), then what could not be checked, then passes.
ORDER = {Result.FAIL: 0, Result.SKIP: 1, Result.PASS: 2}


def step_lines(step: ChecklistStep, floppy: Path, disk: Path | None) -> tuple[list[str],
                                                                               list[str]]:
    """A step's commands as they can be pasted into a shell (long paths in
    variables first), and its alternatives said with the same variables."""
    paths = {"FLOPPY": str(floppy)}
    if disk is not None:
        paths["DISK"] = os.path.abspath(disk)
    said = with_variables([*step.commands, *step.alternatives], paths)
    variables = len(said) - len(step.commands) - len(step.alternatives)
    commands = said[: variables + len(step.commands)]
    return commands, said[variables + len(step.commands):]


def ordered(checks: Iterable[Check]) -> list[Check]:
    """Failures first, then the checks skipped, then the passes, each in the
    verifier's order (the order an operator fixes them)."""
    return sorted(checks, key=lambda check: ORDER[check.result])


def check_text(check: Check) -> Text:
    """Everything the verifier said of one check, to be wrapped, never cut."""
    text = Text()
    text.append(f"{MARKS[check.result]}: {check.title}\n", style="bold")
    if check.detail:
        text.append(f"Found: {check.detail}\n")
    if check.fix and not check.passed:
        text.append("Fix: ", style="bold")
        text.append(f"{check.fix}\n")
    if check.note:
        text.append(f"Note: {check.note}\n")
    text.rstrip()
    return text


class FloppyScreen(WizardScreen):
    NAME = "floppy"
    TITLE = "Floppy (the ramdisk)"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "blank", "Create blank", id="floppy.blank"),
        Binding("ctrl+y", "copy", "Copy", id="floppy.copy"),
        Binding("ctrl+r", "verify", "Verify", id="floppy.verify"),
        Binding("ctrl+n", "next", "Next", id="floppy.next"),
    ]
    DEFAULT_CSS = """
    FloppyScreen .row > Input#floppy-path { width: 2fr; }
    FloppyScreen .row > Label { width: auto; }
    FloppyScreen #floppy-tabs { height: 1fr; }
    FloppyScreen TabPane { padding: 0; height: 1fr; }
    FloppyScreen #checklist { height: auto; max-height: 6; border: none; padding: 0; }
    FloppyScreen #step-pane, FloppyScreen #check-pane { height: 1fr; padding: 0 1;
                                                         border-top: hkey $panel; }
    FloppyScreen #step-pane { overflow-x: auto; }
    FloppyScreen #step, FloppyScreen #why { height: auto; width: 100%; }
    /* A command is never broken at the edge: the pane scrolls sideways instead. */
    FloppyScreen #commands { height: auto; width: auto; min-width: 100%;
                             text-wrap: nowrap; text-style: bold; }
    FloppyScreen #checks { height: auto; max-height: 10; }
    FloppyScreen #check-detail { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.checklist: Checklist | None = None
        self.checks: list[Check] = []
        # What Ctrl+Y copies: the highlighted step's commands.
        self.copy_text = ""

    def body(self) -> Iterable[Widget]:
        c = self.wizard.choices
        with Horizontal(classes="row"):
            yield Label("Floppy")
            yield Input(c.floppy, id="floppy-path", placeholder="floppy image path")
            yield Label("VM")
            yield Input(c.vm, id="vm", placeholder="VM name")
        with TabbedContent(id="floppy-tabs", initial="steps-tab"):
            with TabPane("Steps in Windows", id="steps-tab"):
                yield SelectionList[int](id="checklist")
                with ScrollableContainer(id="step-pane"):
                    yield Static("", id="step")
                    yield Static("", id="commands")
                    yield Static("", id="why")
            with TabPane("Verify", id="verify-tab"):
                yield DataTable(id="checks", cursor_type="row", zebra_stripes=False)
                with VerticalScroll(id="check-pane"):
                    yield Static("Ctrl+R reads the floppy image and checks it.",
                                 id="check-detail")
        yield Static("", id="status")

    def on_mount(self) -> None:
        self.query_one("#checks", DataTable).add_columns("Result", "Check")
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
        done = set(selection.selected) | TICKED.setdefault(self.app, set())
        highlighted = selection.highlighted
        selection.clear_options()
        if not c.floppy:
            for part in ("#commands", "#why"):
                self.query_one(part, Static).update("")
            self.query_one("#step", Static).update(
                "The steps appear here, with their commands, once the floppy image's path "
                "is typed (Enter).")
            self.query_one("#status", Static).update(
                "Type the floppy image's path (Ctrl+B creates a blank one there).")
            return
        self.checklist = build_checklist(Path(c.floppy), c.vm or None, self.wizard.disk_report)
        for number, step in enumerate(self.checklist.steps):
            selection.add_option(Selection(f"{number + 1}. {step.title}", number,
                                           number in done))
        if selection.option_count:
            selection.highlighted = highlighted if highlighted is not None else 0
        self.show_step(selection.highlighted or 0)
        self.query_one("#status", Static).update(
            "Space ticks a step off as you do it; Ctrl+R verifies the image.")

    @on(SelectionList.SelectedChanged, "#checklist")
    def ticked(self, event: SelectionList.SelectedChanged[int]) -> None:
        TICKED[self.app] = set(event.selection_list.selected)

    @on(SelectionList.SelectionHighlighted, "#checklist")
    def step_highlighted(self, event: SelectionList.SelectionHighlighted[int]) -> None:
        self.show_step(event.selection_index)

    def show_step(self, number: int) -> None:
        """The highlighted step whole: what, where, the commands to paste, and why."""
        checklist = self.checklist
        if checklist is None or not 0 <= number < len(checklist.steps):
            return
        step = checklist.steps[number]
        report: Any = self.wizard.disk_report
        disk = Path(report.path) if report is not None else None
        commands, alternatives = step_lines(step, checklist.image, disk)
        self.copy_text = "\n".join(commands)
        where = f"{step.where[0].upper()}{step.where[1:]}"
        self.query_one("#step", Static).update(Text.assemble(
            (f"Step {number + 1} of {len(checklist.steps)}: {step.title}", "bold"),
            f"\n{where} (Ctrl+Y copies these):"))
        self.query_one("#commands", Static).update(Text("\n".join(commands)))
        why = [step.why, *(f"Or, {alternative}" for alternative in alternatives)]
        if number == 2:  # the copy step: what the disk inspection said of the files
            why += [f"Note: {note}" for note in checklist.notes]
        self.query_one("#why", Static).update(Text("\n".join(why)))

    def action_copy(self) -> None:
        if not self.copy_text:
            self.notify("Type the floppy image's path first.")
            return
        self.app.copy_to_clipboard(self.copy_text)
        lines = self.copy_text.count("\n") + 1
        self.notify(f"Copied the step's {lines} command line(s).")

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
        self.post_message(Done(f"Created the blank floppy {made}: now the steps in Windows."))

    @on(Done)
    def created(self, message: Done) -> None:
        self.query_one("#floppy-tabs", TabbedContent).active = "steps-tab"
        self.show_checklist()
        self.query_one("#status", Static).update(message.text)

    def action_verify(self) -> None:
        self._read_fields()
        if not self.wizard.choices.floppy:
            self.query_one("#status", Static).update("Type the floppy image's path first.")
            return
        self.query_one("#floppy-tabs", TabbedContent).active = "verify-tab"
        self.query_one("#status", Static).update("Verifying...")
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
        report = message.report
        self.checks = ordered(report.checks)
        table = self.query_one("#checks", DataTable)
        table.clear()
        for check in self.checks:
            table.add_row(MARKS[check.result], check.title)
        table.move_cursor(row=0)
        table.focus()
        self.show_check(0)
        failures = len(report.failures)
        tabs = self.query_one("#floppy-tabs", TabbedContent)
        tabs.get_tab("verify-tab").label = ("Verify: ready" if report.ready else
                                            f"Verify: {failures} failed")
        self.query_one("#status", Static).update(
            "The floppy is ready: Ctrl+N goes on." if report.ready else
            f"{failures} check{'s' if failures != 1 else ''} failed: the first one's fix "
            "is shown; Up/Down for the others.")

    @on(DataTable.RowHighlighted, "#checks")
    def check_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_check(event.cursor_row)

    def show_check(self, row: int) -> None:
        if 0 <= row < len(self.checks):
            self.query_one("#check-detail", Static).update(check_text(self.checks[row]))

    @on(WorkFailed)
    def failed(self, message: WorkFailed) -> None:
        fix = f" Fix: {message.error.fix}." if message.error.fix else ""
        self.query_one("#status", Static).update(f"{message.error.message}.{fix}")

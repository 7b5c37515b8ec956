"""Start: the recipe's steps, the choice of recipe, and the saved sessions.

A new build goes on to Prerequisites; a running session opens its Build
screen (attach); an interrupted or failed one is started again (resume),
which continues from its recorded outputs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import humanize
from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, RadioSet, Static

from wizard.core.errors import WizardError
from wizard.tui import sessionlink
from wizard.tui.base import WizardScreen
from wizard.tui.toggles import RadioButton

if TYPE_CHECKING:
    from wizard.recipe.steps import StepInfo
    from wizard.session.listing import SessionSummary

RECIPES = (
    ("memdisk", "memdisk (any KVM cloud)"),
    ("native", "native (Eucalyptus 3/4)"),
)


@dataclass
class StartData(Message):
    """The recipe's steps and the saved sessions, read off the UI's thread."""

    steps: dict[str, list[StepInfo]]
    sessions: list[SessionSummary]
    problem: str | None
    # Session -> step id -> status, from each session's state file.
    statuses: dict[str, dict[str, str]]


STATUS_WORDS = {"pending": "to do"}


class StartScreen(WizardScreen):
    NAME = "start"
    TITLE = "Windows image to cloud image: start"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new", "New build", id="start.new"),
        Binding("a", "attach", "Attach", id="start.attach"),
        Binding("r", "resume", "Resume", id="start.resume"),
    ]
    DEFAULT_CSS = """
    StartScreen #left { width: 48; }
    StartScreen #right { width: 1fr; }
    StartScreen #steps { max-height: 16; }
    StartScreen #sessions { max-height: 9; }
    StartScreen RadioSet { width: 100%; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._sessions: list[SessionSummary] = []
        self._steps: dict[str, list[StepInfo]] = {}
        self._statuses: dict[str, dict[str, str]] = {}

    def body(self) -> Iterable[Widget]:
        with Horizontal():
            with Vertical(id="left"):
                yield Static("The recipe's steps", classes="section")
                yield DataTable(id="steps", cursor_type="none", zebra_stripes=True)
            with Vertical(id="right"):
                with RadioSet(id="recipe"):
                    for mode, label in RECIPES:
                        yield RadioButton(label, value=mode == self.wizard.choices.mode,
                                          id=f"recipe-{mode}")
                yield Static("Saved sessions", classes="section")
                yield DataTable(id="sessions", cursor_type="row")
                yield Static("", id="sessions-hint", classes="hint")

    def on_mount(self) -> None:
        steps = self.query_one("#steps", DataTable)
        steps.add_columns("Status", "Step")
        sessions = self.query_one("#sessions", DataTable)
        sessions.add_columns("Name", "Status", "Updated")
        self.refresh_sessions()
        self.set_interval(2.0, self.refresh_sessions)
        self.query_one("#recipe", RadioSet).focus()

    def on_screen_resume(self) -> None:
        self.refresh_sessions()

    def selected(self) -> SessionSummary | None:
        table = self.query_one("#sessions", DataTable)
        if table.row_count == 0:
            return None
        name = str(table.get_row_at(table.cursor_row)[0])
        return next((s for s in self._sessions if s.name == name), None)

    def refresh_sessions(self) -> None:
        self.load(not self._steps)

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def load(self, with_steps: bool) -> None:
        steps = dict(self._steps)
        if with_steps:
            for mode, _ in RECIPES:
                steps[mode] = sessionlink.recipe_steps(mode)
        try:
            sessions, problem = sessionlink.saved_sessions(), None
        except WizardError as exc:
            sessions, problem = [], exc.message
        statuses: dict[str, dict[str, str]] = {}
        for session in sessions:
            try:
                statuses[session.name] = sessionlink.step_statuses(session.name)
            except WizardError:
                statuses[session.name] = {}  # a damaged state file: listed as it is
        self.post_message(StartData(steps, sessions, problem, statuses))

    @on(StartData)
    def loaded(self, data: StartData) -> None:
        self._steps, self._sessions, self._statuses = data.steps, data.sessions, data.statuses
        table = self.query_one("#sessions", DataTable)
        hint = self.query_one("#sessions-hint", Static)
        if data.problem:
            hint.update(f"Sessions unavailable: {data.problem}")
        else:
            hint.update("Enter or a: attach to a running build; r: resume one that stopped"
                        if self._sessions else "No saved sessions yet: Ctrl+N starts one.")
        row = table.cursor_row
        table.clear()
        now = time.time()
        for s in sorted(self._sessions, key=lambda s: s.updated, reverse=True):
            table.add_row(s.name, s.status, humanize.naturaltime(now - s.updated),
                          key=s.name)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        self.show_steps()

    def show_steps(self) -> None:
        """The steps of the chosen recipe; with a session selected, where it got to."""
        table = self.query_one("#steps", DataTable)
        table.clear()
        steps = self._steps.get(self.wizard.choices.mode)
        if steps is None:
            table.add_row("", "reading the recipe...")
            return
        chosen = self.selected() if self.query_one("#sessions", DataTable).has_focus else None
        recorded = self._statuses.get(chosen.name, {}) if chosen is not None else {}
        if chosen is not None and chosen.mode in self._steps:
            steps = self._steps[chosen.mode]
        for step in steps:
            status = recorded.get(step.id, "pending")
            if status == "running" and chosen is not None and chosen.status != "running":
                status = "interrupted"  # the lock says no build runs: it died there
            table.add_row(STATUS_WORDS.get(status, status), step.title)

    @on(RadioSet.Changed, "#recipe")
    def recipe_changed(self, event: RadioSet.Changed) -> None:
        button_id = event.pressed.id or ""
        self.wizard.choices.mode = button_id.removeprefix("recipe-")
        self.show_steps()

    @on(DataTable.RowHighlighted, "#sessions")
    def session_highlighted(self) -> None:
        self.show_steps()

    def on_descendant_focus(self) -> None:
        # The steps show the highlighted session's progress while the list has focus.
        self.show_steps()

    def on_descendant_blur(self) -> None:
        self.show_steps()

    @on(DataTable.RowSelected, "#sessions")
    def session_chosen(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        if chosen.status in ("interrupted", "failed"):
            self.action_resume()
        else:
            self.action_attach()

    def action_new(self) -> None:
        self.wizard.advance("start")

    def action_attach(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self.wizard.follow(chosen.name)

    def action_resume(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        if chosen.status == "running":
            self.wizard.follow(chosen.name)
            return
        try:
            sessionlink.resume_build(chosen.name)
        except WizardError as exc:
            if not sessionlink.ran(chosen.name):
                self.fail(f"Resuming {chosen.name}", exc)
                return
            # It stopped at once: its Build screen shows the step's error and answer.
        self.wizard.follow(chosen.name)

    def action_back(self) -> None:
        """Start is the first screen: Esc does nothing here."""

"""Start: the recipe's steps, the choice of recipe, and the saved sessions.

A new build goes on to Prerequisites; a running session opens its Build
screen (attach); an interrupted or failed one is started again (resume),
which continues from its recorded outputs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import humanize
from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Label, RadioSet, Static

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

# A step id is "ROLE.ACTION" (kernel.bundle) or one word (memdisk): the steps
# of one action are one row (Bundle: kernel, ramdisk, disk image), so the
# recipe fits 80x24 in the order the issue names it.
GROUP_TITLES = {"prerequisites": "Prerequisites", "memdisk": "memdisk", "floppy": "Floppy",
                "bundle": "Bundle", "upload": "Upload", "register": "Register"}
STATUS_WORDS = {"pending": "to do"}
# The status a row of several steps shows: the first of these any of its steps has.
_GROUP_ORDER = ("failed", "interrupted", "running")


@dataclass(frozen=True)
class StepRow:
    """One row of the steps table: a step, or the steps of one action."""

    title: str
    status: str
    what: str


def step_rows(steps: Sequence[StepInfo], recorded: Mapping[str, str],
              build_running: bool = True) -> list[StepRow]:
    """The steps grouped by action with their status from the session's state.

    ``recorded``: step id -> status from the state file ({} for a new build).
    A step left "running" when no build runs died there: "interrupted".
    """
    groups: dict[str, list[StepInfo]] = {}
    for step in steps:
        groups.setdefault(step.id.rpartition(".")[2], []).append(step)
    rows = []
    for action, members in groups.items():
        statuses = [recorded.get(step.id, "pending") for step in members]
        if not build_running:
            statuses = ["interrupted" if s == "running" else s for s in statuses]
        done = statuses.count("done")
        now = next((s for s in _GROUP_ORDER if s in statuses), None)
        if len(members) == 1:
            status, what = statuses[0], members[0].title
        else:
            status = now or ("done" if done == len(members) else "pending")
            if done and status != "done":
                status = f"{done}/{len(members)} done" if now is None else \
                    f"{now}, {done}/{len(members)} done"
            # The step being done (or that stopped) says which; else all of them.
            what = next((step.title for step, s in zip(members, statuses, strict=True)
                         if s == now),
                        _joined([step.title for step in members]))
        rows.append(StepRow(GROUP_TITLES.get(action, action.capitalize()),
                            STATUS_WORDS.get(status, status), what))
    return rows


def _joined(titles: list[str]) -> str:
    """"Bundle a", "Bundle b" -> "a, b": the row's title says the shared first word."""
    verbs = {title.split(" ", 1)[0] for title in titles}
    if len(verbs) == 1 and all(" " in title for title in titles):
        return ", ".join(title.split(" ", 1)[1] for title in titles)
    return ", ".join(titles)


def clip(text: str, width: int) -> str:
    """``text`` in ``width`` columns, an ellipsis at the end when cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


@dataclass
class StartData(Message):
    """The recipe's steps and the saved sessions, read off the UI's thread."""

    steps: dict[str, list[StepInfo]]
    sessions: list[SessionSummary]
    problem: str | None
    # Session -> step id -> status, from each session's state file.
    statuses: dict[str, dict[str, str]]


class StartScreen(WizardScreen):
    NAME = "start"
    TITLE = "Windows image to cloud image: start"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new", "New build", id="start.new"),
        Binding("a", "attach", "Attach", id="start.attach"),
        Binding("r", "resume", "Resume", id="start.resume"),
    ]
    DEFAULT_CSS = """
    StartScreen #recipe-row { height: 1; margin: 1 0 1 0; }
    StartScreen #recipe-row > Label { width: 9; padding: 0 1; text-style: bold; }
    StartScreen #recipe { layout: horizontal; width: 1fr; height: 1; }
    StartScreen #recipe > RadioButton { width: auto; margin-right: 3; }
    StartScreen #steps { height: auto; max-height: 8; }
    StartScreen #sessions-title { margin-top: 1; }
    StartScreen #sessions { height: auto; max-height: 8; }
    """
    # The saved sessions' columns (cell text widths; DataTable pads each cell by 1 a
    # side): the name is cut to its width, the current step gets the rest.
    NAME_WIDTH, MODE_WIDTH, SESSION_STATUS_WIDTH, AT_WIDTH = 20, 7, 11, 13

    def __init__(self) -> None:
        super().__init__()
        self._sessions: list[SessionSummary] = []
        self._steps: dict[str, list[StepInfo]] = {}
        self._statuses: dict[str, dict[str, str]] = {}

    def body(self) -> Iterable[Widget]:
        with Horizontal(id="recipe-row"):
            yield Label("Recipe")
            with RadioSet(id="recipe", compact=True):
                for mode, label in RECIPES:
                    yield RadioButton(label, value=mode == self.wizard.choices.mode,
                                      id=f"recipe-{mode}", compact=True)
        yield Static("The recipe's steps", id="steps-title", classes="section")
        steps: DataTable[str] = DataTable(id="steps", cursor_type="none", zebra_stripes=True)
        steps.can_focus = False  # nothing to choose there: Tab goes recipe <-> sessions
        yield steps
        yield Static("Saved sessions", id="sessions-title", classes="section")
        yield DataTable(id="sessions", cursor_type="row")
        yield Static("", id="sessions-hint", classes="hint")

    def on_mount(self) -> None:
        sessions = self.query_one("#sessions", DataTable)
        sessions.add_columns("Name", "Recipe", "Status", "Step", "Updated")
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
        step_width = self._rest(self.NAME_WIDTH + self.MODE_WIDTH + self.SESSION_STATUS_WIDTH
                                + self.AT_WIDTH, columns=5)
        for s in sorted(self._sessions, key=lambda s: s.updated, reverse=True):
            table.add_row(clip(s.name, self.NAME_WIDTH), s.mode or "?", s.status,
                          clip(s.current_step, step_width),
                          clip(humanize.naturaltime(now - s.updated), self.AT_WIDTH),
                          key=s.name)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        table.display = table.row_count > 0  # no empty header: the hint says there are none
        self.show_steps()

    def _rest(self, used: int, columns: int) -> int:
        """The width left for a table's last free column at the screen's width."""
        return max(self.size.width - used - 2 * columns - 1, 10)

    def show_steps(self) -> None:
        """The steps of the chosen recipe; with a session selected, where it got to."""
        table = self.query_one("#steps", DataTable)
        title = self.query_one("#steps-title", Static)
        # Columns made afresh: a DataTable column keeps the widest cell it ever held.
        table.clear(columns=True)
        mode = self.wizard.choices.mode
        chosen = self.selected() if self.query_one("#sessions", DataTable).has_focus else None
        if chosen is not None and chosen.mode in self._steps:
            mode = chosen.mode
        steps = self._steps.get(mode)
        if steps is None:
            title.update("Reading the recipe...")
            return
        if chosen is not None:
            title.update(f"Where the session {clip(chosen.name, 40)} got to ({mode} recipe)")
            rows = step_rows(steps, self._statuses.get(chosen.name, {}),
                             build_running=chosen.status == "running")
        else:
            title.update(f"The steps of the {mode} recipe")
            rows = step_rows(steps, {})
        # Step and status are short words: What gets the rest, cut with an ellipsis.
        used = max(len(row.title) for row in rows) + max(len(row.status) for row in rows)
        what_width = self._rest(max(used, len("Step") + len("Status")), columns=3)
        table.add_columns("Step", "Status", "What")
        for row in rows:
            table.add_row(row.title, row.status, clip(row.what, what_width))

    def on_resize(self) -> None:
        self.refresh_sessions()

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

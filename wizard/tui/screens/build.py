"""Build: the session's build, run detached, followed from its event log.

Before the build: its name, bucket and architecture and a summary of the
answers, then Ctrl+G starts it (checked as an answers file, saved as a
session, started in its own process). Then a one-line status, a row each
for the kernel, the ramdisk and the image (three lines: bundling and
uploading with bytes, parts, rate and time left from the events'
timestamps; the registration and the wait for ``available`` with the
image's id), and the log. A worker thread reads the event log and folds it
into the view; the screen gets one update a tick (``POLL_SECONDS``) however
fast events come or however long the history replayed, so keys are
answered between updates. Leaving the screen or quitting leaves the build
running; Cancel asks, then stops it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual import on, work
from textual.app import RenderResult as WidgetRender
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.renderables.bar import Bar as BarRenderable
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Log, ProgressBar, Static
from textual.worker import get_current_worker

from wizard.core.errors import WizardError
from wizard.core.events import Stamped
from wizard.core.figures import PARTS, RATE, fit_words
from wizard.tui import sessionlink
from wizard.tui.base import WizardScreen
from wizard.tui.buildview import (
    ARTIFACT_TITLES,
    ARTIFACTS,
    BuildView,
    Failure,
    RowShow,
    TransferShow,
)
from wizard.tui.messages import WorkFailed

# One update of the screen a tick: at most five redraws a second of the
# rows and the log, whatever the rate of events (the "about 10").
POLL_SECONDS = 0.2
# Events folded into one update at most: a long history is replayed in
# batches, the screen showing each, never one freeze for the whole of it.
BATCH_EVENTS = 5000
LOG_TAIL = 12
YIELD_EVERY = 256


@dataclass
class BuildUpdate(Message):
    """One tick of the follower: new log lines and the view as it now stands."""

    bubble = False  # for the Build screen alone

    lines: list[str]
    rows: dict[str, RowShow]
    status: str
    running: bool
    failure: Failure | None
    ids: dict[str, str]
    finished: bool
    # The view holds every event on disk (False while a history is replayed:
    # a failure seen then may be an old one that a later run got past).
    caught_up: bool
    events: int  # events folded into this update
    posted: float  # time.monotonic() when the follower posted it


class ConfirmCancel(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Stop the build", id="cancel.yes"),
        Binding("n,escape", "answer(False)", "Keep it running", id="cancel.no"),
    ]
    DEFAULT_CSS = """
    ConfirmCancel { align: center middle; }
    ConfirmCancel > Vertical { width: 64; height: auto; border: thick $error;
                               background: $surface; padding: 1 2; }
    """

    def compose(self) -> Iterable[Widget]:
        with Vertical():
            yield Static("Stop the build? It stops cleanly between parts and can be "
                         "resumed later from the Start screen. (y/n)", id="cancel-text")
        yield Footer()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class PlainBar(BarRenderable):
    """Textual's bar, its empty part drawn thin (─) rather than only in another
    colour: the bar still reads with NO_COLOR or on a monochrome terminal."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = self.width or options.max_width
        filled = max(0.0, min(self.highlight_range[1], float(width)))
        full = int(filled)
        bar = Text("━" * full, style=console.get_style(self.highlight_style), end="")
        if filled - full >= 0.5 and full < width:
            bar.append("╸", style=console.get_style(self.highlight_style))
            full += 1
        bar.append("─" * (width - full), style=console.get_style(self.background_style))
        yield bar


class PhaseBar(ProgressBar):
    BAR_RENDERABLE = PlainBar


class Figures(Widget):
    """A transfer's figures fitted to the width they have: the parts go first,
    then the rate; the bytes and the time left stay."""

    DEFAULT_CSS = "Figures { height: 1; width: 1fr; }"
    words: reactive[tuple[str, ...]] = reactive(("waiting",))

    def render(self) -> WidgetRender:
        return Text(fit_words(self.words, self.size.width, drop=(PARTS, RATE)), end="")


class ImageRowView(Horizontal):
    """One image in three lines: its bundle bar, its upload bar, its registration."""

    DEFAULT_CSS = """
    ImageRowView { height: 3; }
    ImageRowView > .row-title { width: 9; height: 3; padding: 0 0 0 1; text-style: bold; }
    ImageRowView > Vertical { width: 1fr; height: 3; }
    ImageRowView .line { height: 1; }
    ImageRowView .line > Label { width: 7; }
    ImageRowView PhaseBar { width: 11; }
    ImageRowView PhaseBar > Bar { width: 10; }
    ImageRowView PhaseBar > Bar > .bar--bar { color: $primary;
                                              background: $foreground 35%; }
    ImageRowView PhaseBar > Bar > .bar--complete { color: $success;
                                                   background: $foreground 35%; }
    ImageRowView .register { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, artifact: str, title: str) -> None:
        super().__init__(id=f"row-{artifact}")
        self.artifact = artifact
        self.title = title
        self._shown: RowShow | None = None

    def compose(self) -> Iterable[Widget]:
        yield Static(self.title, classes="row-title", id=f"{self.artifact}-title")
        with Vertical():
            for kind in ("bundle", "upload"):
                with Horizontal(classes="line"):
                    yield Label(kind)
                    bar = PhaseBar(total=1, show_eta=False, show_percentage=False,
                                   id=f"{self.artifact}-{kind}-bar")
                    yield bar
                    yield Figures(id=f"{self.artifact}-{kind}-text")
            yield Static("register: waiting", id=f"{self.artifact}-register", markup=False,
                         classes="register")

    def show(self, row: RowShow) -> None:
        """Redraw only what changed: most updates move one bar of one row."""
        before, self._shown = self._shown, row
        if before is not None and before == row:
            return
        for kind, transfer in (("bundle", row.bundle), ("upload", row.upload)):
            if before is None or getattr(before, kind) != transfer:
                self._show_transfer(kind, transfer)
        if before is None or before.register != row.register:
            self.query_one(f"#{self.artifact}-register", Static).update(row.register,
                                                                       layout=False)

    def _show_transfer(self, kind: str, transfer: TransferShow) -> None:
        bar = self.query_one(f"#{self.artifact}-{kind}-bar", PhaseBar)
        if transfer.total:
            bar.update(total=transfer.total, progress=min(transfer.done, transfer.total))
        elif transfer.state == "done":
            bar.update(total=1, progress=1)
        self.query_one(f"#{self.artifact}-{kind}-text", Figures).words = transfer.words


def shorten_middle(text: str, width: int) -> str:
    """A path in ``width`` characters, its start and its file name kept: /tmp/…/disk.img."""
    if len(text) <= width:
        return text
    tail = text[text.rfind("/"):] if "/" in text else ""
    if len(tail) + 8 > width:
        return "…" + text[-(width - 1):]
    head = width - len(tail) - 1
    return text[:head] + "…" + tail


class BuildScreen(WizardScreen):
    NAME = "build"
    TITLE = "Build"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g", "start", "Start build", id="build.start"),
        Binding("c", "cancel", "Cancel build", id="build.cancel"),
        Binding("l", "full_log", "Full log", id="build.log"),
    ]
    DEFAULT_CSS = """
    BuildScreen #form { height: auto; }
    BuildScreen #form .row > Label { width: 8; }
    BuildScreen #summary { padding: 0 1; height: auto; text-wrap: nowrap;
                           text-overflow: ellipsis; }
    BuildScreen #progress { height: auto; display: none; }
    BuildScreen.following #progress { display: block; }
    BuildScreen.following #form { display: none; }
    BuildScreen #status { height: 1; padding: 0 1; text-wrap: nowrap;
                          text-overflow: ellipsis; text-style: bold; }
    BuildScreen #build-log { height: 1fr; display: none; }
    BuildScreen.following #build-log { display: block; }
    """

    def __init__(self, session: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.running = False
        self.reported = False
        # Cancel was asked for here: the stop that follows is no error.
        self.cancelled = False
        self._status = ""

    def body(self) -> Iterable[Widget]:
        c = self.wizard.choices
        with Vertical(id="form"):
            with Horizontal(classes="row"):
                yield Label("Name")
                yield Input(c.name or c.default_name(), id="name")
                yield Label("Bucket")
                yield Input(c.bucket or c.default_name() + "-images", id="bucket")
                yield Label("Arch")
                yield Input(c.arch, id="arch")
            yield Static("", id="summary", markup=False)
        with Vertical(id="progress"):
            yield Static("", id="status", markup=False)
            for artifact in ARTIFACTS:
                yield ImageRowView(artifact, ARTIFACT_TITLES[artifact])
        yield Log(max_lines=20000, id="build-log")

    def on_mount(self) -> None:
        if self.session is not None:
            self.attach(self.session)
        else:
            self.show_summary()
            self.query_one("#name", Input).focus()

    def on_resize(self) -> None:
        if self.session is None:
            self.show_summary()

    def sandbox_ready(self) -> None:
        if self.session is None:
            c = self.wizard.choices
            self.query_one("#name", Input).value = c.name or c.default_name()
            self.query_one("#bucket", Input).value = c.bucket
            self.show_summary()

    def show_summary(self) -> None:
        """The answers the build takes, a line each, long paths shortened in the middle."""
        c = self.wizard.choices
        width = max(self.app.size.width - 16, 20)
        credentials = c.source + (f" {c.eucarc}" if c.source == "eucarc" else
                                  f" {c.region}" if c.source == "ini" and c.region else "")
        rows = [("Recipe", "memdisk: kernel + floppy ramdisk + disk image"
                 if c.mode == "memdisk" else "native: the disk image alone (Eucalyptus 3/4)"),
                ("Credentials", credentials),
                ("Disk image", c.disk or "(not chosen)")]
        if c.mode == "memdisk":
            rows.append(("memdisk", c.memdisk or c.syslinux_source or "(not chosen)"))
            rows.append(("Floppy", c.floppy or "(not chosen)"))
        lines = [f"{label:<13} {shorten_middle(value, width)}" for label, value in rows]
        lines += ["", "Ctrl+G starts the build in its own process: leaving this",
                  "screen or the wizard does not stop it."]
        self.query_one("#summary", Static).update("\n".join(lines))

    # -- starting and following ---------------------------------------------
    def action_start(self) -> None:
        if self.session is not None:
            return
        c = self.wizard.choices
        c.name = self.query_one("#name", Input).value.strip()
        c.bucket = self.query_one("#bucket", Input).value.strip()
        c.arch = self.query_one("#arch", Input).value.strip() or "i386"
        try:
            name = sessionlink.start_build(c.to_toml())
        except WizardError as exc:
            self.fail("Starting the build", exc, retry=self.action_start)
            return
        self.wizard.session = name
        self.attach(name)

    def attach(self, name: str) -> None:
        self.session = name
        self.wizard.session = name
        self.add_class("following")
        self.refresh_bindings()
        self.show_status(f"{name}: reading its events...")
        if self.wizard.choices.mode == "native" or self._mode(name) == "native":
            for artifact in ("kernel", "ramdisk"):
                self.query_one(f"#row-{artifact}").display = False
        warning = sessionlink.linger_warning()
        if warning:
            self.query_one("#build-log", Log).write_line(f"warning: {warning}")
        self.query_one("#build-log", Log).focus()
        self.follow_log(name)

    def _mode(self, name: str) -> str:
        try:
            return sessionlink.session_mode(name)
        except (WizardError, OSError):
            return ""

    @work(thread=True, exclusive=True, exit_on_error=False, group="follow")
    def follow_log(self, name: str) -> None:
        """Read the event log and fold it into the view, off the UI's thread.

        However fast events come (a replay of hours of history, a flood of
        progress), the screen gets one ``BuildUpdate`` a tick, with at most
        ``BATCH_EVENTS`` events folded into it, and keys are answered
        between them.
        """
        worker = get_current_worker()
        try:
            follower = sessionlink.EventFollower(name)
        except WizardError as exc:
            self.post_message(WorkFailed("Following the build", exc))
            return
        view = BuildView()
        backlog: list[Stamped] = []
        taken = 0  # events of the backlog folded so far
        was_running: bool | None = None
        next_post = 0.0  # updates are POLL_SECONDS apart at least
        while not worker.is_cancelled:
            tick = time.monotonic()
            try:
                # The lock first: a build seen gone has written its last line.
                running = sessionlink.running_pid(name) is not None
                if taken >= len(backlog):
                    backlog, taken = follower.poll(final=not running), 0
                lines: list[str] = []
                first = taken
                while taken < len(backlog) and taken - first < BATCH_EVENTS:
                    stamp = backlog[taken]
                    lines += view.apply(stamp.seq, stamp.ts, stamp.event)
                    taken += 1
                    if (taken - first) % YIELD_EVERY == 0:
                        time.sleep(0)  # let the UI's thread have the GIL for a key
            except WizardError as exc:
                self.post_message(WorkFailed("Reading the build's event log", exc))
                return
            caught_up = taken >= len(backlog) and not follower.behind
            if taken > first or running != was_running:
                if worker.cancelled_event.wait(max(0.0, next_post - time.monotonic())):
                    return
                failure = view.failure
                self.post_message(BuildUpdate(
                    lines, view.rows_shown(), view.status_words(), running,
                    None if failure is None else Failure(failure.step, failure.message,
                                                         failure.fix, failure.key),
                    dict(view.ids), view.finished, caught_up, taken - first,
                    time.monotonic()))
                next_post = time.monotonic() + POLL_SECONDS
                was_running = running
            # Poll no faster than a tick; with more to fold, fold it while the
            # update just posted is drawn (the next waits for next_post anyway).
            if caught_up:
                worker.cancelled_event.wait(max(0.0, POLL_SECONDS - (time.monotonic() - tick)))

    @on(BuildUpdate)
    def update_view(self, update: BuildUpdate) -> None:
        self.running = update.running
        if update.lines:
            self.query_one("#build-log", Log).write_lines(update.lines)
        for artifact, row in update.rows.items():
            self.query_one(f"#row-{artifact}", ImageRowView).show(row)
        if not self.reported:
            state = "running" if update.running else "not running"
            if not update.caught_up:
                state = "reading its history"
            self.show_status(f"{self.session}: {state} · {update.status}")
        if update.caught_up:
            self.check_end(update)

    def show_status(self, text: str) -> None:
        if text != self._status:
            self._status = text
            self.query_one("#status", Static).update(text, layout=False)  # always one line

    @on(WorkFailed)
    def follow_failed(self, message: WorkFailed) -> None:
        self.fail(message.what, message.error, message.key)

    def check_end(self, update: BuildUpdate) -> None:
        if self.reported or self.session is None:
            return
        name = self.session
        if update.finished:
            self.reported = True
            from wizard.tui.screens.done import DoneScreen

            self.app.push_screen(DoneScreen(name, dict(update.ids)))
        elif update.failure is not None and not update.running and (
                self.cancelled or update.status.startswith("interrupted")):
            self.reported = True
            self.show_status(
                f"{name}: stopped at {update.failure.step}. Resume: Esc, then r on Start")
        elif update.failure is not None and not update.running:
            self.reported = True
            failure = update.failure
            log = self.query_one("#build-log", Log)
            tail = [str(line) for line in log.lines[-LOG_TAIL:]]

            def retry() -> None:
                self.reported = False
                sessionlink.resume_build(name)

            self.wizard.show_error(f"The build's step {failure.step}",
                                   WizardError(failure.message, failure.fix), failure.key,
                                   retry, tail, Path(sessionlink.files(name).log))

    # -- keys ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers Start before the build, Cancel and the log after."""
        if action == "start":
            return self.session is None
        if action in ("cancel", "full_log"):
            return self.session is not None
        return True

    def action_cancel(self) -> None:
        if self.session is None or not self.running:
            self.notify("No build is running.")
            return
        name = self.session

        def answered(stop: bool | None) -> None:
            if stop:
                self.cancelled = True
                try:
                    stopped = sessionlink.stop_build(name)
                except WizardError as exc:
                    self.fail("Stopping the build", exc)
                    return
                self.notify("Stopping the build..." if stopped else "The build had ended.")

        self.app.push_screen(ConfirmCancel(), answered)

    def action_full_log(self) -> None:
        if self.session is None:
            return
        from wizard.tui.screens.error import LogScreen

        try:
            self.app.push_screen(LogScreen(sessionlink.files(self.session).log))
        except WizardError as exc:
            self.fail("Opening the log", exc)

    @on(Input.Submitted)
    def typed(self) -> None:
        self.action_start()

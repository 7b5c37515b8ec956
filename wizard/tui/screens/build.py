"""Build: the session's build, run detached, followed from its event log.

Before the build: its name, bucket and architecture, then Ctrl+G starts it
(checked as an answers file, saved as a session, started in its own
process). Then a row each for the kernel, the ramdisk and the image
(bundling and uploading with bytes, parts, rate and time left from the
events' timestamps; the registration and the wait for ``available``), and
a log view. The screen polls the event log on a timer and redraws at most
five times a second however fast events come. Leaving the screen or
quitting leaves the build running; Cancel asks, then stops it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Log, ProgressBar, Static
from textual.worker import get_current_worker

from wizard.core.errors import WizardError
from wizard.tui import sessionlink
from wizard.tui.base import WizardScreen
from wizard.tui.buildview import ARTIFACT_TITLES, ARTIFACTS, BuildView, Failure, RowShow
from wizard.tui.messages import WorkFailed

POLL_SECONDS = 0.2
LOG_TAIL = 12
YIELD_EVERY = 256


@dataclass
class BuildUpdate(Message):
    """One tick of the follower: new log lines and the view as it now stands."""

    lines: list[str]
    rows: dict[str, RowShow]
    status: str
    running: bool
    failure: Failure | None
    ids: dict[str, str]
    finished: bool


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
                         "resumed later from the Start screen. (y/n)")
        yield Footer()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ImageRowView(Vertical):
    """One image: a title line with its registration, a bar for bundle and upload."""

    DEFAULT_CSS = """
    ImageRowView { height: 3; }
    ImageRowView .line { height: 1; }
    ImageRowView .line > Label { width: 9; padding: 0 1 0 2; }
    ImageRowView .line > ProgressBar { width: 17; }
    ImageRowView .line > ProgressBar > Bar { width: 16; }
    ImageRowView .line > .figures { width: 1fr; padding: 0 0 0 1; }
    ImageRowView .head { text-style: bold; padding: 0 1; }
    """

    def __init__(self, artifact: str, title: str) -> None:
        super().__init__(id=f"row-{artifact}")
        self.artifact = artifact
        self.title = title

    def compose(self) -> Iterable[Widget]:
        yield Static(self.title, classes="head", id=f"{self.artifact}-head")
        for kind in ("bundle", "upload"):
            with Horizontal(classes="line"):
                yield Label(kind)
                yield ProgressBar(total=None, show_eta=False, show_percentage=False,
                                  id=f"{self.artifact}-{kind}-bar")
                yield Static("waiting", id=f"{self.artifact}-{kind}-text", classes="figures")

    def show(self, row: RowShow) -> None:
        self.query_one(f"#{self.artifact}-head", Static).update(row.head)
        for kind, transfer in (("bundle", row.bundle), ("upload", row.upload)):
            bar = self.query_one(f"#{self.artifact}-{kind}-bar", ProgressBar)
            if transfer.total:
                bar.update(total=transfer.total, progress=transfer.done)
            elif transfer.state == "done":
                bar.update(total=1, progress=1)
            self.query_one(f"#{self.artifact}-{kind}-text", Static).update(transfer.text)


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
    BuildScreen #summary { padding: 0 1; height: auto; }
    BuildScreen #progress { height: auto; display: none; }
    BuildScreen.following #progress { display: block; }
    BuildScreen.following #form { display: none; }
    BuildScreen #build-log { height: 1fr; }
    """

    def __init__(self, session: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.running = False
        self.reported = False
        # Cancel was asked for here: the stop that follows is no error.
        self.cancelled = False

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
            yield Static("", id="summary")
        with Vertical(id="progress"):
            yield Static("", id="status")
            for artifact in ARTIFACTS:
                yield ImageRowView(artifact, ARTIFACT_TITLES[artifact])
        yield Log(max_lines=20000, id="build-log")

    def on_mount(self) -> None:
        if self.session is not None:
            self.attach(self.session)
        else:
            self.show_summary()
            self.query_one("#name", Input).focus()

    def sandbox_ready(self) -> None:
        if self.session is None:
            c = self.wizard.choices
            self.query_one("#name", Input).value = c.name or c.default_name()
            self.query_one("#bucket", Input).value = c.bucket
            self.show_summary()

    def show_summary(self) -> None:
        c = self.wizard.choices
        lines = [f"Recipe {c.mode}; credentials from {c.source}"
                 + (f" {c.eucarc}" if c.source == "eucarc" else ""),
                 f"Disk image: {c.disk or '(not chosen)'}"]
        if c.mode == "memdisk":
            lines.append(f"memdisk: {c.memdisk or c.syslinux_source or '(not chosen)'}")
            lines.append(f"Floppy: {c.floppy or '(not chosen)'}")
        lines.append("Ctrl+G starts the build. It runs in its own process: leaving this "
                     "screen or the wizard does not stop it.")
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
        if self.wizard.choices.mode == "native" or self._native(name):
            for artifact in ("kernel", "ramdisk"):
                self.query_one(f"#row-{artifact}").display = False
        warning = sessionlink.linger_warning()
        if warning:
            self.query_one("#build-log", Log).write_line(f"warning: {warning}")
        self.query_one("#build-log", Log).focus()
        self.follow_log(name)

    def _native(self, name: str) -> bool:
        try:
            return any(s.name == name and s.mode == "native"
                       for s in sessionlink.saved_sessions())
        except WizardError:
            return False

    @work(thread=True, exclusive=True, exit_on_error=False, group="follow")
    def follow_log(self, name: str) -> None:
        """Read the event log and fold it into the view, off the UI's thread.

        However fast events come (a replay of hours of history, a flood of
        progress), the screen gets one ``BuildUpdate`` a tick, and keys are
        answered between them.
        """
        worker = get_current_worker()
        try:
            follower = sessionlink.EventFollower(name)
        except WizardError as exc:
            self.post_message(WorkFailed("Following the build", exc))
            return
        view = BuildView()
        was_running: bool | None = None
        while not worker.is_cancelled:
            tick = time.monotonic()
            try:
                # The lock first: a build seen gone has written its last line.
                running = sessionlink.running_pid(name) is not None
                lines: list[str] = []
                stamps = follower.poll(final=not running)
                for number, stamp in enumerate(stamps, 1):
                    lines += view.apply(stamp.seq, stamp.ts, stamp.event)
                    if number % YIELD_EVERY == 0:
                        time.sleep(0)  # let the UI's thread have the GIL for a key
            except WizardError as exc:
                self.post_message(WorkFailed("Reading the build's event log", exc))
                return
            if stamps or running != was_running:
                failure = view.failure
                self.post_message(BuildUpdate(
                    lines, view.rows_shown(), view.status_words(), running,
                    None if failure is None else Failure(failure.step, failure.message,
                                                         failure.fix, failure.key),
                    dict(view.ids), view.finished))
                was_running = running
            if follower.behind:
                continue  # more history on disk: read on at once
            worker.cancelled_event.wait(max(0.0, POLL_SECONDS - (time.monotonic() - tick)))

    @on(BuildUpdate)
    def update_view(self, update: BuildUpdate) -> None:
        self.running = update.running
        if update.lines:
            self.query_one("#build-log", Log).write_lines(update.lines)
        for artifact, row in update.rows.items():
            self.query_one(f"#row-{artifact}", ImageRowView).show(row)
        state = "running" if update.running else "not running"
        self.query_one("#status", Static).update(
            f"Session {self.session}: {state}. {update.status}")
        self.check_end(update)

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
        elif update.failure is not None and not update.running and self.cancelled:
            self.reported = True
            self.query_one("#status", Static).update(
                f"Session {name}: stopped at {update.failure.step}. Resume it from the Start "
                "screen (Esc, then r): it goes on from what is done.")
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

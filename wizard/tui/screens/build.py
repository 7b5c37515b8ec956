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

from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Log, ProgressBar, Static

from wizard.core.errors import WizardError
from wizard.tui import sessionlink
from wizard.tui.base import WizardScreen
from wizard.tui.buildview import ARTIFACTS, BuildView, Transfer

POLL_SECONDS = 0.2
LOG_TAIL = 12


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
    ImageRowView .line > Label { width: 8; padding: 0 0 0 2; }
    ImageRowView .line > ProgressBar { width: 26; }
    ImageRowView .line > ProgressBar > Bar { width: 16; }
    ImageRowView .line > Static { width: 1fr; }
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
                yield ProgressBar(total=None, show_eta=False, id=f"{self.artifact}-{kind}-bar")
                yield Static("waiting", id=f"{self.artifact}-{kind}-text")

    def show(self, head: str, bundle: Transfer, upload: Transfer) -> None:
        self.query_one(f"#{self.artifact}-head", Static).update(head)
        for kind, transfer in (("bundle", bundle), ("upload", upload)):
            bar = self.query_one(f"#{self.artifact}-{kind}-bar", ProgressBar)
            if transfer.total:
                bar.update(total=transfer.total, progress=transfer.done)
            elif transfer.state == "done":
                bar.update(total=1, progress=1)
            self.query_one(f"#{self.artifact}-{kind}-text", Static).update(
                transfer.describe())


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
        self.view = BuildView()
        self.follower: sessionlink.EventFollower | None = None
        self.pending_lines: list[str] = []
        self.running = False
        self.reported = False

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
                yield ImageRowView(artifact, self.view.rows[artifact].title)
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
        if self.wizard.choices.mode == "native" or (name and self._native(name)):
            for artifact in ("kernel", "ramdisk"):
                self.query_one(f"#row-{artifact}").display = False
        try:
            self.follower = sessionlink.EventFollower(name)
        except WizardError as exc:
            self.fail("Following the build", exc)
            return
        warning = sessionlink.linger_warning()
        if warning:
            self.pending_lines.append(f"warning: {warning}")
        self.query_one("#build-log", Log).focus()
        self.poll()
        self.set_interval(POLL_SECONDS, self.poll)

    def _native(self, name: str) -> bool:
        try:
            return any(s.name == name and s.mode == "native"
                       for s in sessionlink.saved_sessions())
        except WizardError:
            return False

    def poll(self) -> None:
        """Fold what the event log gained into the view; one redraw per tick."""
        if self.follower is None or self.session is None:
            return
        try:
            stamps = self.follower.poll()
            self.running = sessionlink.running_pid(self.session) is not None
        except WizardError as exc:
            self.fail("Reading the build's event log", exc)
            self.follower = None
            return
        for stamp in stamps:
            self.pending_lines += self.view.apply(stamp.seq, stamp.ts, stamp.event)
        if self.pending_lines:
            self.query_one("#build-log", Log).write_lines(self.pending_lines)
            self.pending_lines = []
        self.redraw()
        self.check_end()

    def redraw(self) -> None:
        view = self.view
        for artifact in ARTIFACTS:
            row = view.rows[artifact]
            head = f"{row.title}: {row.register}"
            self.query_one(f"#row-{artifact}", ImageRowView).show(head, row.bundle, row.upload)
        others = "  ".join(f"{step} {state}" for step, state in view.other_steps.items())
        state = "running" if self.running else "not running"
        now = f"  now: {view.current}" + (f" ({view.phase})" if view.phase else "") \
            if view.current and self.running else ""
        self.query_one("#status", Static).update(
            f"Session {self.session}: {state}.{now}  {others}")

    def check_end(self) -> None:
        if self.reported or self.session is None:
            return
        view = self.view
        if view.finished:
            self.reported = True
            from wizard.tui.screens.done import DoneScreen

            self.app.push_screen(DoneScreen(self.session, dict(view.ids)))
        elif view.failure is not None and not self.running:
            self.reported = True
            failure = view.failure
            name = self.session
            log = self.query_one("#build-log", Log)
            tail = [str(line) for line in log.lines[-LOG_TAIL:]]
            try:
                log_file = sessionlink.files(name).log
            except WizardError:
                log_file = None

            def retry() -> None:
                self.reported = False
                sessionlink.resume_build(name)

            self.wizard.show_error(f"The build's step {failure.step}",
                                   WizardError(failure.message, failure.fix), failure.key,
                                   retry, tail, log_file)

    # -- keys ----------------------------------------------------------------
    def action_cancel(self) -> None:
        if self.session is None or not self.running:
            self.notify("No build is running.")
            return
        name = self.session

        def answered(stop: bool | None) -> None:
            if stop:
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

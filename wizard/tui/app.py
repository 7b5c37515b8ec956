"""The wizard's App and its one factory, ``make_app``, used by the CLI and the tests.

The app holds what the screens share: the operator's ``Choices``, the
sandbox (``--sandbox``), and the screen order. It opens on the Start screen,
or straight on the Build screen of a build that is running (relaunched over
SSH after a drop). SIGHUP ends it cleanly (Textual does not handle it): the
build runs in its own process and goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from wizard import PROGRAM
from wizard.core.errors import Cancelled, WizardError, interrupted
from wizard.core.logs import FILE_ONLY, get_logger
from wizard.tui import sessionlink
from wizard.tui.base import WizardScreen
from wizard.tui.choices import Choices, field_for
from wizard.tui.sandbox_host import SandboxHost, start_sandbox_process

log = get_logger(__name__)

CSS = """
Screen { layout: vertical; }
.title { background: $primary; color: $text; text-style: bold; width: 100%; height: 1;
         padding: 0 1; }
.hint { color: $text-muted; padding: 0 1; height: auto; }
.section { text-style: bold; padding: 0 1; }
#status { padding: 0 1; height: auto; }
"""


class SandboxReady(Message):
    """The sandbox serves; its eucarc and samples fill the choices."""


class ConfirmQuit(ModalScreen[bool]):
    """Ctrl+Q with a build running: say that it goes on, then quit or stay."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Quit, the build goes on", id="quit.yes"),
        Binding("n,escape", "answer(False)", "Stay", id="quit.no"),
    ]
    DEFAULT_CSS = """
    ConfirmQuit { align: center middle; }
    ConfirmQuit > Vertical { width: 70; height: auto; border: thick $warning;
                             background: $surface; padding: 1 2; }
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text, id="quit-text")
        yield Footer()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class WizardApp(App[int]):
    """The euca-windows-wizard TUI."""

    TITLE = "euca-windows-wizard"
    CSS = CSS
    # Every key is in the footer and in each screen's F1 help: no palette to learn.
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(self, *, sandbox: bool = False, sandbox_folder: Path | None = None,
                 choices: Choices | None = None, attach: str | None = None,
                 open_running: bool = True) -> None:
        super().__init__()
        self.sandbox_mode = sandbox
        self.sandbox_folder = sandbox_folder
        self.sandbox: SandboxHost | None = None
        self.choices = choices or Choices()
        self.attach_to = attach
        self.open_running = open_running
        # The session whose build this wizard started or follows.
        self.session: str | None = None
        self.hung_up = False
        # The signals this app handles, and the line a signal that ended it leaves.
        self._caught: list[int] = []
        self.stop_line: str | None = None
        # The run's log file (the CLI's), named in the one line a crash leaves.
        self.log_file: Path | None = None
        self.crash_line: str | None = None
        # The last inspection of the disk image (the floppy screen names its files).
        self.disk_report: Any = None

    # -- start and stop -------------------------------------------------------
    def on_mount(self) -> None:
        self._catch_signals()
        name = self.attach_to or (self._running_session() if self.open_running else None)
        from wizard.tui.screens.start import StartScreen

        self.push_screen(StartScreen())
        if name is not None:
            self.follow(name)
        if self.sandbox_mode:
            self.start_sandbox()
        self.preload()

    @work(thread=True, exit_on_error=False, group="preload")
    def preload(self) -> None:
        """Import the later screens (and the engine under them) while the operator reads."""
        from wizard.tui.screens import import_all

        import_all()

    def _catch_signals(self) -> None:
        """SIGHUP (the terminal is gone: an SSH drop) and SIGTERM end the wizard the way
        Ctrl+Q does, the terminal given back. Textual handles neither: left alone, each
        kills the process with the terminal in raw mode and reporting the mouse.

        Windows has neither signal. Python runs signal handlers in the main thread
        only, so an app run in another thread leaves them alone, as it leaves a signal
        someone chose to ignore (``nohup`` ignores SIGHUP).
        """
        if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue
            loop.add_signal_handler(signum, self.stopped_by, signal.Signals(signum).name)
            self._caught.append(signum)
        self._guard_resume()

    def _guard_resume(self) -> None:
        """A hang-up is SIGHUP and then SIGCONT, both from the kernel. Textual's SIGCONT
        handler starts application mode again (a new output thread, the screen sent
        anew) and, on a terminal that is gone, it does so (``isatty`` is False there,
        which it takes for "not a terminal, carry on"), racing the shutdown the SIGHUP
        began: the wizard was seen (py-spy) waiting for ever to queue output for an
        output thread that was no longer the one reading. So SIGCONT reaches Textual
        only while the terminal that was there at the start still is.
        """
        passed_on = signal.getsignal(signal.SIGCONT)
        terminals = [fd for fd in (0, 1, 2) if os.isatty(fd)]
        if not callable(passed_on) or not terminals:
            return

        def on_continue(signum: int, frame: Any) -> None:
            if all(os.isatty(fd) for fd in terminals):
                passed_on(signum, frame)

        signal.signal(signal.SIGCONT, on_continue)

    def _release_signals(self) -> None:
        """The loop's handlers go with the app (a later app in one process, the tests)."""
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            for signum in self._caught:
                loop.remove_signal_handler(signum)
        self._caught.clear()

    def on_unmount(self) -> None:
        self._release_signals()

    def stopped_by(self, name: str) -> None:
        """SIGHUP or SIGTERM: leave now; a build is another process and goes on."""
        self.hung_up = name == "SIGHUP"
        goes_on = (f"; the build {self.session} goes on" if self.build_running() else "")
        stop = Cancelled(interrupted(name, f"the wizard ended{goes_on}"),
                         f"start `{PROGRAM}` again to follow it" if goes_on
                         else f"start `{PROGRAM}` again")
        log.warning("%s", stop.one_line())
        self.stop_line = stop.one_line()
        self.exit(1, return_code=1)

    def _running_session(self) -> str | None:
        """The most recently active session whose build holds its lock."""
        try:
            running = sessionlink.running_sessions()
        except (WizardError, OSError):
            return None
        return running[0] if running else None

    @work(thread=True, exclusive=True, exit_on_error=False, group="sandbox")
    def start_sandbox(self) -> None:
        try:
            host = start_sandbox_process(self.sandbox_folder)
        except WizardError as exc:
            self.call_from_thread(self.show_error, "Starting the sandbox cloud", exc, None)
            return
        self.sandbox = host
        self.post_message(SandboxReady())

    @on(SandboxReady)
    def fill_from_sandbox(self) -> None:
        host = self.sandbox
        if host is None:
            return
        c = self.choices
        c.source = "eucarc"
        c.eucarc = c.eucarc or str(host.eucarc)
        c.disk = c.disk or str(host.disk)
        c.floppy = c.floppy or str(host.floppy)
        if not c.memdisk and host.sample_memdisk.is_file():
            c.memdisk = str(host.sample_memdisk)
        c.name = c.name or "sandbox-sample"
        c.bucket = c.bucket or "sandbox-images"
        c.vm = c.vm or "winxp"
        for screen in self.screen_stack:
            if isinstance(screen, WizardScreen):
                screen.sandbox_ready()

    def build_running(self) -> bool:
        if self.session is None:
            return False
        try:
            return sessionlink.running_pid(self.session) is not None
        except WizardError:
            return False

    async def action_quit(self) -> None:
        if not self.build_running():
            self.exit(0)
            return
        text = (f"The build {self.session} is running in its own process and goes on "
                f"after you quit.\nFollow it again with `{PROGRAM}` "
                f"(or `{PROGRAM} attach {self.session}`).\n\nQuit the wizard? (y/n)")

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.exit(0)

        self.push_screen(ConfirmQuit(text), answered)

    def stop_sandbox_unless_needed(self) -> None:
        """At exit: the sandbox stays up only while a build or another wizard needs it
        (and then ends by itself once neither does: ``sandbox_host``)."""
        if self.sandbox is not None:
            self.sandbox.leave()

    def _fatal_error(self) -> None:
        """A bug reached the app: the traceback goes to the log file, the operator
        gets one line pointing there (Textual would print the traceback)."""
        error = self._exception
        log.error("unexpected failure in the wizard", exc_info=error, extra=FILE_ONLY)
        detail = " ".join(str(error).split())[:300]
        where = (f"The full report is in {self.log_file}" if self.log_file
                 else "The full report is in the log file")
        self.crash_line = (f"{PROGRAM}: error: unexpected {type(error).__name__}"
                           f"{': ' + detail if detail else ''}. {where}; please attach it "
                           "to a bug report.")
        self.bell()
        self._close_messages_no_wait()

    # -- moving between screens ----------------------------------------------
    def make_screen(self, name: str) -> WizardScreen:
        from wizard.tui.screens import screen_class

        return screen_class(name)()

    def advance(self, current: str) -> None:
        """Open the screen after ``current`` in the recipe's order."""
        screens = self.choices.screens()
        if current not in screens or current == screens[-1]:
            return
        following = screens[screens.index(current) + 1]
        if following == "done":
            return  # reached only when the build ends
        if following == "build" and self.build_running():
            assert self.session is not None
            self.follow(self.session)  # back to the build this wizard started, not a second
            return
        self.push_screen(self.make_screen(following))

    def go_to(self, name: str, field_id: str | None = None) -> None:
        """Back to the screen ``name`` (opened if it is not in the stack), focusing a field."""
        names = [getattr(s, "NAME", None) for s in self.screen_stack]
        if name in names:
            while getattr(self.screen, "NAME", None) != name:
                self.pop_screen()
        else:
            self.push_screen(self.make_screen(name))
        if field_id is not None:
            self.call_after_refresh(self._focus_field, name, field_id)

    def _focus_field(self, name: str, field_id: str) -> None:
        screen = self.screen
        if isinstance(screen, WizardScreen) and name == screen.NAME:
            screen.focus_field(field_id)

    def follow(self, name: str) -> None:
        """Open the Build screen on session ``name`` (its history, then live)."""
        from wizard.tui.screens.build import BuildScreen

        self.session = name
        self.push_screen(BuildScreen(session=name))

    def show_error(self, what: str, error: WizardError, key: str | None = None,
                   retry: Callable[[], None] | None = None,
                   log_lines: list[str] | None = None, log_file: Path | None = None) -> None:
        from wizard.tui.screens.error import ErrorScreen

        self.push_screen(ErrorScreen(what, error, key, retry, log_lines or [], log_file,
                                     field_for(key)))


def make_app(*, sandbox: bool = False, sandbox_folder: Path | None = None,
             choices: Choices | None = None, attach: str | None = None,
             open_running: bool = True) -> WizardApp:
    """The wizard, for the CLI and the tests alike.

    ``sandbox``: run the embedded sandbox cloud for the app's life (in its
    own process, see ``sandbox_host``) and fill in its sample inputs.
    ``attach``: open on this session's Build screen. ``open_running``: open
    on the Build screen of a running build if there is one.
    """
    return WizardApp(sandbox=sandbox, sandbox_folder=sandbox_folder, choices=choices,
                     attach=attach, open_running=open_running)


def run_app(sandbox: bool = False, log_file: Path | None = None) -> int:
    """Run the wizard in this terminal until the operator quits (or the link drops)."""
    app = make_app(sandbox=sandbox)
    app.log_file = log_file
    try:
        app.run()
    except OSError:
        # The terminal vanished under us (SSH drop) while Textual restored it.
        if not app.hung_up:
            raise
    finally:
        app.stop_sandbox_unless_needed()
    line = app.crash_line or (f"{PROGRAM}: error: {app.stop_line}" if app.stop_line else None)
    if line:
        with contextlib.suppress(OSError, ValueError):
            print(line, file=sys.stderr)
    return app.return_code or 0

"""memdisk: the one this system has, or one compiled from a syslinux tarball
or folder (make's output live in a log view), or a file picked; then verified.

The log view is shown only once make runs: before, a line says what the
other choices are and where make's output will appear.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, Log, Static

from wizard.core.dirs import make_dirs, state_dir
from wizard.core.errors import WizardError
from wizard.core.events import Event, LogLine
from wizard.memdisk.build import build_memdisk
from wizard.memdisk.find import find_memdisk
from wizard.memdisk.verify import verify_memdisk
from wizard.tui.base import WizardScreen
from wizard.tui.messages import MemdiskReady, WorkFailed
from wizard.tui.pickers import pick_into

# How the engine's message of a failed make goes on with make's last lines.
LAST_LINES = "; its last lines: "

# make and gcc colour their output; Textual's Log shows escapes as text.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class LineBuffer:
    """Lines from a worker thread, taken by the screen on its own timer (batched)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []

    def add(self, line: str) -> None:
        with self._lock:
            self._lines.append(_ANSI.sub("", line))

    def take(self) -> list[str]:
        with self._lock:
            lines, self._lines = self._lines, []
        return lines


class MemdiskScreen(WizardScreen):
    NAME = "memdisk"
    TITLE = "memdisk (the kernel)"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "pick", "Pick file", id="memdisk.pick"),
        Binding("ctrl+b", "compile", "Compile", id="memdisk.compile"),
        Binding("ctrl+r", "verify", "Verify", id="memdisk.verify"),
        Binding("ctrl+n", "next", "Next", id="memdisk.next"),
    ]
    DEFAULT_CSS = """
    MemdiskScreen #make-log { display: none; }
    MemdiskScreen #make-log.shown { display: block; }
    MemdiskScreen #choices { margin-top: 1; }
    """

    def body(self) -> Iterable[Widget]:
        with Horizontal(classes="row"):
            yield Label("memdisk")
            yield Input(self.wizard.choices.memdisk or self.wizard.choices.syslinux_source,
                        id="memdisk-path",
                        placeholder="memdisk file, or a syslinux tarball/folder to compile")
        yield Static("", id="found", classes="hint")
        yield Static("", id="status")
        yield Static("Other choices: Ctrl+O picks a memdisk file, or a syslinux release (a "
                     "tarball or its unpacked folder): Enter, then Ctrl+B compiles memdisk "
                     "from it, and make's output appears here.", id="choices",
                     classes="hint")
        yield Log(max_lines=5000, id="make-log")

    def on_mount(self) -> None:
        self.buffer = LineBuffer()
        self.set_interval(0.1, self.flush)
        self.query_one("#memdisk-path", Input).focus()
        found = find_memdisk()
        if found is not None:
            self.query_one("#found", Static).update(
                f"Found on this system: {found.path} ({found.describe()})")
            if not self.wizard.choices.memdisk and not self.wizard.choices.syslinux_source:
                self.wizard.choices.memdisk = str(found.path)
                self.query_one("#memdisk-path", Input).value = str(found.path)
        else:
            self.query_one("#found", Static).update(
                "This system has no memdisk: pick one, or a syslinux tarball or folder "
                "and press Ctrl+B to compile it.")
        if self.wizard.choices.memdisk:
            self.action_verify()

    def sandbox_ready(self) -> None:
        if self.wizard.choices.memdisk:
            self.query_one("#memdisk-path", Input).value = self.wizard.choices.memdisk
            self.action_verify()

    def flush(self) -> None:
        lines = self.buffer.take()
        if lines:
            self.query_one("#make-log", Log).write_lines(lines)

    def action_pick(self) -> None:
        pick_into(self.query_one("#memdisk-path", Input), "Choose memdisk or a syslinux source")

    def _path(self) -> Path:
        return Path(self.query_one("#memdisk-path", Input).value.strip()).expanduser()

    @on(Input.Submitted, "#memdisk-path")
    def action_verify(self) -> None:
        path = self._path()
        if path.is_dir() or path.name.endswith((".tar.gz", ".tgz", ".tar.xz", ".tar.bz2",
                                                ".tar")):
            self.wizard.choices.syslinux_source, self.wizard.choices.memdisk = str(path), ""
            self.query_one("#status", Static).update(
                "A syslinux source: Ctrl+B compiles memdisk from it.")
            return
        self.wizard.choices.memdisk, self.wizard.choices.syslinux_source = str(path), ""
        self.query_one("#make-log").remove_class("shown")
        self.query_one("#choices").display = True
        self.verify(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="memdisk")
    def verify(self, path: Path) -> None:
        try:
            info = verify_memdisk(path)
        except WizardError as exc:
            self.post_message(WorkFailed("Verifying memdisk", exc, "build.memdisk"))
            return
        self.post_message(MemdiskReady(info))

    def action_compile(self) -> None:
        source = self._path()
        if not str(source).strip(".") or not source.exists():
            self.query_one("#status", Static).update(
                "Type the path of a syslinux tarball or folder first (or Ctrl+O).")
            return
        self.query_one("#status", Static).update(f"Compiling memdisk from {source}...")
        log = self.query_one("#make-log", Log)
        log.clear()
        log.border_title = f"make's output ({source.name})"
        log.add_class("shown")
        self.query_one("#choices").display = False
        self.compile(source, state_dir() / "work" / "memdisk")

    @work(thread=True, exclusive=True, exit_on_error=False, group="memdisk")
    def compile(self, source: Path, out: Path) -> None:
        def sink(event: Event) -> None:
            if isinstance(event, LogLine):
                self.buffer.add(event.text)

        try:
            make_dirs(out.parent)
            info = build_memdisk(source, out, sink=sink)
        except OSError as exc:
            error = WizardError(f"cannot create {out.parent} ({exc.strerror})",
                                "check that the state folder is writable")
            self.post_message(WorkFailed("Compiling memdisk", error))
            return
        except WizardError as exc:
            self.post_message(WorkFailed("Compiling memdisk", exc, "build.syslinux_source"))
            return
        self.post_message(MemdiskReady(info))

    @on(MemdiskReady)
    def ready(self, message: MemdiskReady) -> None:
        self.flush()
        info = message.info
        self.wizard.choices.memdisk, self.wizard.choices.syslinux_source = str(info.path), ""
        self.query_one("#memdisk-path", Input).value = str(info.path)
        made = " (compiled just now)" if self.query_one("#make-log").has_class("shown") else ""
        self.query_one("#status", Static).update(
            f"Verified: {info.describe()}{made}. Ctrl+N goes on.")

    @on(WorkFailed)
    def failed(self, message: WorkFailed) -> None:
        self.flush()  # make's last lines are in the log before the status says so
        fix = f" Fix: {message.error.fix}." if message.error.fix else ""
        said = message.error.message
        if self.query_one("#make-log").has_class("shown") and LAST_LINES in said:
            # make's last lines are in the log just below: not twice.
            said = said.split(LAST_LINES, 1)[0] + " (make's output is below)"
        self.query_one("#status", Static).update(Text(f"{said}.{fix}"))

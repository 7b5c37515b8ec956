"""Disk image: pick it, see the inspection (format, partitions, NTFS, boot
files, BOOT.INI's ARC paths, the Windows generation and architecture),
convert it to raw with progress when it is not raw.

The architecture is read from the disk as ``bundle`` reads it (a 64-bit
Windows has ``\\WINDOWS\\SysWOW64``) and becomes the Build screen's default.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import humanize
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, ProgressBar, Static

from wizard.core.dirs import state_dir
from wizard.core.errors import WizardError
from wizard.core.events import Event, StepProgress, Throttle
from wizard.disk.convert import convert_to_raw
from wizard.disk.formats import RAW
from wizard.disk.inspect import inspect_disk
from wizard.disk.windows import windows_architecture
from wizard.tui.base import WizardScreen
from wizard.tui.messages import DiskInspected, Done, Progress, WorkFailed
from wizard.tui.pickers import pick_into


class DiskScreen(WizardScreen):
    NAME = "disk"
    TITLE = "Disk image"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "pick", "Pick image", id="disk.pick"),
        Binding("ctrl+t", "convert", "Convert to raw", id="disk.convert"),
        Binding("ctrl+n", "next", "Next", id="disk.next"),
    ]
    DEFAULT_CSS = """
    DiskScreen #report { height: 1fr; padding: 0 1; }
    DiskScreen #convert { display: none; padding: 0 1; }
    DiskScreen #convert.shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.report: Any = None

    def body(self) -> Iterable[Widget]:
        with Horizontal(classes="row"):
            yield Label("Disk image")
            yield Input(self.wizard.choices.disk, id="disk-path",
                        placeholder="the Windows disk image (Ctrl+O to pick)")
        yield ProgressBar(total=None, show_eta=False, id="convert")
        with VerticalScroll(id="report"):
            yield Static("", id="inspection")
        yield Static("", id="status")

    def on_mount(self) -> None:
        self.query_one("#disk-path", Input).focus()
        if self.wizard.choices.disk:
            self.reinspect()

    def sandbox_ready(self) -> None:
        self.query_one("#disk-path", Input).value = self.wizard.choices.disk
        self.reinspect()

    def action_pick(self) -> None:
        pick_into(self.query_one("#disk-path", Input), "Choose the Windows disk image")

    @on(Input.Submitted, "#disk-path")
    def typed(self) -> None:
        self.wizard.choices.disk = self.query_one("#disk-path", Input).value.strip()
        self.reinspect()

    def reinspect(self) -> None:
        c = self.wizard.choices
        if not c.disk:
            return
        self.query_one("#status", Static).update("Inspecting...")
        self.inspect(Path(c.disk), c.mode)

    @work(thread=True, exclusive=True, exit_on_error=False, group="disk")
    def inspect(self, path: Path, recipe: str) -> None:
        try:
            report = inspect_disk(path, recipe)
        except WizardError as exc:
            self.post_message(WorkFailed("Inspecting the disk image", exc, "build.disk"))
            return
        arch = windows_architecture(path) if report.format == RAW else None
        self.post_message(DiskInspected(report, arch))

    @on(DiskInspected)
    def show(self, message: DiskInspected) -> None:
        report = self.report = message.report
        self.wizard.disk_report = report
        lines = [f"Format:      {report.format}",
                 f"Size:        {humanize.naturalsize(report.size, binary=True)}"]
        for part in report.partitions:
            lines.append(f"Partition {part.number}: type 0x{part.type_id:02x}"
                         f"{' (active)' if part.active else ''}"
                         f"{', NTFS' if part.is_ntfs else ''}, "
                         f"{humanize.naturalsize(part.size, binary=True)}")
        if report.boot_files:
            lines.append("Boot files:  " + ", ".join(sorted(report.boot_files)))
        if report.arc_paths:
            lines.append("BOOT.INI:    " + "; ".join(report.arc_paths))
        if report.format == RAW and report.partitions:
            lines.append("Windows:     " + ("NT 6+ (Vista or later: the native recipe)"
                                          if report.nt6 else "NT 5.x (2000/XP/2003)"))
        lines.append(self._architecture(message.arch))
        lines += [f"Problem:     {p}" for p in report.problems]
        lines += [f"Warning:     {w}" for w in report.warnings]
        # Wrapped under the values, not under the labels (13 columns).
        width = max(40, self.app.size.width - 4)
        wrapped = [part for line in lines
                   for part in textwrap.wrap(line, width, subsequent_indent=" " * 13,
                                                 break_on_hyphens=False)]
        self.query_one("#inspection", Static).update(Text("\n".join(wrapped)))
        status = ("Ready: Ctrl+N goes on." if not report.problems else
                  "The image has problems (above).")
        if report.format != RAW:
            status = f"The image is {report.format}: Ctrl+T converts it to raw."
        self.query_one("#status", Static).update(status)

    def _architecture(self, found: Any) -> str:
        """The line saying the architecture read, why, and that the build takes it."""
        c = self.wizard.choices
        if found is None:
            return "Arch:        read once the image is raw"
        if found.arch is None:
            c.arch_reason = ""
            return (f"Arch:        not read ({found.why}): the build uses {c.arch}; "
                    "change it on the Build screen if wrong")
        c.arch, c.arch_reason = found.arch, f"read from the disk: {found.why}"
        return f"Arch:        {found.arch}, the build's default ({found.why})"

    @on(WorkFailed)
    def failed(self, message: WorkFailed) -> None:
        self.query_one("#inspection", Static).update("")
        fix = f" Fix: {message.error.fix}." if message.error.fix else ""
        self.query_one("#status", Static).update(f"{message.error.message}.{fix}")

    def action_convert(self) -> None:
        if self.report is None or self.report.format == RAW:
            self.notify("The image is raw already: nothing to convert.")
            return
        self.query_one("#convert").add_class("shown")
        self.query_one("#status", Static).update("Converting to raw with qemu-img...")
        self.convert(Path(self.wizard.choices.disk))

    @work(thread=True, exclusive=True, exit_on_error=False, group="convert")
    def convert(self, image: Path) -> None:
        def progress(event: Event) -> None:
            if isinstance(event, StepProgress):
                self.post_message(Progress(event.done, event.total))

        throttle = Throttle(progress, per_second=5)

        def sink(event: Event) -> None:
            if isinstance(event, StepProgress):
                throttle(event)

        try:
            raw = convert_to_raw(image, state_dir() / "work", sink=sink)
        except WizardError as exc:
            self.post_message(WorkFailed("Converting the image to raw", exc, "build.disk"))
            return
        self.post_message(Done(str(raw)))

    @on(Progress)
    def converting(self, message: Progress) -> None:
        self.query_one("#convert", ProgressBar).update(total=message.total,
                                                       progress=message.done)

    @on(Done)
    def converted(self, message: Done) -> None:
        self.query_one("#convert").remove_class("shown")
        self.wizard.choices.disk = message.text
        self.query_one("#disk-path", Input).value = message.text
        self.reinspect()

"""Done: the registered ids, prominent, each on its own line with a copy
key for the EMI; how to start an instance (commands broken with `` \\``
continuations so they paste whole); where the session's files are and the
answers file that replays this build.

The native recipe registers the image alone: its Done shows the EMI only.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Static

from wizard import PROGRAM
from wizard.core.errors import WizardError
from wizard.tui import sessionlink
from wizard.tui.base import WizardScreen
from wizard.tui.shell import continued

LABELS = (("kernel", "Kernel  (EKI)"), ("ramdisk", "Ramdisk (ERI)"), ("image", "Image   (EMI)"))
# The commands' lines fit 80 columns with the pane's padding and indent.
COMMAND_WIDTH = 74


def run_commands(emi: str, ec2_url: str | None) -> list[str]:
    """How to start an instance from the image, with euca2ools and with the aws
    CLI, each a list of lines that paste as one command."""
    euca = f"euca-run-instances -k KEY -t m1.small {shlex.quote(emi)}"
    words = ["aws", "ec2", "run-instances"]
    if ec2_url:
        words += ["--endpoint-url", shlex.quote(ec2_url)]
    words += ["--image-id", shlex.quote(emi), "--instance-type", "m1.small",
              "--key-name", "KEY"]
    return [euca, "\n".join(continued(words, COMMAND_WIDTH))]


def ids_text(ids: dict[str, str]) -> Text:
    """The ids, one a line with a blank line between, the EMI in reverse video."""
    text = Text()
    shown = [(key, label) for key, label in LABELS if key in ids]
    for number, (key, label) in enumerate(shown):
        if number:
            text.append("\n\n")
        text.append(f"{label}   ")
        style = "bold reverse" if key == "image" else "bold"
        text.append(f" {ids[key]} ", style=style)
        if key == "image":
            text.append("   c copies it")
    if "image" in ids and "kernel" not in ids:
        text.append("\n\nWindows boots natively: no kernel or ramdisk (native recipe).")
    return text


class DoneScreen(WizardScreen):
    NAME = "done"
    TITLE = "Done: the image is registered"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy('image')", "Copy EMI", id="done.copy"),
        Binding("r", "copy('euca')", "Copy euca cmd", id="done.copy_euca"),
        Binding("a", "copy('aws')", "Copy aws cmd", id="done.copy_aws"),
        Binding("s", "start", "Start screen", id="done.start"),
    ]
    DEFAULT_CSS = """
    DoneScreen #ids { border: double $success; padding: 0 2; height: auto; }
    DoneScreen #commands, DoneScreen #files { padding: 0 1; height: auto; margin-top: 1; }
    """

    def __init__(self, session: str, ids: dict[str, str]) -> None:
        super().__init__()
        self.session = session
        self.ids = ids
        self.commands: list[str] = []

    def body(self) -> Iterable[Widget]:
        yield Static(ids_text(self.ids), id="ids")
        emi = self.ids.get("image", "EMI")
        self.commands = run_commands(emi, self._ec2_url())
        lines = ["Start an instance (KEY: your key pair's name):"]
        for command in self.commands:
            lines += [f"  {line}" for line in command.splitlines()]
        yield Static(Text("\n".join(lines)), id="commands")
        try:
            f = sessionlink.files(self.session)
            folder = shlex.quote(str(f.folder))
            where = (f"The session {self.session} keeps its files in this folder:\n"
                     f"  SESSION={folder}\n"
                     f"  {f.log.name}: the build's log; {f.events.name}: its events\n"
                     f"  {f.answers.name}: its answers, to replay it with no screen:\n"
                     f'  {PROGRAM} run --answers "$SESSION/{f.answers.name}"')
        except WizardError as exc:
            where = exc.message
        yield Static(Text(where), id="files")

    def _ec2_url(self) -> str | None:
        """The cloud's EC2 URL, from the eucarc the build used (or the environment)."""
        host = self.wizard.sandbox
        c = self.wizard.choices
        if host is not None:
            eucarc: Path = host.eucarc
        elif c.source == "eucarc" and c.eucarc:
            eucarc = Path(c.eucarc).expanduser()
        else:
            return os.environ.get("EC2_URL") or None
        try:
            text = eucarc.read_text(errors="replace")
        except OSError:
            return None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(("export EC2_URL=", "EC2_URL=")):
                return line.split("=", 1)[1].strip().strip("'\"") or None
        return None

    def action_copy(self, what: str) -> None:
        if what == "image":
            text = self.ids.get("image", "")
        else:
            text = self.commands[0 if what == "euca" else 1] if self.commands else ""
        if not text:
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {text if what == 'image' else 'the command'}.")

    def action_start(self) -> None:
        while len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_back(self) -> None:
        self.action_start()

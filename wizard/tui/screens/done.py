"""Done: the registered ids, large; how to start an instance; where the
session's files are and the answers file that replays this build."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Static

from wizard.core.errors import WizardError
from wizard.tui import sessionlink
from wizard.tui.base import WizardScreen

LABELS = (("kernel", "EKI"), ("ramdisk", "ERI"), ("image", "EMI"))


def run_commands(emi: str, ec2_url: str | None) -> list[str]:
    """How to start an instance from the image, with euca2ools and with the aws CLI."""
    endpoint = f" --endpoint-url {ec2_url}" if ec2_url else ""
    return [f"euca-run-instances -k KEY -t m1.small {emi}",
            f"aws ec2 run-instances{endpoint} --image-id {emi} "
            "--instance-type m1.small --key-name KEY"]


class DoneScreen(WizardScreen):
    NAME = "done"
    TITLE = "Done: the image is registered"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy EMI", id="done.copy"),
        Binding("s", "start", "Start screen", id="done.start"),
    ]
    DEFAULT_CSS = """
    DoneScreen #ids { border: double $success; padding: 0 2; height: auto;
                      text-style: bold; }
    DoneScreen #commands, DoneScreen #files { padding: 0 1; height: auto; margin-top: 1; }
    """

    def __init__(self, session: str, ids: dict[str, str]) -> None:
        super().__init__()
        self.session = session
        self.ids = ids

    def body(self) -> Iterable[Widget]:
        lines = [f"{label}  {self.ids[key]}" for key, label in LABELS if key in self.ids]
        yield Static("\n".join(lines), id="ids")
        emi = self.ids.get("image", "EMI")
        yield Static("Start an instance (KEY: your key pair's name):\n  "
                     + "\n  ".join(run_commands(emi, self._ec2_url())), id="commands")
        try:
            f = sessionlink.files(self.session)
            where = (f"The session's folder: {f.folder}\n"
                     f"  {f.log.name}: the build's log; {f.events.name}: its events\n"
                     f"  {f.answers.name}: this build's answers, to replay it with "
                     f"`euca-windows-wizard run --answers {f.answers.name}`")
        except WizardError as exc:
            where = exc.message
        yield Static(where, id="files")

    def _ec2_url(self) -> str | None:
        host = self.wizard.sandbox
        if host is None:
            return None
        for line in host.eucarc.read_text(errors="replace").splitlines():
            if line.startswith("export EC2_URL="):
                return line.split("=", 1)[1].strip().strip("'\"")
        return None

    def action_copy(self) -> None:
        emi = self.ids.get("image")
        if emi:
            self.app.copy_to_clipboard(emi)
            self.notify(f"Copied {emi}")

    def action_start(self) -> None:
        while len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_back(self) -> None:
        self.action_start()

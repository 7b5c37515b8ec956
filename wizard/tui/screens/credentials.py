"""Credentials: from a eucarc (picked with a file picker), an euca2ools ini
region, or the environment; what was found and where from (the secret key
masked), and a test of both endpoints. The values shown are the ones the
build will use: the engine loads them as it does for the build's answers,
so a variable in the environment that overrides the eucarc shows as such."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, RadioSet, Static

from wizard.core.errors import WizardError
from wizard.prerequisites.checks import check_endpoints
from wizard.tui import sessionlink
from wizard.tui.base import WizardScreen
from wizard.tui.messages import CredentialsFound, EndpointsTested, WorkFailed
from wizard.tui.pickers import pick_into
from wizard.tui.toggles import RadioButton

SOURCES = (("eucarc", "a eucarc file"), ("ini", "~/.euca/*.ini region"),
           ("environment", "the environment"))


class CredentialsScreen(WizardScreen):
    NAME = "credentials"
    TITLE = "Credentials"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "pick", "Pick eucarc", id="credentials.pick"),
        Binding("ctrl+t", "test", "Test endpoints", id="credentials.test"),
        Binding("ctrl+n", "next", "Next", id="credentials.next"),
    ]
    DEFAULT_CSS = """
    CredentialsScreen RadioSet { layout: horizontal; width: 100%; height: 3; }
    CredentialsScreen #found { max-height: 9; }
    """

    def body(self) -> Iterable[Widget]:
        c = self.wizard.choices
        with RadioSet(id="source"):
            for source, label in SOURCES:
                yield RadioButton(label, value=source == c.source, id=f"source-{source}")
        with Horizontal(classes="row"):
            yield Label("eucarc")
            yield Input(c.eucarc, placeholder="path to the eucarc (Ctrl+O to pick)",
                        id="eucarc")
        with Horizontal(classes="row"):
            yield Label("ini region")
            yield Input(c.region, placeholder="region name in ~/.euca/*.ini", id="region")
        yield DataTable(id="found", cursor_type="row", zebra_stripes=True)
        yield Static("", id="status")

    def on_mount(self) -> None:
        self.query_one("#found", DataTable).add_columns("Setting", "Value", "From")
        self.query_one("#eucarc", Input).focus()
        self.reload()

    def sandbox_ready(self) -> None:
        self.query_one("#eucarc", Input).value = self.wizard.choices.eucarc
        self.reload()

    @on(RadioSet.Changed, "#source")
    def source_changed(self, event: RadioSet.Changed) -> None:
        self.wizard.choices.source = (event.pressed.id or "").removeprefix("source-")
        self.reload()

    @on(Input.Submitted, "#eucarc")
    @on(Input.Submitted, "#region")
    def typed(self) -> None:
        self.wizard.choices.eucarc = self.query_one("#eucarc", Input).value.strip()
        self.wizard.choices.region = self.query_one("#region", Input).value.strip()
        self.reload()

    def action_pick(self) -> None:
        pick_into(self.query_one("#eucarc", Input), "Choose the eucarc")

    def reload(self) -> None:
        c = self.wizard.choices
        self.query_one("#status", Static).update("Reading...")
        self.load(c.source, c.eucarc, c.region)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self, source: str, eucarc: str, region: str) -> None:
        try:
            creds = sessionlink.build_credentials(source, eucarc, region)
        except WizardError as exc:
            self.post_message(WorkFailed("Reading the credentials", exc,
                                         "cloud.region" if source == "ini" else "cloud.eucarc"))
            return
        self.post_message(CredentialsFound(creds.describe(), creds.notes))

    @on(CredentialsFound)
    def show(self, message: CredentialsFound) -> None:
        table = self.query_one("#found", DataTable)
        table.clear()
        eucarc = self.wizard.choices.eucarc
        for name, value, source in message.rows:
            if eucarc and eucarc in source:
                source = source.replace(eucarc, Path(eucarc).name)
            table.add_row(name, _tail(value, 40), source[:26])
        missing = [name for name, value, _ in message.rows if value == "(not set)"]
        notes = " ".join(message.notes)
        self.query_one("#status", Static).update(
            (f"Not set: {', '.join(missing)}. " if missing else "") + notes
            + " Ctrl+T tests the endpoints.")

    @on(WorkFailed)
    def failed(self, message: WorkFailed) -> None:
        self.query_one("#found", DataTable).clear()
        fix = f" Fix: {message.error.fix}." if message.error.fix else ""
        self.query_one("#status", Static).update(f"{message.error.message}.{fix}")

    def action_test(self) -> None:
        self.query_one("#status", Static).update("Testing the EC2 and S3 endpoints...")
        c = self.wizard.choices
        self.test(c.source, c.eucarc, c.region)

    @work(thread=True, exclusive=True, exit_on_error=False, group="test")
    def test(self, source: str, eucarc: str, region: str) -> None:
        try:
            rows = check_endpoints(sessionlink.build_credentials(source, eucarc, region))
        except WizardError as exc:
            self.post_message(WorkFailed("Testing the endpoints", exc, "cloud.eucarc"))
            return
        self.post_message(EndpointsTested(rows))

    @on(EndpointsTested)
    def tested(self, message: EndpointsTested) -> None:
        if not message.rows:
            self.query_one("#status", Static).update("No endpoint URL is set: nothing to test.")
            return
        words = []
        for row in message.rows:
            detail = row.value.split(": ", 1)[-1]
            words.append(f"{row.name}: {'answers' if row.ok else 'FAILED'} ({detail})"
                         + (f" Fix: {row.fix}" if row.fix and not row.ok else ""))
        self.query_one("#status", Static).update("\n".join(words))


def _tail(text: str, width: int) -> str:
    """Paths keep their end (the file name), which says most."""
    return text if len(text) <= width else "…" + text[-(width - 1):]

"""Credentials: from a eucarc (typed, or picked with a file picker), an
euca2ools ini region, or the environment; what was found and where from (the
secret key masked), and a test of both endpoints. The values shown are the
ones the build will use: the engine loads them as it does for the build's
answers, so a variable in the environment that overrides the eucarc shows as
such.

What the operator types is theirs: the field is read into the choices at
every key (so the sandbox's sample eucarc, arriving late, never replaces a
half-typed path), and a path that names a file is read once typing pauses,
off the UI's thread, without touching the field or the focus."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, RadioSet, Static

from wizard.core.errors import WizardError
from wizard.credentials import FIELD_TITLES
from wizard.credentials.ini import default_ini_paths, read_ini_files
from wizard.prerequisites.checks import NEEDED_CREDENTIALS, check_endpoints
from wizard.tui import sessionlink
from wizard.tui.base import WizardScreen
from wizard.tui.messages import EndpointsTested, WorkFailed
from wizard.tui.pickers import pick_into
from wizard.tui.toggles import RadioButton

SOURCES = (("eucarc", "a eucarc file"), ("ini", "~/.euca/*.ini region"),
           ("environment", "the environment"))
NOT_SET = "(not set)"
# Typing paused this long (seconds) with a file's path in the field: read it.
READ_AFTER = 0.4


@dataclass
class Found(Message):
    """What the credentials of one reading are (``reading``: newer ones win)."""

    reading: int
    source: str
    eucarc: str
    rows: list[tuple[str, str, str]]
    notes: tuple[str, ...]
    # The [region NAME] sections of ~/.euca/*.ini (read for the ini source only).
    regions: tuple[str, ...] = ()


@dataclass
class NotRead(Message):
    reading: int
    error: WizardError
    key: str


def where_from(source: str) -> str:
    """The engine's source in a few words, once: a eucarc by its file name (the
    field above has the whole path), a variable as the shell writes it."""
    if source.startswith("eucarc "):
        return Path(source.removeprefix("eucarc ")).name
    if source.startswith("environment "):
        return "$" + source.removeprefix("environment ")
    # "~/.euca/lab.ini [user admin]": the source row above says ~/.euca.
    return source.removeprefix("~/.euca/")


def clip_start(text: str, width: int) -> str:
    """A path keeps its end (the file name), which says most."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def clip_end(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def clip_value(text: str, width: int) -> str:
    """A URL keeps its start (scheme, host and port); anything else is a path or short."""
    return clip_end(text, width) if "://" in text else clip_start(text, width)


class CredentialsScreen(WizardScreen):
    NAME = "credentials"
    TITLE = "Credentials"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "pick", "Pick eucarc", id="credentials.pick"),
        Binding("ctrl+t", "test", "Test endpoints", id="credentials.test"),
        Binding("ctrl+n", "next", "Next", id="credentials.next"),
    ]
    DEFAULT_CSS = """
    CredentialsScreen #source-row { height: 1; margin: 1 0; }
    CredentialsScreen #source-row > Label { width: 12; padding: 0 1; }
    CredentialsScreen #source { layout: horizontal; width: 1fr; height: 1; }
    CredentialsScreen #source > RadioButton { width: auto; margin-right: 2; }
    CredentialsScreen #region-row { margin-bottom: 0; }
    CredentialsScreen #found { height: 1fr; max-height: 12; }
    """
    # Rows, the header included (max-height above); a status of up to three lines
    # fits under it at 80x24, a longer one makes the table scroll, not the screen.
    TABLE_HEIGHT = 12
    # Cell widths: the setting's name, where it came from (at most); the value gets the rest.
    SETTING_WIDTH, FROM_WIDTH = 23, 22

    def __init__(self) -> None:
        super().__init__()
        self.reading = 0  # the newest reading of the credentials asked for
        self._typing: Timer | None = None
        # The endpoints' test result and the choices it was for: a reading of the
        # same credentials that ends after it (one started before Ctrl+T, or the
        # sandbox arriving) shows it again instead of wiping it.
        self._tested: tuple[tuple[str, str, str], str] | None = None

    def body(self) -> Iterable[Widget]:
        c = self.wizard.choices
        with Horizontal(id="source-row"):
            yield Label("Source")
            with RadioSet(id="source", compact=True):
                for source, label in SOURCES:
                    yield RadioButton(label, value=source == c.source, id=f"source-{source}",
                                      compact=True)
        with Horizontal(classes="row"):
            yield Label("eucarc")
            yield Input(c.eucarc, placeholder="path to the eucarc (Ctrl+O to pick)",
                        id="eucarc")
        with Horizontal(classes="row", id="region-row"):
            yield Label("ini region")
            yield Input(c.region, placeholder="region name in ~/.euca/*.ini", id="region")
        yield DataTable(id="found", cursor_type="row", zebra_stripes=True)
        yield Static("", id="status")

    def on_mount(self) -> None:
        self.query_one("#eucarc", Input).focus()
        self.reload()

    def sandbox_ready(self) -> None:
        # The app filled the choices only where the operator had typed nothing.
        field = self.query_one("#eucarc", Input)
        if not field.value.strip():
            field.value = self.wizard.choices.eucarc
        self.query_one(f"#source-{self.wizard.choices.source}", RadioButton).value = True
        self.reload()

    @on(RadioSet.Changed, "#source")
    def source_changed(self, event: RadioSet.Changed) -> None:
        source = (event.pressed.id or "").removeprefix("source-")
        if source != self.wizard.choices.source:
            self.wizard.choices.source = source
            self.reload()

    @on(Input.Changed, "#eucarc")
    @on(Input.Changed, "#region")
    def typing(self) -> None:
        """Every key: the choices follow the fields; a pause with a file named reads it."""
        self._read_fields()
        if self._typing is not None:
            self._typing.stop()
        self._typing = self.set_timer(READ_AFTER, self._typing_paused)

    def _typing_paused(self) -> None:
        c = self.wizard.choices
        if c.source == "eucarc" and c.eucarc:
            self.reload(only_a_file=True)
        elif c.source == "ini":
            self.reload()

    @on(Input.Submitted, "#eucarc")
    @on(Input.Submitted, "#region")
    def typed(self) -> None:
        self._read_fields()
        self.reload()

    def _read_fields(self) -> None:
        self.wizard.choices.eucarc = self.query_one("#eucarc", Input).value.strip()
        self.wizard.choices.region = self.query_one("#region", Input).value.strip()

    def action_pick(self) -> None:
        pick_into(self.query_one("#eucarc", Input), "Choose the eucarc")

    def reload(self, only_a_file: bool = False) -> None:
        c = self.wizard.choices
        self.reading += 1
        if not only_a_file:
            self.query_one("#status", Static).update("Reading...")
        self.load(self.reading, c.source, c.eucarc, c.region, only_a_file)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self, reading: int, source: str, eucarc: str, region: str,
             only_a_file: bool) -> None:
        if only_a_file and not Path(eucarc).expanduser().is_file():
            return  # a path being typed: Enter reads it and says what is wrong
        try:
            creds = sessionlink.build_credentials(source, eucarc, region)
            regions = tuple(sorted(
                name.split(" ", 1)[1] for name in read_ini_files(default_ini_paths())
                if name.startswith("region ") and " " in name)) if source == "ini" else ()
        except WizardError as exc:
            self.post_message(NotRead(reading, exc,
                                      "cloud.region" if source == "ini" else "cloud.eucarc"))
            return
        self.post_message(Found(reading, source, eucarc, creds.describe(), creds.notes,
                                regions))

    @on(Found)
    def show(self, message: Found) -> None:
        if message.reading != self.reading:
            return  # an older reading, overtaken while it ran
        table = self.query_one("#found", DataTable)
        table.clear(columns=True)
        shown = [(FIELD_TITLES.get(name, name), value, where_from(source) if value != NOT_SET
                  else "-") for name, value, source in message.rows]
        from_width = min(max(len(source) for _, _, source in shown), self.FROM_WIDTH)
        # Three cells padded by one a side, and two columns for a scroll bar if one shows.
        scroll_bar = 2 if len(shown) + 1 > self.TABLE_HEIGHT else 0
        value_width = max(self.size.width - self.SETTING_WIDTH - from_width - 6 - scroll_bar,
                          12)
        table.add_columns("Setting", "Value", "From")
        for title, value, source in shown:
            table.add_row(clip_end(title, self.SETTING_WIDTH), clip_value(value, value_width),
                          clip_start(source, from_width))
        c = self.wizard.choices
        if self._tested is not None and self._tested[0] == (c.source, c.eucarc, c.region):
            self.query_one("#status", Static).update(Text(self._tested[1]))
        else:
            self.query_one("#status", Static).update(Text(self.summary(message)))

    def summary(self, message: Found) -> str:
        """One line: all there, or what the build still needs and where to get it."""
        values = {name: value for name, value, _ in message.rows}
        missing = [name for name in NEEDED_CREDENTIALS if values.get(name, NOT_SET) == NOT_SET]
        notes = "".join(f" {note}." for note in message.notes)
        region = self.wizard.choices.region
        if message.source == "ini" and region and region not in message.regions:
            there = ", ".join(message.regions) or "none"
            return (f"There is no [region {region}] in ~/.euca/*.ini (regions there: {there})."
                    " Fix: type one of those names, or leave the field empty.")
        if not missing:
            return "Everything the build needs is set. Ctrl+T tests the endpoints." + notes
        if len(missing) == len(NEEDED_CREDENTIALS):
            return self.nothing_found(message) + notes
        titles = ", ".join(FIELD_TITLES.get(name, name) for name in missing)
        return (f"Not set: {titles}. Fix: add them to the {self.source_words(message)}, "
                "or choose another source above." + notes)

    def source_words(self, message: Found) -> str:
        if message.source == "eucarc":
            name = Path(message.eucarc).name
            return "eucarc" if name == "eucarc" else f"eucarc {name}"
        return {"ini": "~/.euca/*.ini files", "environment": "environment"}[message.source]

    def nothing_found(self, message: Found) -> str:
        if message.source == "ini":
            if not default_ini_paths():
                return ("No credentials: there is no ~/.euca/*.ini file. Fix: put your "
                        "cloud's euca2ools .ini file in ~/.euca, or choose a eucarc.")
            return ("No credentials in ~/.euca/*.ini. Fix: type the NAME of one of its "
                    "[region NAME] sections, or choose a eucarc.")
        if message.source == "environment":
            return ("No credentials in the environment. Fix: source your eucarc in the "
                    "shell before you start the wizard, or choose the eucarc here.")
        return (f"The eucarc {message.eucarc} sets none of the credentials. Fix: choose the "
                "eucarc of your cloud's credentials zip.")

    @on(NotRead)
    def failed(self, message: NotRead) -> None:
        if message.reading != self.reading:
            return
        self.query_one("#found", DataTable).clear(columns=True)
        fix = f" Fix: {message.error.fix}." if message.error.fix else ""
        said = message.error.message
        self.query_one("#status", Static).update(Text(f"{said[:1].upper()}{said[1:]}.{fix}"))

    @on(WorkFailed)
    def test_failed(self, message: WorkFailed) -> None:
        fix = f" Fix: {message.error.fix}." if message.error.fix else ""
        self.query_one("#status", Static).update(Text(f"{message.error.message}.{fix}"))

    def action_test(self) -> None:
        self._read_fields()
        self.query_one("#status", Static).update("Testing the EC2 and S3 endpoints...")
        c = self.wizard.choices
        self._tested = None
        self.test(c.source, c.eucarc, c.region)

    @work(thread=True, exclusive=True, exit_on_error=False, group="test")
    def test(self, source: str, eucarc: str, region: str) -> None:
        try:
            rows = check_endpoints(sessionlink.build_credentials(source, eucarc, region))
        except WizardError as exc:
            self.post_message(WorkFailed("Testing the endpoints", exc, "cloud.eucarc"))
            return
        self.post_message(EndpointsTested(rows, (source, eucarc, region)))

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
        self._tested = (message.choices, "\n".join(words))
        self.query_one("#status", Static).update(Text(self._tested[1]))

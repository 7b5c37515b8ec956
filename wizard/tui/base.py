"""What every wizard screen has: the SANDBOX banner, a title, F1 help, Esc back.

A screen names itself (``NAME``: its help file in ``assets/help/`` and its
place in ``choices.SCREENS``) and composes its body in ``body()``. Engine
failures reach ``fail()``, which opens the error screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from wizard.core.errors import WizardError
from wizard.tui.choices import Choices
from wizard.tui.sandbox_host import SandboxHost

SANDBOX_BANNER = "SANDBOX: a local test cloud with sample files; nothing leaves this computer"


class Banner(Static):
    """The SANDBOX line on every screen of a ``--sandbox`` wizard (hidden otherwise)."""

    DEFAULT_CSS = """
    Banner { background: $warning; color: $text; text-style: bold; width: 100%;
             height: 1; content-align: center middle; }
    Banner.hidden { display: none; }
    """


class Wizard(Protocol):
    """What screens use of the app (``app.WizardApp``), without importing it."""

    choices: Choices
    sandbox_mode: bool
    sandbox: SandboxHost | None
    session: str | None
    disk_report: Any

    def advance(self, current: str) -> None: ...
    def go_to(self, name: str, field_id: str | None = None) -> None: ...
    def follow(self, name: str) -> None: ...
    def show_error(self, what: str, error: WizardError, key: str | None = None,
                   retry: Callable[[], None] | None = None,
                   log_lines: list[str] | None = None,
                   log_file: Path | None = None) -> None: ...


class WizardScreen(Screen[None]):
    """A screen of the recipe."""

    DEFAULT_CSS = """
    WizardScreen .row { height: 1; margin-bottom: 1; }
    WizardScreen .row > Label { width: 12; padding: 0 1; }
    WizardScreen .row > Input { width: 1fr; height: 1; border: none; padding: 0 1;
                                background: $boost; }
    WizardScreen .row > Input:focus { background: $primary 40%; }
    WizardScreen DataTable { height: auto; max-height: 12; }
    WizardScreen Log { height: 1fr; min-height: 4; border: round $panel; }
    """
    NAME: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="screen.help"),
        Binding("escape", "back", "Back", id="screen.back"),
    ]

    @property
    def wizard(self) -> Wizard:
        return cast(Wizard, self.app)

    def compose(self) -> ComposeResult:
        banner = Banner(SANDBOX_BANNER, id="banner")
        if not self.wizard.sandbox_mode:
            banner.add_class("hidden")
        yield banner
        yield Static(self.heading(), id="title", classes="title")
        yield from self.body()
        yield Footer()

    def heading(self) -> str:
        screens = self.wizard.choices.screens()
        if self.NAME in screens and self.NAME not in ("start", "done"):
            place = screens.index(self.NAME)
            return f"{self.TITLE}  (step {place} of {len(screens) - 2})"
        return self.TITLE

    def body(self) -> Iterable[Widget]:
        return ()

    def action_help(self) -> None:
        from wizard.tui.help import HelpScreen

        self.app.push_screen(HelpScreen(self.NAME))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_next(self) -> None:
        self.wizard.advance(self.NAME)

    def fail(self, what: str, error: WizardError, key: str | None = None,
             retry: Callable[[], None] | None = None) -> None:
        self.wizard.show_error(what, error, key or getattr(error, "key", None), retry)

    def focus_field(self, field_id: str) -> None:
        """Put the cursor on the field asking for an answer (the error screen's Go back)."""
        found = self.query(f"#{field_id}")
        if found:
            found.first().focus()

    def sandbox_ready(self) -> None:
        """The sandbox's sample inputs are known: screens showing them refresh."""

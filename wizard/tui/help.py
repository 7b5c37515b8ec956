"""F1: the current screen's help text from ``assets/help/``, in a modal view."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

from wizard.core.assets import asset_path


def help_text(topic: str) -> str:
    """The Markdown for ``topic`` (a screen's name), or a line saying there is none."""
    path = asset_path("help", f"{topic}.md")
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return f"# {topic}\n\nNo help text for this screen ({path} is missing)."


class HelpScreen(ModalScreen[None]):
    """The help text of one screen; Esc or F1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss", "Close help", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; height: 90%; border: round $accent;
                                  background: $surface; }
    """

    def __init__(self, topic: str) -> None:
        super().__init__()
        self.topic = topic

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(help_text(self.topic), id="help-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

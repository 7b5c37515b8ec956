"""Radio buttons, checkboxes and checklists read without colour (wizard.tui.toggles).

Textual's own draw ``▐●▌`` whether on or off; with NO_COLOR (or a monochrome
terminal) the chosen recipe could not be told from the other. Read off the
screen as drawn, with NO_COLOR set before the app is made and without it:
the one on differs from the one off by its glyph.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import RadioSet

from tests.tui.conftest import here, wait_for
from tests.tui.screen_text import screen_lines, screen_text
from wizard.tui.app import make_app
from wizard.tui.toggles import Checkbox, RadioButton, SelectionList

SIZE = (80, 24)


class Toggles(App[None]):
    def compose(self) -> ComposeResult:
        with RadioSet(id="set"):
            yield RadioButton("alpha", value=True)
            yield RadioButton("beta")
        yield Checkbox("gamma", value=True, id="gamma")
        yield Checkbox("delta", id="delta")
        yield SelectionList[int](("epsilon", 0, True), ("zeta", 1), id="list")


def line_with(app: App[Any], word: str) -> str:
    found = [line for line in screen_lines(app) if word in line]
    assert len(found) == 1, screen_text(app)
    return found[0].strip()


@pytest.mark.parametrize("no_color", [True, False], ids=["NO_COLOR", "colour"])
async def test_on_and_off_differ_by_glyph(no_color: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = Toggles()
    assert app.no_color is no_color
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "(•) alpha" in line_with(app, "alpha")
        assert "( ) beta" in line_with(app, "beta")
        assert "[x] gamma" in line_with(app, "gamma")
        assert "[ ] delta" in line_with(app, "delta")
        assert "[x] epsilon" in line_with(app, "epsilon")
        assert "[ ] zeta" in line_with(app, "zeta")
        # Keys change the glyph: the second radio button, the checkbox, the list's row.
        app.query_one("#set").focus()
        await pilot.press("down", "enter")
        app.query_one("#delta").focus()
        await pilot.press("space")
        app.query_one("#list").focus()
        await pilot.press("down", "space")
        await pilot.pause()
        assert "( ) alpha" in line_with(app, "alpha")
        assert "(•) beta" in line_with(app, "beta")
        assert "[x] delta" in line_with(app, "delta")
        assert "[x] zeta" in line_with(app, "zeta")
        assert app.query_one("#list", SelectionList).selected == [0, 1]
        assert "▐" not in screen_text(app) and "▌" not in screen_text(app)


async def test_start_screen_recipe_choice_reads_without_colour(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert here(app) == "start" and app.no_color
        shown = screen_text(app)
        assert "(•) memdisk" in shown and "( ) native" in shown, shown
        await pilot.press("down", "enter")  # the recipe set has the focus at first
        await wait_for(pilot, lambda: app.choices.mode == "native")
        await wait_for(pilot, lambda: "(•) native" in screen_text(app))
        assert "( ) memdisk" in screen_text(app)

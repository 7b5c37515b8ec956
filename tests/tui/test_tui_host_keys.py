"""Every key of the wizard is named: a binding id and a description, shown in the footer
of every screen with F1 and Ctrl+Q among them (Posting's habit: the footer and the
help explain every key, so nothing is left to guess over SSH)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tests.tui.conftest import INPUT_SCREENS, open_screen
from wizard.tui.app import WizardApp, make_app
from wizard.tui.choices import Choices
from wizard.tui.screens import SCREEN_CLASSES, import_all

SIZE = (80, 24)


def wizard_screens() -> Iterator[type]:
    """Every screen class of the wizard (the recipe's, the error and log screens, the
    modal questions and the help)."""
    import_all()
    # The screens opened otherwise: the help, the Done and the error screens.
    for module in ("wizard.tui.help", "wizard.tui.screens.done", "wizard.tui.screens.error"):
        importlib.import_module(module)

    todo: list[type] = [Screen]
    while todo:
        subclasses: list[type] = todo.pop().__subclasses__()
        for sub in subclasses:
            todo.append(sub)
            if sub.__module__.startswith("wizard."):
                yield sub


def own_bindings(cls: type) -> Iterator[Binding]:
    """The bindings the wizard declares on ``cls`` and its bases (not Textual's own)."""
    for klass in cls.__mro__:
        if klass.__module__.startswith("wizard."):
            for binding in klass.__dict__.get("BINDINGS", []):
                assert isinstance(binding, Binding), f"{klass.__name__}: {binding!r} is a tuple"
                yield binding


def test_every_key_has_an_id_and_a_description() -> None:
    classes: list[type] = [*wizard_screens(), WizardApp]
    assert len(classes) > len(SCREEN_CLASSES)
    for cls in classes:
        for binding in own_bindings(cls):
            assert binding.id, f"{cls.__name__}: {binding.key} has no id"
            assert binding.description, f"{cls.__name__}: {binding.key} has no description"
            # A group's prefix names whose key it is (app.quit, build.start).
            assert "." in binding.id, f"{cls.__name__}: {binding.id} names no owner"


@pytest.mark.parametrize("name", INPUT_SCREENS)
async def test_the_footer_shows_each_screens_keys(name: str) -> None:
    app = make_app(open_running=False, choices=Choices())
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, name)
        screen = app.screen
        assert getattr(screen, "NAME", None) == name
        footer = screen.query_one(Footer)
        shown = {key.description for key in footer.query(FooterKey)}
        assert {"Help", "Back", "Quit"} <= shown, shown
        # Each key the screen itself offers right now is in its footer.
        offered = {b.description for b in own_bindings(type(screen)) if b.show
                   and screen.check_action(b.action.split("(")[0], ()) is True}
        assert offered <= shown, offered - shown

"""The error screen at 80x24: what, why and fix as sentences, the log's last
lines wrapped to the screen (none cut at its edge), and ``g`` to the field
named by the error's key on the input screens."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Log

from tests.tui.conftest import here, text_of
from tests.tui.screen_text import screen_lines
from wizard.core.errors import WizardError
from wizard.tui.app import make_app

SIZE = (80, 24)
LONG = ("image.bundle: FAILED: the disk image /srv/images/windows/xp-professional-sp3/"
        "disk.img changed while it was read (size 8589934592 then 8589935104 bytes)")


async def test_why_fix_and_a_long_last_line_are_readable() -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_error("The build's step image.bundle",
                       WizardError("the disk image changed while it was read",
                                   "stop the VM that uses it, then retry"),
                       "build.disk", retry=lambda: None,
                       log_lines=[f"line {n}" for n in range(40)] + [LONG])
        await pilot.pause()
        assert text_of(app, "#what") == "The build's step image.bundle failed."
        assert text_of(app, "#why") == "Why: the disk image changed while it was read."
        assert text_of(app, "#fix") == "Fix: stop the VM that uses it, then retry."
        assert "g: go to the build.disk field (disk screen)" in text_of(app, "#keys")
        lines = screen_lines(app)
        assert all(len(line) <= 80 for line in lines)
        # The last line whole, wrapped: each of its words is on screen, in order.
        shown = " ".join(line.strip("│ ") for line in lines)
        assert " ".join(LONG.split()) in " ".join(shown.split())
        tail = app.screen.query_one("#tail", Log)
        assert tail.lines[-1].startswith("  ")  # a continued line is indented


@pytest.mark.parametrize(("key", "screen", "field"), [
    ("build.memdisk", "memdisk", "memdisk-path"),
    ("build.syslinux_source", "memdisk", "memdisk-path"),
    ("build.disk", "disk", "disk-path"),
    ("build.floppy", "floppy", "floppy-path"),
])
async def test_g_goes_to_the_field_of_the_errors_key(key: str, screen: str,
                                                     field: str) -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_error("Checking the answers", WizardError("that is wrong", None), key)
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        assert here(app) == screen
        assert isinstance(app.focused, Input) and app.focused.id == field

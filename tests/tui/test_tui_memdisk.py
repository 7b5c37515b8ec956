"""The memdisk screen: no empty log box until make runs; compiling from a
syslinux release folder (real make and nasm) shows make's output live."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import Input, Log

from tests.tui.conftest import text_of, wait_for
from wizard.tui.app import make_app

SIZE = (80, 24)


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("nasm") is None,
                    reason="needs make and nasm")
async def test_the_log_appears_when_make_runs_from_a_folder(tmp_path: Path) -> None:
    from tests.memdisk.syslinux_tree import make_tree

    tree = make_tree(tmp_path / "src")
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(app.make_screen("memdisk"))
        await pilot.pause()
        log = app.screen.query_one("#make-log", Log)
        assert not log.display  # nothing compiles: no box
        assert "make's output appears here" in text_of(app, "#choices")
        app.screen.query_one("#memdisk-path", Input).value = str(tree)
        await pilot.press("enter")
        assert "Ctrl+B compiles" in text_of(app, "#status")
        await pilot.press("ctrl+b")
        assert log.display and log.border_title == "make's output (syslinux-6.04)"
        assert not app.screen.query_one("#choices").display
        await wait_for(pilot, lambda: "Verified" in text_of(app, "#status"), 120)
        assert "(compiled just now)" in text_of(app, "#status")
        assert any("NASM    memdisk" in line for line in log.lines), list(log.lines)
        built = Path(app.choices.memdisk)
        assert built.is_file()
        # Verifying a file again: the log of the compile goes away.
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "compiled" not in text_of(app, "#status"))
        assert not log.display


async def test_compile_with_no_source_says_what_to_type(tmp_path: Path) -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(app.make_screen("memdisk"))
        await pilot.pause()
        app.screen.query_one("#memdisk-path", Input).value = str(tmp_path / "nothing-here")
        await pilot.press("ctrl+b")
        assert "Type the path of a syslinux tarball or folder first" in text_of(app, "#status")
        assert not app.screen.query_one("#make-log", Log).display


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("nasm") is None,
                    reason="needs make and nasm")
async def test_a_failing_make_keeps_its_output_and_says_so_once(tmp_path: Path) -> None:
    from tests.memdisk.syslinux_tree import make_tree

    tree = make_tree(tmp_path / "src", asm="this is not nasm\n")
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(app.make_screen("memdisk"))
        await pilot.pause()
        app.screen.query_one("#memdisk-path", Input).value = str(tree)
        await pilot.press("enter", "ctrl+b")
        await wait_for(pilot, lambda: "make failed" in text_of(app, "#status"), 120)
        status = text_of(app, "#status")
        assert "with exit status 2 (make's output is below). Fix: " in status
        assert "error: parser" not in status  # once, in the log
        log = app.screen.query_one("#make-log", Log)
        assert log.display
        assert any("error: parser: instruction expected" in line for line in log.lines)

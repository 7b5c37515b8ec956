"""The Start screen at 80x24: the recipe on one row, the steps grouped by action
with their status from each session's state file, the saved sessions readable.

Was: step titles cut mid-word with no ellipsis ("…credentials and disk i"),
the sessions' "Updated" column cut to "Updat", one row per engine step (twelve).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.tui.conftest import here, wait_for
from tests.tui.saved_sessions import plant_all
from tests.tui.screen_text import screen_lines, screen_text
from wizard.recipe.plan import step_infos
from wizard.tui.app import make_app
from wizard.tui.screens.start import StepRow, step_rows

SIZE = (80, 24)


def test_steps_grouped_by_action_with_the_engines_statuses() -> None:
    steps = step_infos("memdisk")
    assert [row.title for row in step_rows(steps, {})] == [
        "Prerequisites", "memdisk", "Floppy", "Bundle", "Upload", "Register"]
    assert {row.status for row in step_rows(steps, {})} == {"to do"}
    recorded = {"prerequisites": "done", "memdisk": "done", "floppy": "done",
                "kernel.bundle": "done", "kernel.upload": "done", "kernel.register": "done",
                "ramdisk.bundle": "running"}
    rows = {row.title: row for row in step_rows(steps, recorded)}
    assert rows["Floppy"] == StepRow("Floppy", "done", "Check the boot floppy")
    assert rows["Bundle"] == StepRow("Bundle", "running, 1/3 done",
                                     "Bundle the floppy as the ramdisk")
    assert rows["Upload"].status == "1/3 done"
    assert rows["Upload"].what == "the kernel, the ramdisk, the disk image"
    # No build holds the lock: the step left running died there.
    dead = {row.title: row for row in step_rows(steps, recorded, build_running=False)}
    assert dead["Bundle"].status == "interrupted, 1/3 done"
    done = dict.fromkeys((step.id for step in steps), "done")
    assert {row.status for row in step_rows(steps, done)} == {"done"}
    native = step_rows(step_infos("native"), {"prerequisites": "done",
                                              "image.bundle": "failed"})
    assert [(row.title, row.status) for row in native] == [
        ("Prerequisites", "done"), ("Bundle", "failed"), ("Upload", "to do"),
        ("Register", "to do")]


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    plant_all()


async def test_everything_readable_at_80x24(saved: None) -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        sessions = app.screen.query_one("#sessions", DataTable)
        await wait_for(pilot, lambda: sessions.row_count == 4)
        # Drawn, not only held: a DataTable sizes its columns on its next refresh.
        await wait_for(pilot, lambda: "12 days ago" in screen_text(app))
        lines = screen_lines(app)
        text = screen_text(app)
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        # The recipe choice on one row; every step's title whole.
        assert any("(•) memdisk (any KVM cloud)" in line and "( ) native (Eucalyptus 3/4)"
                   in line for line in lines), text
        for words in ("Prerequisites  to do   Check the tools, credentials and disk image",
                      "memdisk        to do   Get memdisk (the kernel that boots the floppy)",
                      "Upload         to do   the kernel, the ramdisk, the disk image"):
            assert words in text, text
        # The sessions: Name, Recipe, Status, Step, Updated all there; a long name cut with …
        header = next(line for line in lines if "Name" in line and "Updated" in line)
        assert header.split() == ["Name", "Recipe", "Status", "Step", "Updated"]
        assert "windows-server-2003…  memdisk  new" in text, text
        assert "win2012r2             native   failed       image.bundle  5 days ago" in text
        assert "3 days ago" in text and "12 days ago" in text
        assert "▁" not in text and "▔" not in text  # no scroll bar: everything fits


async def test_a_highlighted_session_shows_where_it_got_to(saved: None) -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        sessions = app.screen.query_one("#sessions", DataTable)
        await wait_for(pilot, lambda: sessions.row_count == 4)
        await pilot.press("tab")  # recipe -> sessions (the steps table takes no focus)
        assert app.focused is sessions
        await wait_for(pilot, lambda: "Bundle the floppy as the ramdisk" in screen_text(app))
        text = screen_text(app)
        assert "Where the session winxp-sp3-lab got to (memdisk recipe)" in text
        assert "Bundle         interrupted, 1/3 done  Bundle the floppy as the ramdisk" in text
        assert "Upload         1/3 done               the kernel, the ramdisk, the disk image" \
            in text, text
        await pilot.press("down")  # win2012r2, a native one: its own four steps
        await wait_for(pilot, lambda: "(Windows, HVM)" in screen_text(app))
        text = screen_text(app)
        assert "Where the session win2012r2 got to (native recipe)" in text
        assert "Bundle         failed  Bundle the disk image" in text, text
        assert "Register       to do   Register the disk image (Windows, HVM)" in text
        assert "Floppy" not in text


async def test_native_recipe_with_keys(saved: None) -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        steps = app.screen.query_one("#steps", DataTable)
        await wait_for(pilot, lambda: steps.row_count > 0)  # the recipe read off the UI thread
        assert here(app) == "start"
        await pilot.press("right", "space")  # the recipe row has the focus at first
        await pilot.pause()
        assert app.choices.mode == "native"
        text = screen_text(app)
        assert "The steps of the native recipe" in text
        assert "(•) native" in text and "( ) memdisk" in text
        table = app.screen.query_one("#steps", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == [
            "Prerequisites", "Bundle", "Upload", "Register"]
        await pilot.press("ctrl+n")
        assert here(app) == "prerequisites"
        assert "(step 1 of 4)" in screen_text(app)

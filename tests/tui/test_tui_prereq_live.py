"""The Prerequisites screen's table is live: each row appears as its check is
done (a worker walks the engine's ``iter_checks``), a missing item shows its
fix, Ctrl+R checks again.

The slow check is real: PATH holds only a ``qemu-img`` script that waits for
a file the test creates, so the rows before it are on screen while it runs.
Was: the whole table at once, after the last check had answered.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.tui.conftest import here, text_of, wait_for
from tests.tui.screen_text import screen_text
from wizard.credentials import ENV_NAMES
from wizard.prerequisites.checks import iter_checks, run_checks
from wizard.tui.app import make_app

SIZE = (80, 24)


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No credentials anywhere, a PATH of one folder (returned), an empty state folder."""
    for names in ENV_NAMES.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def slow_qemu_img(folder: Path, gate: Path) -> None:
    """A ``qemu-img`` that answers ``--version`` once ``gate`` exists."""
    script = folder / "qemu-img"
    script.write_text("#!/bin/sh\n"
                      f"while [ ! -e {shlex.quote(str(gate))} ]; do /bin/sleep 0.05; done\n"
                      "echo 'qemu-img version 9.9.9'\n")
    script.chmod(0o755)


def cells(table: DataTable[str]) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def test_iter_checks_yields_the_rows_of_run_checks(bare: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    slow_qemu_img(bare, gate)
    rows = iter_checks("memdisk", work_dir=tmp_path)
    assert next(rows).name == "memdisk"  # one row, before any tool has been asked
    assert [row.name for row in rows] == [row.name for row in run_checks(
        "memdisk", work_dir=tmp_path)][1:]


async def test_rows_appear_one_by_one_and_the_missing_show_their_fix(bare: Path,
                                                                     tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    slow_qemu_img(bare, gate)
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        assert here(app) == "prerequisites"
        table = app.screen.query_one("#checks", DataTable)
        # The tools before qemu-img have answered; qemu-img is still being asked.
        await wait_for(pilot, lambda: any(row[0] == "C compiler" for row in cells(table)))
        await pilot.pause(0.2)
        shown = cells(table)
        assert [row[0] for row in shown] == ["memdisk", "make", "nasm", "C compiler",
                                             "checking…"], shown
        assert "Checking... 4 done" in text_of(app, "#status")
        assert not gate.exists()
        # make is missing (PATH has no make): not needed (a memdisk is installed),
        # shown as such, with the command that installs it.
        make = shown[1]
        assert make[1] == "-" and make[2].startswith("not found"), make
        gate.touch()  # qemu-img answers; everything else follows
        await wait_for(pilot, lambda: "checking…" not in [row[0] for row in cells(table)])
        shown = cells(table)
        rows = {row[0]: row for row in shown}
        assert rows["qemu-img"][1] == "ok" and "9.9.9 at" in rows["qemu-img"][2]
        assert rows["access key id"][1] == "FAIL"  # no credentials anywhere
        assert "needed item(s) missing" in text_of(app, "#status")
        # The first missing needed item is highlighted, its fix below.
        assert shown[table.cursor_row][0] == "access key id"
        assert "Fix: set EC2_ACCESS_KEY" in text_of(app, "#fix"), text_of(app, "#fix")
        table.move_cursor(row=1)
        await pilot.pause()
        assert text_of(app, "#fix").startswith("make: not found")
        assert text_of(app, "#fix").endswith("install make")  # the distribution's command
        assert all(len(line) <= 80 for line in screen_text(app).splitlines())

        # Ctrl+R: a new round, the old rows gone; qemu-img answers at once now.
        os.unlink(gate)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert [row[0] for row in cells(table)][-1] == "checking…"
        await wait_for(pilot, lambda: any(row[0] == "C compiler" for row in cells(table)))
        await pilot.pause(0.2)
        assert [row[0] for row in cells(table)] == ["memdisk", "make", "nasm", "C compiler",
                                                    "checking…"]
        gate.touch()
        await wait_for(pilot, lambda: "checking…" not in [row[0] for row in cells(table)])
        assert len(cells(table)) == len(shown)

"""The Floppy screen at 80x24 with real floppies (mtools, tests/floppy/images.py):
every check's finding and fix readable on screen, failures first; the
commands shown so they paste whole and run as meant in a real shell; the
checklist's state readable without colour."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, TabbedContent

from tests.floppy.images import build_floppy
from tests.tui.conftest import here, text_of, wait_for
from tests.tui.screen_text import screen_lines, screen_text
from wizard.core.errors import WizardError
from wizard.floppy.verify import FORMAT_FIX
from wizard.tui.app import WizardApp, make_app
from wizard.tui.toggles import SelectionList

SIZE = (80, 24)
needs_mtools = pytest.mark.skipif(shutil.which("mformat") is None, reason="needs mtools")


def flat(text: str) -> str:
    """Text with its line breaks and runs of spaces made single spaces (wrapped = unwrapped)."""
    return " ".join(text.split())


def on_screen(app: WizardApp) -> str:
    """What the screen shows, the panes' borders left out, wrapping undone."""
    return flat(" ".join(line.strip("│▊▎ ") for line in screen_lines(app)))


async def open_floppy(pilot, floppy: Path, vm: str = "winxp-vm") -> None:
    app = pilot.app
    app.push_screen(app.make_screen("floppy"))
    await pilot.pause()
    app.screen.query_one("#floppy-path", Input).value = str(floppy)
    app.screen.query_one("#vm", Input).value = vm
    await pilot.press("enter")
    await pilot.pause()


async def verify(pilot) -> DataTable[str]:
    await pilot.press("ctrl+r")
    checks: DataTable[str] = pilot.app.screen.query_one("#checks", DataTable)
    await wait_for(pilot, lambda: checks.row_count > 0 and "Verifying" not in
                   text_of(pilot.app, "#status"))
    return checks


async def test_a_blank_floppys_failure_and_whole_fix_are_on_screen(tmp_path: Path) -> None:
    floppy = tmp_path / "boot.img"
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await open_floppy(pilot, floppy)
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: floppy.exists())
        checks = await verify(pilot)
        assert app.screen.query_one("#floppy-tabs", TabbedContent).active == "verify-tab"
        # The failure first, its result in words, then what was not checked.
        assert [str(cell) for cell in checks.get_row_at(0)] == ["✗ FAIL", "Formatted"]
        assert str(checks.get_row_at(1)[0]) == "- not checked"
        shown = on_screen(app)
        assert "✗ FAIL: Formatted" in shown
        assert "Found: the image is blank (all zeros): it was never formatted" in shown
        assert f"Fix: {flat(FORMAT_FIX)}" in shown  # whole: it was cut at the edge
        assert "1 check failed" in text_of(app, "#status")
        assert "Verify: 1 failed" in screen_text(app)
        assert all(len(line) <= 80 for line in screen_lines(app))


@needs_mtools
async def test_missing_ntldr_its_fix_and_the_others_by_arrow(tmp_path: Path) -> None:
    floppy = build_floppy(tmp_path / "no-ntldr.img", ntldr=False)
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await open_floppy(pilot, floppy)
        checks = await verify(pilot)
        assert [str(cell) for cell in checks.get_row_at(0)] == ["✗ FAIL", "NTLDR"]
        shown = on_screen(app)
        assert "Found: not in the floppy's root folder" in shown
        assert "Fix: in Windows: attrib -h -s -r C:\\NTLDR, then copy C:\\NTLDR A:\\" in shown
        # The passes follow; Down shows the next check's finding in full.
        assert app.focused is checks
        await pilot.press("down")
        assert str(checks.get_row_at(1)[0]) == "✓ pass"
        assert f"✓ pass: {checks.get_row_at(1)[1]}" in on_screen(app)
        assert "Fix:" not in text_of(app, "#check-detail")


@needs_mtools
async def test_a_ready_floppy_says_so(tmp_path: Path) -> None:
    floppy = build_floppy(tmp_path / "ready.img")
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await open_floppy(pilot, floppy)
        checks = await verify(pilot)
        assert {str(checks.get_row_at(i)[0]) for i in range(checks.row_count)} == {"✓ pass"}
        assert "The floppy is ready" in text_of(app, "#status")
        assert "Verify: ready" in screen_text(app)


def run_in_shell(lines: str, tool: str, folder: Path, sh: str = "sh") -> list[list[str]]:
    """Run pasted lines in a real shell, with ``tool`` a function that records
    its arguments one per line: what each command would have been given."""
    folder.mkdir(exist_ok=True)
    record = folder / "argv"
    script = (f'{tool}() {{ printf "%s\\n" "$@" >> {record}; printf "==\\n" >> {record}; }}\n'
              + lines + "\n")
    subprocess.run([sh, "-c", script], check=True)
    calls = record.read_text().split("==\n")
    return [call.splitlines() for call in calls if call]


async def test_the_commands_paste_whole_and_quoted(tmp_path: Path) -> None:
    """A path with a space and a quote: FLOPPY=... first, the command says
    "$FLOPPY"; Ctrl+Y copies them, and a real shell gives virsh the path whole."""
    folder = tmp_path / "it's my floppies"
    folder.mkdir()
    floppy = folder / "boot.img"
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await open_floppy(pilot, floppy, vm="win xp")
        commands = text_of(app, "#commands").splitlines()
        assert commands[0].startswith("FLOPPY=")
        assert commands[1] == "virsh attach-disk 'win xp' \"$FLOPPY\" fda --type floppy --config"
        assert commands[2] == "virsh start 'win xp'"
        # On screen each command is one line, never broken at the edge.
        lines = [line.strip() for line in screen_lines(app)]
        assert commands[1] in lines and commands[2] in lines
        await pilot.press("ctrl+y")
        assert app.clipboard == "\n".join(commands)
        calls = run_in_shell(app.clipboard, "virsh", tmp_path / "attach")
        assert calls == [["attach-disk", "win xp", str(floppy), "fda", "--type", "floppy",
                          "--config"], ["start", "win xp"]]
        # The last step: the verify command, pasted, names the same image.
        checklist = app.screen.query_one("#checklist", SelectionList)
        checklist.focus()
        await pilot.press("end")
        await pilot.pause()
        await pilot.press("ctrl+y")
        # bash: a function's name may have "-" there (the program's name).
        calls = run_in_shell(app.clipboard, "euca-windows-wizard", tmp_path / "verify",
                             sh="bash")
        assert calls[-1] == ["floppy", "verify", str(floppy)]


async def test_the_checklist_shows_its_ticks_without_colour(tmp_path: Path) -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await open_floppy(pilot, tmp_path / "boot.img")
        checklist = app.screen.query_one("#checklist", SelectionList)
        checklist.focus()
        await pilot.pause()
        await pilot.press("down", "space")
        assert checklist.selected == [1]
        rows = [line for line in screen_lines(app) if line.startswith(("[x]", "[ ]"))]
        assert [row[:3] for row in rows] == ["[ ]", "[x]", "[ ]", "[ ]", "[ ]"]
        assert "Step 2 of 5: Format the floppy in Windows" in screen_text(app)
        # Ticks survive a change of the VM's name (the checklist is rebuilt)...
        app.screen.query_one("#vm", Input).focus()
        await pilot.press("x", "enter")
        assert checklist.selected == [1]
        # ... and leaving the screen: Esc, then back.
        await pilot.press("escape")
        assert here(app) == "start"
        await open_floppy(pilot, tmp_path / "boot.img")
        assert app.screen.query_one("#checklist", SelectionList).selected == [1]


@pytest.mark.parametrize(("key", "field"), [("build.floppy", "floppy-path"), ("build.vm", "vm")])
async def test_the_error_screen_goes_to_the_floppy_fields(key: str, field: str) -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_error("Checking the floppy", WizardError("no such VM", "name the VM"), key)
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        assert here(app) == "floppy"
        assert isinstance(app.focused, Input) and app.focused.id == field


FIXED = Path("/tmp/euca-windows-wizard-snapshots-floppy")


@pytest.fixture
def fixed_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.rmtree(FIXED, ignore_errors=True)
    FIXED.mkdir(parents=True)
    monkeypatch.setenv("XDG_STATE_HOME", str(FIXED / "state"))
    yield FIXED
    shutil.rmtree(FIXED, ignore_errors=True)


@needs_mtools
def test_floppy_screen_with_a_failing_check(snap_compare, fixed_state: Path) -> None:
    floppy = build_floppy(fixed_state / "boot.img", ntldr=False)
    app = make_app(open_running=False)

    async def before(pilot) -> None:
        await pilot.pause()
        await open_floppy(pilot, floppy, vm="winxp")
        await verify(pilot)
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)

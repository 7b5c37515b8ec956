"""The wizard's screens driven with keys at 80x24, against a real sandbox cloud.

Each screen calls the real engine (checks, credentials, the disk inspection,
memdisk, the floppy): nothing is mocked. The build itself is in
test_tui_build.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Log, Markdown, SelectionList

from tests.tui.conftest import INPUT_SCREENS, here, open_screen, text_of, wait_for
from wizard.core.errors import WizardError
from wizard.tui.app import WizardApp, make_app
from wizard.tui.choices import Choices
from wizard.tui.help import HelpScreen

SIZE = (80, 24)


def sandbox_app(host) -> WizardApp:
    return make_app(sandbox=True, sandbox_folder=host.folder, open_running=False)


async def test_no_sandbox_has_no_banner() -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert here(app) == "start"
        assert not app.screen.query_one("#banner").display


async def test_walk_every_screen_with_keys(sandbox_host) -> None:
    """Start -> Prerequisites -> Credentials -> Disk -> memdisk -> Floppy -> Build,
    each showing the engine's findings for the sandbox's samples, the banner on all."""
    app = sandbox_app(sandbox_host)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.sandbox is not None)
        assert app.screen.query_one("#banner").display
        assert app.choices.eucarc == str(sandbox_host.eucarc)

        await pilot.press("ctrl+n")
        assert here(app) == "prerequisites"
        table = app.screen.query_one("#checks", DataTable)
        await wait_for(pilot, lambda: "Checking" not in text_of(app, "#status"))  # all done
        rows = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[1])
                for i in range(table.row_count)}
        assert rows["access key id"] == "ok"
        assert rows["secret key"] == "ok"

        await pilot.press("ctrl+n")
        assert here(app) == "credentials"
        found = app.screen.query_one("#found", DataTable)
        await wait_for(pilot, lambda: found.row_count > 0)
        values = {str(found.get_row_at(i)[0]): str(found.get_row_at(i)[1])
                  for i in range(found.row_count)}
        assert values["access key id"] == sandbox_host_access_key(sandbox_host)
        assert values["secret key"] != sandbox_host_secret(sandbox_host)
        assert "…" in values["secret key"]  # masked
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "S3 endpoint:" in text_of(app, "#status"))
        assert "EC2 endpoint: answers" in text_of(app, "#status")
        assert "S3 endpoint: answers" in text_of(app, "#status")

        await pilot.press("ctrl+n")
        assert here(app) == "disk"
        await wait_for(pilot, lambda: "Format" in text_of(app, "#inspection"))
        report = text_of(app, "#inspection")
        assert "raw" in report and "NTFS" in report and "NT 5.x" in report

        await pilot.press("ctrl+n")
        assert here(app) == "memdisk"
        await wait_for(pilot, lambda: "Verified" in text_of(app, "#status"))

        await pilot.press("ctrl+n")
        assert here(app) == "floppy"
        checklist = app.screen.query_one("#checklist", SelectionList)
        assert checklist.option_count >= 3
        await pilot.press("ctrl+r")
        checks = app.screen.query_one("#checks", DataTable)
        await wait_for(pilot, lambda: checks.row_count > 5)
        results = {str(checks.get_row_at(i)[1]): str(checks.get_row_at(i)[0])
                   for i in range(checks.row_count)}
        assert results["Boot code loads NTLDR"] == "✓ pass"

        await pilot.press("ctrl+n")
        assert here(app) == "build"
        assert "Ctrl+G starts the build" in text_of(app, "#summary")
        assert app.screen.query_one("#banner").display

        # Esc walks back the same way, to Start, and no further.
        for name in ("floppy", "memdisk", "disk", "credentials", "prerequisites", "start",
                     "start"):
            await pilot.press("escape")
            assert here(app) == name


def sandbox_host_access_key(host) -> str:
    return _eucarc_value(host.eucarc, "EC2_ACCESS_KEY")


def sandbox_host_secret(host) -> str:
    return _eucarc_value(host.eucarc, "EC2_SECRET_KEY")


def _eucarc_value(path: Path, name: str) -> str:
    for line in path.read_text().splitlines():
        if line.startswith(f"export {name}="):
            return line.split("=", 1)[1].strip().strip("'\"")
    raise AssertionError(f"{name} not in {path}")


@pytest.mark.parametrize("name", INPUT_SCREENS)
async def test_f1_shows_each_screens_help(name: str) -> None:
    app = make_app(open_running=False, choices=Choices())
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(app, pilot, name)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        markdown = app.screen.query_one("#help-text", Markdown)
        expected = (Path(__file__).resolve().parents[2] / "assets" / "help"
                    / f"{name}.md").read_text()
        assert markdown.source == expected
        await pilot.press("escape")
        assert getattr(app.screen, "NAME", None) == name


async def test_error_screen_goes_to_the_wrong_field() -> None:
    """An error naming build.disk: g opens the Disk screen with its path field focused."""
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(app.make_screen("prerequisites"))
        await pilot.pause()
        app.show_error("The build's step image.bundle",
                       WizardError("the image /x.img does not exist", "choose the disk image"),
                       "build.disk", retry=None, log_lines=["a line", "the last line"])
        await pilot.pause()
        assert here(app) == "error"
        assert "does not exist" in text_of(app, "#why")
        assert "choose the disk image" in text_of(app, "#fix")
        assert "g: go to the build.disk field" in text_of(app, "#keys")
        assert list(app.screen.query_one("#tail", Log).lines) == ["a line", "the last line"]
        await pilot.press("g")
        await pilot.pause()
        assert here(app) == "disk"
        assert isinstance(app.focused, Input) and app.focused.id == "disk-path"
        await pilot.press("escape")  # the disk screen came on top of Prerequisites
        assert here(app) == "prerequisites"


async def test_error_screen_back_and_no_retry_without_one() -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_error("Reading", WizardError("bad", None), None)
        await pilot.pause()
        assert "No fix is known" in text_of(app, "#fix")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "error"
        await pilot.press("escape")
        await pilot.press("r")  # no retry offered: the key does nothing
        assert here(app) == "error"
        await pilot.press("escape")
        assert here(app) == "start"


async def test_ctrl_q_quits_when_no_build_runs() -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_a_bug_leaves_one_line_pointing_at_the_log(tmp_path: Path) -> None:
    app = make_app(open_running=False)
    app.log_file = tmp_path / "run.log"
    with pytest.raises(ZeroDivisionError):  # run_test hands the bug on to the test
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.call_later(lambda: 1 / 0)
            await pilot.pause()
    assert app.crash_line == (
        "euca-windows-wizard: error: unexpected ZeroDivisionError: division by zero. "
        f"The full report is in {tmp_path / 'run.log'}; please attach it to a bug report.")
    assert app.return_code == 1


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")
async def test_disk_screen_converts_a_qcow2_to_raw(sandbox_host, tmp_path: Path) -> None:
    qcow2 = tmp_path / "xp.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(sandbox_host.disk),
                    str(qcow2)], check=True)
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(app.make_screen("disk"))
        await pilot.pause()
        field = app.screen.query_one("#disk-path", Input)
        field.value = str(qcow2)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Ctrl+T converts it" in text_of(app, "#status"))
        assert "Format:      qcow2" in text_of(app, "#inspection")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "Format:      raw" in text_of(app, "#inspection"), 60)
        raw = Path(app.choices.disk)
        assert raw.name.endswith(".raw") or raw.suffix != ".qcow2"
        assert raw.read_bytes() == sandbox_host.disk.read_bytes()
        assert field.value == str(raw)


async def test_floppy_screen_blank_then_verify_says_what_to_fix(tmp_path: Path) -> None:
    floppy = tmp_path / "boot.img"
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(app.make_screen("floppy"))
        await pilot.pause()
        app.screen.query_one("#floppy-path", Input).value = str(floppy)
        app.screen.query_one("#vm", Input).value = "winxp-vm"
        await pilot.press("enter")
        checklist = app.screen.query_one("#checklist", SelectionList)
        assert checklist.option_count >= 3
        # The highlighted step's real commands, with this VM and this image.
        assert 'virsh attach-disk winxp-vm "$FLOPPY"' in text_of(app, "#commands")
        assert f"FLOPPY={floppy}" in text_of(app, "#commands")
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: floppy.exists())
        assert floppy.stat().st_size == 1474560
        await pilot.press("ctrl+r")
        checks = app.screen.query_one("#checks", DataTable)
        await wait_for(pilot, lambda: checks.row_count > 0)
        rows = [checks.get_row_at(i) for i in range(checks.row_count)]
        failed = [row for row in rows if str(row[0]) == "✗ FAIL"]
        assert failed and rows[0] == failed[0], rows  # a blank floppy is not formatted yet
        assert "Fix: attach the image" in text_of(app, "#check-detail")  # the fix, whole
        assert "1 check failed" in text_of(app, "#status")
        # The checklist is ticked off by the operator: space toggles a step.
        await pilot.press("shift+tab", "left", "tab")  # the tabs: back to the steps
        assert app.focused is checklist
        await pilot.press("space")
        assert checklist.selected == [0]


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("nasm") is None,
                    reason="needs make and nasm")
async def test_memdisk_screen_compiles_with_makes_output_live(tmp_path: Path) -> None:
    from tests.memdisk.syslinux_tree import make_tarball, make_tree

    tarball = make_tarball(make_tree(tmp_path / "src"), tmp_path / "syslinux-6.04.tar.gz")
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(app.make_screen("memdisk"))
        await pilot.pause()
        app.screen.query_one("#memdisk-path", Input).value = str(tarball)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Ctrl+B compiles" in text_of(app, "#status"))
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: "Verified" in text_of(app, "#status"), 120)
        assert "memdisk 6.04" in text_of(app, "#status")
        lines = [str(line) for line in app.screen.query_one("#make-log", Log).lines]
        assert any("NASM    memdisk" in line for line in lines), lines
        assert not any("\x1b" in line for line in lines)
        built = Path(app.choices.memdisk)
        assert built.is_file() and app.choices.syslinux_source == ""


async def test_error_screen_shows_the_whole_log(tmp_path: Path) -> None:
    log_file = tmp_path / "build.log"
    log_file.write_text("".join(f"line {n}\n" for n in range(1, 501)))
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_error("The build's step image.upload", WizardError("the store refused", None),
                       None, retry=None, log_lines=["line 500"], log_file=log_file)
        await pilot.pause()
        assert "l: the full log" in text_of(app, "#keys")
        await pilot.press("l")
        await pilot.pause()
        assert here(app) == "log"
        lines = list(app.screen.query_one("#full-log", Log).lines)
        assert lines[0] == "line 1" and lines[-1] == "line 500" and len(lines) == 500
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "log"
        await pilot.press("escape", "escape")
        assert here(app) == "error"

"""The Disk screen with the project's NTFS test volumes (tests/disk/images.py):
the architecture read from the disk, and why, shown and taken by the Build
screen's Arch field."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.disk import images
from tests.tui.conftest import text_of, wait_for
from tests.tui.screen_text import screen_lines
from wizard.tui.app import WizardApp, make_app

SIZE = (80, 24)


async def inspect(pilot, disk: Path) -> str:
    """Open the Disk screen on ``disk``; the inspection once shown."""
    app: WizardApp = pilot.app
    app.push_screen(app.make_screen("disk"))
    await pilot.pause()
    app.screen.query_one("#disk-path", Input).value = str(disk)
    await pilot.press("enter")
    await wait_for(pilot, lambda: "Arch:" in text_of(app, "#inspection"))
    return text_of(app, "#inspection")


async def build_screens_arch(pilot) -> str:
    app: WizardApp = pilot.app
    app.push_screen(app.make_screen("build"))
    await pilot.pause()
    return app.screen.query_one("#arch", Input).value


@pytest.mark.parametrize(("volume", "arch", "why"), [
    ("xp_64bit", "x86_64", "partition 1 has \\WINDOWS\\SysWOW64: a 64-bit Windows"),
    ("xp_32bit", "i386", "partition 1 has \\WINDOWS\\system32 and no \\WINDOWS\\SysWOW64: "
                         "a 32-bit Windows"),
])
async def test_the_arch_read_from_the_disk_is_the_builds(volume: str, arch: str, why: str,
                                                          tmp_path: Path) -> None:
    disk = images.windows_disk(tmp_path / volume, images.VOLUMES[volume])
    app = make_app(open_running=False)
    app.choices.arch = "i386" if arch == "x86_64" else "x86_64"  # not what the disk says
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        report = await inspect(pilot, disk)
        assert f"Arch: {arch}, the build's default ({why})" in " ".join(report.split())
        assert app.choices.arch == arch
        assert app.choices.arch_reason == f"read from the disk: {why}"
        assert await build_screens_arch(pilot) == arch


async def test_an_arch_that_cannot_be_read_keeps_the_default_and_says_why(
        tmp_path: Path) -> None:
    # The boot files but no \WINDOWS folder: the architecture is not known.
    disk = images.windows_disk(tmp_path / "xp", images.xp_files(images.SCSI_BOOT_INI, True))
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        report = await inspect(pilot, disk)
        assert ("Arch: not read (no \\WINDOWS\\system32 folder could be read on it): the "
                "build uses i386; change it on the Build screen if wrong") in " ".join(
                    report.split())
        assert app.choices.arch_reason == ""
        assert await build_screens_arch(pilot) == "i386"


FIXED = Path("/tmp/euca-windows-wizard-snapshots-disk")


@pytest.fixture
def fixed_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.rmtree(FIXED, ignore_errors=True)
    monkeypatch.setenv("XDG_STATE_HOME", str(FIXED / "state"))
    yield FIXED
    shutil.rmtree(FIXED, ignore_errors=True)


def test_disk_screen_of_a_64_bit_windows(snap_compare, fixed_state: Path) -> None:
    disk = images.windows_disk(fixed_state / "xp64", images.VOLUMES["xp_64bit"])
    app = make_app(open_running=False)

    async def before(pilot) -> None:
        await pilot.pause()
        await inspect(pilot, disk)
        pilot.app.screen.query_one("#disk-path", Input).cursor_blink = False
        assert all(len(line) <= 80 for line in screen_lines(pilot.app))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)

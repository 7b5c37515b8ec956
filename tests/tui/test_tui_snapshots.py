"""Snapshots of the main screens at 80x24 (SVGs in __snapshots__/; refresh
with ``pytest --snapshot-update`` after a deliberate change and look at them).

Everything shown is fixed: a state folder at a fixed path, an event log with
fixed times (so rates and time left are the same on every run), no
sandbox (its ports and keys are random), no cursor blinking.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.tui.conftest import wait_for
from tests.tui.history import mid_upload, write_history
from wizard.core.errors import WizardError
from wizard.session.lock import BuildLock
from wizard.session.store import SessionPaths, claim_session
from wizard.tui.app import make_app
from wizard.tui.screens.build import Figures
from wizard.tui.screens.done import DoneScreen

FIXED = Path("/tmp/euca-windows-wizard-snapshots")


@pytest.fixture
def fixed_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.rmtree(FIXED, ignore_errors=True)
    monkeypatch.setenv("XDG_STATE_HOME", str(FIXED / "state"))
    yield FIXED
    shutil.rmtree(FIXED, ignore_errors=True)


def no_blink(app) -> None:
    for field in app.screen.query(Input):
        field.cursor_blink = False


def test_start_screen(snap_compare, fixed_state: Path) -> None:
    async def before(pilot) -> None:
        await pilot.pause()
        no_blink(pilot.app)

    assert snap_compare(make_app(open_running=False), terminal_size=(80, 24),
                        run_before=before)


def build_session() -> SessionPaths:
    paths = claim_session("winxp")
    write_history(paths.events, mid_upload())
    return paths


def test_build_screen_mid_upload(snap_compare, fixed_state: Path) -> None:
    paths = build_session()
    app = make_app(open_running=True)  # finds the running build by its lock

    async def before(pilot) -> None:
        await wait_for(pilot, lambda: "part 310/800" in pilot.app.screen.query_one(
            "#image-upload-text", Figures).words)
        await pilot.pause()

    with BuildLock(paths.lock, "winxp"):
        assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_done_screen(snap_compare, fixed_state: Path) -> None:
    claim_session("winxp")
    app = make_app(open_running=False)

    async def before(pilot) -> None:
        await pilot.pause()
        pilot.app.push_screen(DoneScreen("winxp", {"kernel": "eki-4a6b1c2d",
                                                   "ramdisk": "eri-7e8f9a0b",
                                                   "image": "emi-1c2d3e4f"}))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_error_screen(snap_compare, fixed_state: Path) -> None:
    app = make_app(open_running=False)

    async def before(pilot) -> None:
        await pilot.pause()
        pilot.app.show_error(
            "The build's step image.bundle",
            WizardError("the disk image /srv/xp.img changed while it was read",
                        "stop the VM that uses it, then retry"),
            "build.disk", retry=lambda: None,
            log_lines=["image.bundle: Bundle the disk image",
                       "image.bundle: FAILED: the disk image /srv/xp.img changed while "
                       "it was read."])
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)

"""Snapshots of the Build screen beyond the mid-upload one of test_tui_snapshots.py:
the disk image registered and the cloud still preparing it (waiting for
``available``, its id shown), at 80x24. A fixed event history (fixed times,
so the figures are the same on every run) followed while this process holds
the session's lock; refresh with ``--snapshot-update`` and look at the SVG.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.tui.conftest import wait_for
from tests.tui.history import waiting_for_available, write_history
from wizard.session.lock import BuildLock
from wizard.session.store import claim_session
from wizard.tui.app import make_app

FIXED = Path("/tmp/euca-windows-wizard-build-snapshots")


@pytest.fixture
def fixed_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.rmtree(FIXED, ignore_errors=True)
    monkeypatch.setenv("XDG_STATE_HOME", str(FIXED / "state"))
    yield FIXED
    shutil.rmtree(FIXED, ignore_errors=True)


def test_build_screen_waiting_for_available(snap_compare, fixed_state: Path) -> None:
    paths = claim_session("winxp")
    write_history(paths.events, waiting_for_available())
    app = make_app(open_running=True)  # finds the running build by its lock

    async def before(pilot) -> None:
        await wait_for(pilot, lambda: "(pending)" in str(
            pilot.app.screen.query_one("#image-register", Static).content))
        await pilot.pause()

    with BuildLock(paths.lock, "winxp"):
        assert snap_compare(app, terminal_size=(80, 24), run_before=before)

"""Snapshots of Start (with saved sessions), Prerequisites and Credentials at
80x24 (SVGs in __snapshots__/test_tui_start_snapshots/; refresh with
``pytest --snapshot-update`` after a deliberate change, and look at them).

Everything shown is fixed: a state folder and a home at fixed paths, no
credentials from the environment, sessions days old (so "3 days ago" holds),
a eucarc with fixed values, no sandbox (its ports and keys are random). The
Prerequisites rows are this machine's (tool versions, free space) when
checked for real: the snapshot shows fixed rows posted as the screen's own
``CheckRow`` messages, in a round of their own, so the real round's rows are
dropped as stale (what a re-check does to them).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from tests.tui.conftest import wait_for
from tests.tui.saved_sessions import plant_all
from tests.tui.screen_text import screen_text
from wizard.credentials import ENV_NAMES
from wizard.prerequisites.checks import CheckResult
from wizard.tui.app import make_app
from wizard.tui.screens.prerequisites import CheckRow, ChecksFinished, PrerequisitesScreen

FIXED = Path("/tmp/euca-windows-wizard-start-snapshots")
EUCARC = f"""export EC2_URL=http://127.0.0.1:8773/services/compute
export S3_URL=http://127.0.0.1:8773/services/objectstorage
export EC2_ACCESS_KEY=AKIAEXAMPLEFIXED0001
export EC2_SECRET_KEY=fixedsecretkeyfixedsecretkey0001
export EC2_USER_ID=000123456789
export EC2_CERT={FIXED}/creds/euca2-admin-cert.pem
export EC2_PRIVATE_KEY={FIXED}/creds/euca2-admin-pk.pem
export EUCALYPTUS_CERT={FIXED}/creds/cloud-cert.pem
export AWS_DEFAULT_REGION=lab
"""

ROWS = [
    CheckResult("memdisk", True, "memdisk 6.04, boot protocol 2.03, 26792 bytes at "
                "/usr/lib/syslinux/memdisk"),
    CheckResult("make", True, "4.3 at /usr/bin/make", needed=False),
    CheckResult("nasm", False, "not found (only to compile memdisk)", "apt-get install nasm",
                needed=False),
    CheckResult("C compiler", True, "12.2.0 at /usr/bin/cc", needed=False),
    CheckResult("qemu-img", True, "7.2.0 at /usr/bin/qemu-img", needed=False),
    CheckResult("NTFS reader (pytsk3)", True, "The Sleuth Kit 4.15.0", needed=False),
    CheckResult("access key id", True, "AKIAEXAMPLEFIXED0001 (from eucarc /home/op/eucarc)"),
    CheckResult("secret key", True, "fixe…01 (from eucarc /home/op/eucarc)"),
    CheckResult("EC2 (compute) URL", True, "http://127.0.0.1:8773/services/compute (from "
                "eucarc /home/op/eucarc)"),
    CheckResult("S3 (object storage) URL", False, "not set",
                "set S3_URL in the environment or in the eucarc, or put [region] s3-url in "
                "~/.euca/*.ini, or give the S3 (object storage) URL", key="cloud.s3_url"),
]


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.rmtree(FIXED, ignore_errors=True)
    for names in ENV_NAMES.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    (FIXED / "home").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(FIXED / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(FIXED / "state"))
    yield FIXED
    shutil.rmtree(FIXED, ignore_errors=True)


def no_blink(app) -> None:
    for field in app.screen.query(Input):
        field.cursor_blink = False


def test_start_with_saved_sessions(snap_compare, fixed: Path) -> None:
    plant_all()

    async def before(pilot) -> None:
        table = pilot.app.screen.query_one("#sessions", DataTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("tab")  # the sessions list: the steps show where the first got to
        # Drawn, not only held: a DataTable sizes its columns on its next refresh.
        await wait_for(pilot, lambda: "Bundle the floppy as the ramdisk" in screen_text(pilot.app)
                       and "12 days ago" in screen_text(pilot.app))

    assert snap_compare(make_app(open_running=False), terminal_size=(80, 24),
                        run_before=before)


def test_prerequisites_mid_check(snap_compare, fixed: Path) -> None:
    async def before(pilot) -> None:
        await pilot.pause()
        pilot.app.push_screen(pilot.app.make_screen("prerequisites"))
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, PrerequisitesScreen)
        run = screen.new_round()
        for row in ROWS[:6]:
            screen.post_message(CheckRow(run, row))
        table = screen.query_one("#checks", DataTable)
        await wait_for(pilot, lambda: len(screen.rows) == 6)
        await wait_for(pilot, lambda: "The Sleuth Kit 4.15.0" in screen_text(pilot.app)
                       and "checking…" in screen_text(pilot.app))
        assert str(table.get_row_at(6)[0]) == "checking…"

    assert snap_compare(make_app(open_running=False), terminal_size=(80, 24),
                        run_before=before)


def test_prerequisites_with_a_missing_item(snap_compare, fixed: Path) -> None:
    async def before(pilot) -> None:
        await pilot.pause()
        pilot.app.push_screen(pilot.app.make_screen("prerequisites"))
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, PrerequisitesScreen)
        run = screen.new_round()
        for row in ROWS:
            screen.post_message(CheckRow(run, row))
        screen.post_message(ChecksFinished(run))
        await wait_for(pilot, lambda: "missing" in str(screen.query_one("#status", Static).content))
        await wait_for(pilot, lambda: "Fix: set S3_URL" in screen_text(pilot.app)
                       and "AKIAEXAMPLEFIXED0001 (from" in screen_text(pilot.app))

    assert snap_compare(make_app(open_running=False), terminal_size=(80, 24),
                        run_before=before)


def test_credentials_from_a_eucarc(snap_compare, fixed: Path) -> None:
    eucarc = FIXED / "creds" / "eucarc"
    eucarc.parent.mkdir(parents=True)
    eucarc.write_text(EUCARC)

    async def before(pilot) -> None:
        await pilot.pause()
        pilot.app.push_screen(pilot.app.make_screen("credentials"))
        await pilot.pause()
        no_blink(pilot.app)
        field = pilot.app.screen.query_one("#eucarc", Input)
        field.value = str(eucarc)
        await pilot.press("enter")
        table = pilot.app.screen.query_one("#found", DataTable)
        await wait_for(pilot, lambda: table.row_count > 5)
        await wait_for(pilot, lambda: "creds/cloud-cert.pem  eucarc" in screen_text(pilot.app)
                       and "Everything the build needs" in screen_text(pilot.app))

    assert snap_compare(make_app(open_running=False), terminal_size=(80, 24),
                        run_before=before)

"""The native recipe (Eucalyptus 3/4: the disk image alone, platform windows,
HVM) from the wizard, keys only, against the sandbox cloud: Start (the recipe
chosen with the arrow keys) -> Prerequisites -> Credentials -> Disk image ->
Build -> Done, ending with an emi- id and no kernel or ramdisk.

Real processes throughout, as tests/tui/test_tui_build.py: the sandbox cloud
in its own process, the build detached by the engine, followed through its
event log.
"""

from __future__ import annotations

import re

from textual.widgets import RadioSet

from tests.tui.conftest import here, text_of, wait_for
from wizard.cloud.endpoints import cloud_from_credentials
from wizard.session.listing import list_sessions
from wizard.session.state import parse_state
from wizard.session.store import SessionPaths
from wizard.tui import sessionlink
from wizard.tui.app import make_app

SIZE = (80, 24)


async def test_native_recipe_start_to_done_with_keys(sandbox_host) -> None:
    app = make_app(sandbox=True, sandbox_folder=sandbox_host.folder, open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.sandbox is not None)
        assert here(app) == "start"
        assert isinstance(app.focused, RadioSet) and app.focused.id == "recipe"
        await pilot.press("down", "enter")  # the second recipe: native
        await wait_for(pilot, lambda: app.choices.mode == "native")
        for name in ("prerequisites", "credentials", "disk", "build"):
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda n=name: here(app) == n)
        summary = text_of(app, "#summary")
        assert "native" in summary and "Floppy" not in summary and "memdisk " not in summary
        await pilot.press("ctrl+g")
        # The Build screen shows the disk image's row alone.
        await wait_for(pilot, lambda: app.screen.query_one("#row-image").display)
        assert not app.screen.query_one("#row-kernel").display
        assert not app.screen.query_one("#row-ramdisk").display
        await wait_for(pilot, lambda: here(app) in ("done", "error"), seconds=120)
        assert here(app) == "done", text_of(app, "#why") if here(app) == "error" else ""
        ids = text_of(app, "#ids")
        assert re.search(r"emi-[0-9A-Fa-f]{8}", ids), ids
        assert "eki-" not in ids and "eri-" not in ids
        session = app.session
        assert session is not None
    paths = SessionPaths(session)
    assert 'mode = "native"' in paths.answers.read_text()
    state = parse_state(paths.state.read_text(), paths.state, session)
    assert set(state.steps) == {"prerequisites", "image.bundle", "image.upload",
                                "image.register"}
    [summary_row] = [s for s in list_sessions() if s.name == session]
    assert summary_row.status == "done" and set(summary_row.ids) == {"image"}
    # Registered as the native recipe registers: platform windows, HVM, no kernel.
    creds = sessionlink.build_credentials("eucarc", str(sandbox_host.eucarc), "")
    ec2 = cloud_from_credentials(creds, services=("ec2",)).ec2_client()
    image = ec2.describe_images(ImageIds=[summary_row.ids["image"]])["Images"][0]
    assert image.get("Platform") == "windows"
    assert image.get("VirtualizationType") == "hvm"
    assert not image.get("KernelId") and not image.get("RamdiskId")

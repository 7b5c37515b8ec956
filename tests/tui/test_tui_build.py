"""The whole sandbox recipe from the wizard, keys only, to an emi- id; and a
build that goes on when the wizard quits, found again by the next wizard.

Real processes throughout: the sandbox cloud in its own process, the build
detached by the engine (``start_detached``), followed through its event log.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from textual.widgets import DataTable, Input, Log, Static

from tests.tui.conftest import here, text_of, wait_for
from wizard.session.listing import list_sessions
from wizard.session.store import SessionPaths
from wizard.tui import sessionlink
from wizard.tui.app import ConfirmQuit, make_app
from wizard.tui.help import HelpScreen
from wizard.tui.screens.build import Figures

SIZE = (80, 24)


async def walk_to_build(app, pilot) -> None:
    await wait_for(pilot, lambda: app.sandbox is not None)
    for name in ("prerequisites", "credentials", "disk", "memdisk", "floppy", "build"):
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda n=name: here(app) == n)


async def test_sandbox_recipe_start_to_done_with_keys(sandbox_host) -> None:
    app = make_app(sandbox=True, sandbox_folder=sandbox_host.folder, open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_build(app, pilot)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: here(app) == "done", seconds=120)
        ids = text_of(app, "#ids")
        for kind in ("eki", "eri", "emi"):
            assert re.search(rf"\({kind.upper()}\) +{kind}-[0-9A-F]{{8}}", ids), ids
        session = app.session
        assert session is not None
        assert "euca-run-instances -k KEY -t m1.small emi-" in text_of(app, "#commands")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "done"
        await pilot.press("escape")
    paths = SessionPaths(session)
    answers = paths.answers.read_text()
    assert 'mode = "memdisk"' in answers
    secret = next(line for line in sandbox_host.eucarc.read_text().splitlines()
                  if line.startswith("export EC2_SECRET_KEY=")).split("=", 1)[1].strip("'\"")
    for file in (paths.answers, paths.events, paths.state):
        assert secret not in file.read_text()
    [summary] = [s for s in list_sessions() if s.name == session]
    assert summary.status == "done" and summary.ids["image"].startswith("emi-")


async def test_quit_while_building_then_relaunch_into_it(slow_sandbox: Path) -> None:
    first = make_app(sandbox=True, sandbox_folder=slow_sandbox, open_running=False)
    async with first.run_test(size=SIZE) as pilot:
        await walk_to_build(first, pilot)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: "Upload the disk image" in text_of(first, "#status"), 60)
        session = first.session
        assert session is not None
        # Back a screen and on again: the running build's screen, not a second build.
        await pilot.press("escape")
        assert here(first) == "floppy"
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: "Upload the disk image" in text_of(first, "#status"))
        assert getattr(first.screen, "session", None) == session
        assert [s.name for s in list_sessions()] == [session]
        await pilot.press("ctrl+q")
        assert isinstance(first.screen, ConfirmQuit)
        assert "goes on" in text_of(first, "#quit-text")
        await pilot.press("n")  # stay: nothing stopped
        assert here(first) == "build"
        await pilot.press("ctrl+q", "y")
    assert first.return_code == 0
    assert sessionlink.running_pid(session) is not None, "quitting stopped the build"

    second = make_app(sandbox=True, sandbox_folder=slow_sandbox)
    async with second.run_test(size=SIZE) as pilot:
        # Opens on the running build's screen, its history replayed from the start.
        await wait_for(pilot, lambda: here(second) == "build")
        assert second.session == session
        log = second.screen.query_one("#build-log", Log)
        await wait_for(pilot, lambda: any("kernel.bundle" in str(line) for line in log.lines))
        await wait_for(pilot, lambda: str(second.screen.query_one(
            "#kernel-register", Static).content).endswith(" available"))
        assert str(second.screen.query_one("#kernel-register", Static).content).startswith(
            "eki-")
        await wait_for(pilot, lambda: here(second) == "done", seconds=120)
        assert re.search(r"\(EMI\) +emi-", text_of(second, "#ids"))


async def test_cancel_asks_stops_and_start_resumes(slow_sandbox: Path) -> None:
    app = make_app(sandbox=True, sandbox_folder=slow_sandbox, open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_build(app, pilot)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: "Upload the disk image" in text_of(app, "#status"), 60)
        session = app.session
        assert session is not None
        await pilot.press("c")
        await pilot.press("n")  # asked, and kept running
        assert sessionlink.running_pid(session) is not None
        await pilot.press("c", "y")
        await wait_for(pilot, lambda: "stopped at image.upload" in text_of(app, "#status"), 60)
        # The row says it: the upload was interrupted, not failed.
        assert "interrupted" in app.screen.query_one("#image-upload-text", Figures).words
        assert sessionlink.running_pid(session) is None
        [summary] = [s for s in list_sessions() if s.name == session]
        assert summary.status == "interrupted"

        while here(app) != "start":
            await pilot.press("escape")
        table = app.screen.query_one("#sessions", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1
                       and str(table.get_row_at(0)[2]) == "interrupted")
        table.focus()
        await pilot.pause()
        steps = app.screen.query_one("#steps", DataTable)
        shown = {str(steps.get_row_at(i)[0]): str(steps.get_row_at(i)[1])
                 for i in range(steps.row_count)}
        # The session's own state: what is done, where it stopped, what is left.
        assert shown["Bundle"] == "done"
        assert shown["Upload"] == "interrupted, 2/3 done"
        assert shown["Register"] == "2/3 done"
        await pilot.press("r")
        await wait_for(pilot, lambda: here(app) == "build")
        await wait_for(pilot, lambda: here(app) == "done", seconds=120)
        assert re.search(r"\(EMI\) +emi-", text_of(app, "#ids"))
    # Resumed, not redone: the kernel registered before the stop is the one used.
    kernel_ids = {json.loads(line)["outputs"]["image_id"]
                  for line in SessionPaths(session).events.read_text().splitlines()
                  if '"kind": "StepFinished"' in line and '"step": "kernel.register"' in line}
    assert len(kernel_ids) == 1


async def test_a_failed_build_goes_back_to_the_field_of_its_answer(sandbox_host,
                                                                  tmp_path: Path) -> None:
    app = make_app(sandbox=True, sandbox_folder=sandbox_host.folder, open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_build(app, pilot)
        app.choices.disk = str(tmp_path / "no-such-disk.img")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: here(app) == "error", seconds=60)
        assert "no-such-disk.img" in text_of(app, "#why")
        assert "build.disk" in text_of(app, "#keys")
        await pilot.press("g")
        await wait_for(pilot, lambda: here(app) == "disk")
        assert isinstance(app.focused, Input) and app.focused.id == "disk-path"

"""The whole sandbox recipe from the wizard, keys only, to an emi- id; and a
build that goes on when the wizard quits, found again by the next wizard.

Real processes throughout: the sandbox cloud in its own process, the build
detached by the engine (``start_detached``), followed through its event log.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Log, Static

from tests.tui.conftest import here, text_of, wait_for
from wizard.session.listing import list_sessions
from wizard.session.store import SessionPaths
from wizard.tui import sessionlink
from wizard.tui.app import ConfirmQuit, make_app

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
        assert "EKI  eki-" in ids and "ERI  eri-" in ids and "EMI  emi-" in ids
        session = app.session
        assert session is not None
        assert "euca-run-instances -k KEY -t m1.small emi-" in text_of(app, "#commands")
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
        await wait_for(pilot, lambda: "image.upload" in text_of(first, "#status"), 60)
        session = first.session
        assert session is not None
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
        assert "registered eki-" in str(second.screen.query_one("#kernel-head", Static)
                                         .content)
        await wait_for(pilot, lambda: here(second) == "done", seconds=120)
        assert "EMI  emi-" in text_of(second, "#ids")

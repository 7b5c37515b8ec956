"""Fixtures for the wizard's tests: a real sandbox cloud process, shared by a module."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.tui.sandbox_host import SandboxHost, start_sandbox_process


@pytest.fixture(scope="module")
def sandbox_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHost]:
    """``euca-windows-wizard sandbox`` in its own process, as ``--sandbox`` runs it."""
    host = start_sandbox_process(tmp_path_factory.mktemp("sandbox") / "cloud")
    try:
        yield host
    finally:
        host.stop()


async def wait_for(pilot, condition, seconds: float = 30.0) -> None:
    """Let the app run until ``condition()`` holds (workers, timers); fail after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            await pilot.pause()  # a screen just pushed gets composed
            return
        await pilot.pause(0.05)
    raise AssertionError(f"not reached within {seconds} s: {condition}")


def text_of(app, selector: str) -> str:
    """The text a Static shows (markup and styles left out)."""
    from textual.widgets import Static

    return str(app.screen.query_one(selector, Static).content)


def here(app) -> str:
    """The name of the screen on top (``WizardScreen.NAME``)."""
    return str(getattr(app.screen, "NAME", ""))


# The screens a fresh wizard can show on its own (Done and Error need a build's outcome).
INPUT_SCREENS = ("start", "prerequisites", "credentials", "disk", "memdisk", "floppy", "build")


async def open_screen(app, pilot, name: str) -> None:
    """Show screen ``name`` on a fresh wizard and let it be drawn (its footer filled)."""
    await pilot.pause()
    if name != "start":
        app.push_screen(app.make_screen(name))
    await wait_for(pilot, lambda: here(app) == name)


@pytest.fixture
def slow_sandbox(tmp_path: Path) -> Iterator[Path]:
    """A sandbox process whose store holds the disk image's part 8 s (``slow_sandbox.py``)."""
    folder = tmp_path / "slow-sandbox"
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    child = subprocess.Popen([sys.executable, "-m", "tests.tui.slow_sandbox", str(folder),
                              "8"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "Serving until Ctrl+C."
        yield folder
    finally:
        child.terminate()
        child.wait(timeout=30)

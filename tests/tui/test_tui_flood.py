"""Keys stay answered while the build's event log floods (10,000 progress events),
and a long history is replayed in batches.

What the wizard controls is asserted, not how fast this shared machine is
(the key latency is measured and printed by tests/benchmarks/bench_tui.py,
whose aim is 100 ms): the event log is folded off the UI's thread and
handed to the screen in one update a tick, at most ``BATCH_EVENTS`` events
each, the log written once a tick; keys are answered between updates,
while events are still arriving. The events come from another process
holding the session's lock, through the engine's own EventLog and
EventLogReader.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from textual import events
from textual.message import Message
from textual.widgets import Log

from tests.tui.conftest import here, wait_for
from wizard.core.events import (
    Event,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
)
from wizard.session.store import SessionPaths, claim_session
from wizard.tui.app import make_app
from wizard.tui.help import HelpScreen
from wizard.tui.screens.build import BATCH_EVENTS, POLL_SECONDS, BuildUpdate, Figures

from .history import START, write_history

ROOT = Path(__file__).resolve().parents[2]
COUNT = 10_000


async def answered_in(app, key: str, answered) -> float:
    """Seconds from the key reaching the app (as the terminal driver hands it over)
    to its action having run. Pilot.press is not used: it waits for the whole
    process to go idle, which measures the machine, not the wizard."""
    event = events.Key(key, None)
    event.set_sender(app)
    started = time.perf_counter()
    app._driver.send_message(event)
    while not answered():
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


class Updates:
    """The BuildUpdate messages the screen receives (``run_test``'s message hook)."""

    def __init__(self) -> None:
        self.seen: list[BuildUpdate] = []

    def __call__(self, message: Message) -> None:
        # The hook may see a message more than once (each pump it passes through).
        if isinstance(message, BuildUpdate) and not any(message is m for m in self.seen[-3:]):
            self.seen.append(message)

    def assert_batched(self) -> None:
        """One update a tick however many events, none bigger than a batch."""
        posted = [update.posted for update in self.seen]
        gaps = [later - earlier for earlier, later in itertools.pairwise(posted)]
        assert gaps and min(gaps) >= POLL_SECONDS * 0.9, gaps
        assert max(update.events for update in self.seen) <= BATCH_EVENTS


async def test_keys_are_answered_between_updates_while_events_flood_in(
        tmp_path: Path) -> None:
    name = claim_session("flood").name
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-m", "tests.tui.flood", name, str(COUNT),
                              str(go)], stdout=subprocess.PIPE, text=True, env=env)
    updates = Updates()
    writes: list[int] = []
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        app = make_app(open_running=True)  # finds the running build by its lock
        async with app.run_test(size=(80, 24), message_hook=updates) as pilot:
            await wait_for(pilot, lambda: here(app) == "build")
            log = app.screen.query_one("#build-log", Log)
            # Warm up: the first help screen imports the Markdown parser.
            await pilot.press("f1")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
            # The log is written once an update, whatever the update holds.
            write_lines = log.write_lines

            def counted(lines: Iterable[str], scroll_end: bool | None = None) -> Log:
                lines = list(lines)
                writes.append(len(lines))
                return write_lines(lines, scroll_end)

            log.write_lines = counted  # type: ignore[method-assign]
            before = len(updates.seen)
            go.touch()
            latencies: list[float] = []
            lines_seen: list[int] = []
            for _ in range(10):
                for key, wanted in (("f1", True), ("escape", False)):
                    latencies.append(await answered_in(app, key, lambda w=wanted:
                                                       isinstance(app.screen, HelpScreen) == w))
                    lines_seen.append(log.line_count)
                    await pilot.pause(0.05)
            # Every key was answered while TAIL events were still to come.
            waiting = log.line_count
            (tmp_path / "go.last").touch()
            figures = app.screen.query_one("#image-upload-text", Figures)
            await wait_for(pilot, lambda: any("part 100/100" in word
                                              for word in figures.words), seconds=60)
            total_lines = log.line_count
    finally:
        for end in ("go.last", "go.stop"):  # a failed test leaves no child waiting
            (tmp_path / end).touch()
        child.wait(timeout=30)
    print(f"key latency during the flood: max {max(latencies) * 1000:.1f} ms, "
          f"median {sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms "
          f"({len(updates.seen) - before} screen updates for {COUNT} events)")
    # Events were applied between the keys: the log grew while they were pressed,
    # and the keys did not wait for the flood to end (its tail was held back).
    assert lines_seen[0] < lines_seen[-1] <= waiting < total_lines
    assert total_lines >= COUNT // 100  # every log line reached the view
    flood = updates.seen[before:]
    assert sum(update.events for update in flood) >= COUNT
    updates.assert_batched()
    # One write to the log an update that has lines, never a line at a time.
    assert writes == [len(update.lines) for update in flood if update.lines]


def long_history() -> list[tuple[float, Event]]:
    """A build interrupted as the first batch ends, then resumed and finished."""
    def upload(count: int, start: float) -> list[tuple[float, Event]]:
        return [(start, StepStarted("image.upload", "Upload the disk image"))] + [
            (start + i, StepProgress("image.upload", i, 30_000, i // 100, 300))
            for i in range(1, count + 1)]

    events = upload(BATCH_EVENTS - 2, START)
    events.append((START + BATCH_EVENTS, StepFailed("image.upload", "interrupted by SIGTERM",
                                                    "run it again")))
    assert len(events) == BATCH_EVENTS
    events += upload(30_000, START + 2 * BATCH_EVENTS)
    end = events[-1][0]
    events += [(end, StepFinished("image.upload", {"location": "b/x"})),
               (end, StepStarted("image.register", "Register the disk image")),
               (end + 1, StepFinished("image.register", {"image_id": "emi-1c2d3e4f"}))]
    return events


async def test_a_long_history_is_replayed_in_batches_and_judged_at_its_end() -> None:
    """The screen shows the replay as it goes (never one freeze for the whole of
    it), and an old failure that a later run got past opens no error screen."""
    name = claim_session("long").name
    write_history(SessionPaths(name).events, long_history())
    updates = Updates()
    app = make_app(attach=name, open_running=False)
    async with app.run_test(size=(80, 24), message_hook=updates) as pilot:
        await wait_for(pilot, lambda: here(app) in ("done", "error"), seconds=120)
        assert here(app) == "done"
    assert len(updates.seen) >= len(long_history()) // BATCH_EVENTS
    assert not updates.seen[0].caught_up and updates.seen[0].failure is not None
    assert updates.seen[-1].caught_up and updates.seen[-1].finished
    updates.assert_batched()

"""The event log: one writer, whole lines, a reader that replays and never skips in silence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.core.events import (
    LogLine,
    StepFinished,
    StepProgress,
    StepStarted,
    StepWarning,
    stamped_to_json,
)
from wizard.session.eventlog import EventLog, EventLogReader

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "events.jsonl"


def test_each_event_is_one_stamped_line(log_path: Path) -> None:
    with EventLog(log_path) as log:
        log(StepStarted("image.bundle", "Bundling the disk image"))
        log(StepProgress("image.bundle", 10, 100))
        log.log(StepFinished("image.bundle", {"manifest": "/b/xp.img.manifest.xml"}))
    lines = log_path.read_text().splitlines()
    assert len(lines) == 3
    events = EventLogReader(log_path).poll()
    assert [s.seq for s in events] == [1, 2, 3]
    assert events[0].event == StepStarted("image.bundle", "Bundling the disk image")
    assert events[2].event == StepFinished("image.bundle", {"manifest": "/b/xp.img.manifest.xml"})
    assert events[0].ts <= events[1].ts <= events[2].ts
    assert (os.stat(log_path).st_mode & 0o777) == 0o600


def test_a_resumed_build_goes_on_numbering_from_the_log(log_path: Path) -> None:
    with EventLog(log_path) as log:
        log(StepStarted("prerequisites", "Checking prerequisites"))
        log(StepFinished("prerequisites"))
    with EventLog(log_path) as log:
        assert log.seq == 2
        log(StepStarted("memdisk", "Building memdisk"))
    assert [s.seq for s in EventLogReader(log_path).poll()] == [1, 2, 3]


def test_the_reader_holds_back_a_partial_last_line_and_keeps_its_offset(log_path: Path) -> None:
    with EventLog(log_path) as log:
        first = log(StepStarted("image.upload", "Uploading the disk image"))
    reader = EventLogReader(log_path)
    assert [s.seq for s in reader.poll()] == [1]
    assert reader.poll() == []
    # A line on its way: the writer's bytes arrive in two pieces.
    line = stamped_to_json(first.__class__(2, first.ts, StepProgress("image.upload", 5, 9))) + "\n"
    with open(log_path, "ab") as handle:
        handle.write(line[:17].encode())
    assert reader.poll() == []
    with open(log_path, "ab") as handle:
        handle.write(line[17:].encode())
    got = reader.poll()
    assert [(s.seq, s.event) for s in got] == [(2, StepProgress("image.upload", 5, 9))]
    assert reader.offset == log_path.stat().st_size


def test_a_new_reader_replays_from_the_first_line(log_path: Path) -> None:
    with EventLog(log_path) as log:
        for n in range(50):
            log(StepProgress("image.upload", n, 49))
    first = EventLogReader(log_path)
    first.poll()
    late = EventLogReader(log_path)
    assert [s.seq for s in late.poll()] == list(range(1, 51))


def test_a_corrupt_line_is_reported_in_its_place(log_path: Path) -> None:
    with EventLog(log_path) as log:
        log(StepStarted("floppy", "Checking the floppy"))
    with open(log_path, "ab") as handle:
        handle.write(b'{"seq": 2, "kind": "NoSuchEvent"}\n')
        handle.write(b"\xff\xfe not json\n")
    with EventLog(log_path) as log:
        assert log.seq == 1  # numbering goes on from the last good line
        log(StepFinished("floppy"))
    events = EventLogReader(log_path).poll()
    assert len(events) == 4
    assert events[0].event == StepStarted("floppy", "Checking the floppy")
    for bad, number, why in ((events[1], 2, "not an event line"), (events[2], 3, "not UTF-8")):
        assert isinstance(bad.event, StepWarning)
        assert f"line {number} of the event log {log_path}" in bad.event.text
        assert why in bad.event.text
    assert (events[3].seq, events[3].event) == (2, StepFinished("floppy"))


def test_a_line_torn_by_a_killed_writer_is_closed_and_reported(log_path: Path) -> None:
    with EventLog(log_path) as log:
        log(StepStarted("image.bundle", "Bundling"))
    with open(log_path, "ab") as handle:
        handle.write(b'{"seq": 2, "ts": 1.0, "kind": "StepProg')
    reader = EventLogReader(log_path)
    assert len(reader.poll()) == 1
    # The build is gone: the torn line will never end, so the viewer hears of it.
    tail = reader.poll(final=True)
    assert len(tail) == 1 and isinstance(tail[0].event, StepWarning)
    # A new run ends the torn line first: its first event is whole and numbered on.
    with EventLog(log_path) as log:
        log(LogLine("image.bundle", "resumed"))
    events = EventLogReader(log_path).poll()
    assert isinstance(events[1].event, StepWarning)
    assert (events[2].seq, events[2].event) == (2, LogLine("image.bundle", "resumed"))


def test_a_missing_log_reads_as_empty(log_path: Path) -> None:
    assert EventLogReader(log_path).poll() == []


def test_a_replaced_log_is_read_again_from_its_start(log_path: Path) -> None:
    with EventLog(log_path) as log:
        for n in range(5):
            log(StepProgress("image.upload", n, 4))
    reader = EventLogReader(log_path)
    assert len(reader.poll()) == 5
    log_path.unlink()
    with EventLog(log_path) as log:
        for n in range(10):  # longer than the old one by the time the reader looks
            log(StepProgress("prerequisites", n, 9))
    assert [s.seq for s in reader.poll()] == list(range(1, 11))


WRITER = """
import sys
from pathlib import Path
from wizard.core.events import StepProgress
from wizard.session.eventlog import EventLog
log = EventLog(Path(sys.argv[1]))
for n in range(int(sys.argv[2])):
    log(StepProgress("image.upload", n, None, parts_done=n, parts_total=None))
"""


def test_a_reader_polling_while_a_real_process_writes_sees_every_line_once(
        log_path: Path) -> None:
    count = 3000
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(log_path), str(count)],
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    reader = EventLogReader(log_path)
    seen = []
    while writer.poll() is None:
        seen.extend(reader.poll())
    seen.extend(reader.poll(final=True))
    assert writer.returncode == 0
    assert [s.seq for s in seen] == list(range(1, count + 1))
    assert all(isinstance(s.event, StepProgress) for s in seen)

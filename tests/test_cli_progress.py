"""The console progress line: one row on a terminal, whatever its width."""

from __future__ import annotations

import io

import pytest

from wizard.cli.progress import ConsoleProgress
from wizard.core.events import StepFinished, StepProgress, StepStarted


def test_bar_never_wraps_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    stream = io.StringIO()
    progress = ConsoleProgress(stream, tty=True)
    progress(StepStarted("upload", "Uploading a-rather-long-disk-image-name.img to images/"))
    progress(StepProgress("upload", 10, 100, 1, 10))
    progress(StepProgress("upload", 100, 100, 10, 10))
    progress(StepFinished("upload"))
    drawn = [row for row in stream.getvalue().split("\r") if row]
    assert len(drawn) >= 2
    for row in drawn:
        visible = row.replace("\x1b[K", "")
        assert "\n" not in visible
        assert len(visible) <= 39


def test_plain_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = ConsoleProgress(stream, tty=False)
    progress(StepStarted("bundle", "Bundling disk.img"))
    for done in range(0, 101, 5):
        progress(StepProgress("bundle", done, 100))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Bundling disk.img…"
    assert "\r" not in stream.getvalue()
    # One line per tenth of the work, not one per event.
    assert 10 <= len(lines) <= 12
    assert lines[-1].startswith("Bundling disk.img: 100%")


def test_a_new_phase_is_a_line_and_restarts_the_rate() -> None:
    from wizard.core.events import Stamped, StepPhase

    stream = io.StringIO()
    progress = ConsoleProgress(stream, tty=False)
    # Read back from an event log: the times are the build's. Checking the parts took
    # 100 s; the upload itself sends 100 MiB in 10 s.
    progress.show(Stamped(1, 1000.0, StepStarted("image.upload", "Upload the disk image")))
    progress.show(Stamped(2, 1100.0, StepPhase("image.upload", "Uploading xp.img to b/")))
    progress.show(Stamped(3, 1110.0, StepProgress("image.upload", 100 << 20, 100 << 20, 10, 10)))
    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["Upload the disk image…", "Uploading xp.img to b/…"]
    assert "10.0 MiB/s" in lines[-1], lines

"""Core pieces: events round-trip, throttle, atomic files, folders, assets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wizard.core import events
from wizard.core.assets import asset_path, assets_dir
from wizard.core.dirs import log_dir, state_dir
from wizard.core.errors import Cancelled
from wizard.core.files import atomic_writer, write_atomic
from wizard.core.logs import mask


def test_events_round_trip_through_the_event_log() -> None:
    samples: list[events.Event] = [
        events.StepStarted("bundle", "Bundling disk.img"),
        events.StepProgress("bundle", 10, 100, parts_done=1, parts_total=3),
        events.LogLine("bundle", "hello"),
        events.StepWarning("bundle", "careful"),
        events.StepFinished("bundle", {"manifest": "/x/disk.img.manifest.xml"}),
        events.StepFailed("bundle", "no room", "free 2 GiB"),
    ]
    for event in samples:
        assert events.from_json(events.to_json(event)) == event


def test_throttle_passes_the_final_event() -> None:
    seen: list[events.Event] = []
    throttle = events.Throttle(seen.append, per_second=1.0)
    for done in range(0, 101):
        throttle(events.StepProgress("s", done, 100))
    assert len(seen) == 2
    assert seen[-1] == events.StepProgress("s", 100, 100)


def test_cancel_flag() -> None:
    flag = events.CancelFlag()
    flag.check()
    flag.cancel()
    with pytest.raises(Cancelled):
        flag.check()


def test_atomic_writer_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"half")
        raise RuntimeError("disk on fire")
    assert list(tmp_path.iterdir()) == []
    write_atomic(target, b"whole", mode=0o600)
    assert target.read_bytes() == b"whole"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_folders_honour_xdg_and_are_private(private_xdg: Path) -> None:
    for folder in (state_dir(), log_dir()):
        assert str(folder).startswith(str(private_xdg))
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


def test_assets_are_found() -> None:
    assert (assets_dir() / "help").is_dir()
    assert asset_path("help", "README.md").is_file()


def test_mask_hides_secrets() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    shown = mask(secret)
    assert secret not in shown and len(shown) < 10
    assert mask(None) == "(not set)"


def test_log_lines_with_undecodable_paths_are_kept(tmp_path: Path, capfd) -> None:
    import logging

    from wizard.core.logs import get_logger, setup_logging

    log_file = setup_logging(0, tmp_path / "run.log")
    odd = os.fsdecode(b"/tmp/disk-\xff.img")
    get_logger("test").info("image %s", odd)
    for handler in logging.getLogger("wizard").handlers:
        handler.flush()
    assert "Logging error" not in capfd.readouterr().err
    assert "disk-\\udcff.img" in log_file.read_text()


def test_failure_events_speak_for_the_operator() -> None:
    from wizard.core.errors import WizardError

    assert events.failure("bundle", WizardError("no room.", "free 2 GiB")) == events.StepFailed(
        "bundle", "no room", "free 2 GiB")
    assert events.failure("bundle", KeyboardInterrupt()).message == "interrupted by Ctrl+C"
    odd = events.failure("bundle", RuntimeError("two\nlines"))
    assert odd.message == "unexpected RuntimeError: two lines"
    assert events.from_json(events.to_json(odd)) == odd


def test_run_reported_ends_a_started_step_once() -> None:
    seen: list[events.Event] = []

    def fails_after_start(sink: events.Sink) -> None:
        sink(events.StepStarted("s", "Working"))
        raise Cancelled()

    with pytest.raises(Cancelled):
        events.run_reported("s", seen.append, fails_after_start)
    assert seen[-1] == events.StepFailed("s", "interrupted", "run the same command again to resume")

    seen.clear()

    def fails_before_start(sink: events.Sink) -> None:
        raise Cancelled()

    with pytest.raises(Cancelled):
        events.run_reported("s", seen.append, fails_before_start)
    assert seen == []

    def finishes_then_fails(sink: events.Sink) -> None:
        sink(events.StepStarted("s", "Working"))
        sink(events.StepFinished("s"))
        raise Cancelled()

    with pytest.raises(Cancelled):
        events.run_reported("s", seen.append, finishes_then_fails)
    assert not any(isinstance(e, events.StepFailed) for e in seen)

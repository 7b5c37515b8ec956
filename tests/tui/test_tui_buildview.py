"""The Build screen's model: rows, rates and time left from the events' own times."""

from __future__ import annotations

from wizard.core.events import (
    LogLine,
    StepFailed,
    StepFinished,
    StepPhase,
    StepProgress,
    StepStarted,
)
from wizard.tui.buildview import BuildView

MiB = 1024 * 1024


def test_rate_and_time_left_come_from_event_timestamps() -> None:
    view = BuildView()
    view.apply(0, 1000.0, StepStarted("image.upload", "Uploading"))
    view.apply(1, 1000.0, StepProgress("image.upload", 0, 100 * MiB, 0, 10))
    view.apply(2, 1010.0, StepProgress("image.upload", 20 * MiB, 100 * MiB, 2, 10))
    upload = view.rows["image"].upload
    assert upload.rate == 2 * MiB
    assert upload.seconds_left == 40
    text = upload.describe()
    assert "20.0/100.0 MiB" in text and "part 2/10" in text
    assert "2.0 MiB/s" in text and "40 seconds left" in text


def test_a_replay_gives_the_same_view_and_skips_what_it_has_seen() -> None:
    events = [StepStarted("kernel.bundle", "Bundling"),
              StepProgress("kernel.bundle", 5, 10),
              StepFinished("kernel.bundle", {}),
              StepStarted("kernel.register", "Registering"),
              StepFinished("kernel.register", {"image_id": "eki-12345678"})]
    live, replayed = BuildView(), BuildView()
    for seq, event in enumerate(events):
        live.apply(seq, 100.0 + seq, event)
    for seq, event in enumerate(events + events):  # a reader that read twice
        replayed.apply(seq % len(events), 100.0 + seq % len(events), event)
    assert live.rows_shown() == replayed.rows_shown()
    assert replayed.rows["kernel"].registration.describe() == "eki-12345678 available"
    assert replayed.ids == {"kernel": "eki-12345678"}
    assert replayed.rows["kernel"].bundle.state == "done"
    assert replayed.rows["kernel"].bundle.done == 10


def test_a_finished_transfer_counts_the_parts_an_earlier_run_sent() -> None:
    """A resumed upload finds its part already in the store: no progress says 1/1."""
    view = BuildView()
    view.apply(0, 1.0, StepStarted("image.upload", "Upload the disk image"))
    view.apply(1, 2.0, StepProgress("image.upload", 0, 146 * 1024, 0, 1))
    view.apply(2, 3.0, StepFinished("image.upload", {"location": "b/x.manifest.xml"}))
    assert view.rows["image"].upload.describe() == "146.0 KiB, part 1/1, done"


def test_a_failure_keeps_its_answer_key_and_a_restart_clears_it() -> None:
    view = BuildView()
    view.apply(0, 1.0, StepStarted("image.bundle", "Bundling"))
    lines = view.apply(1, 2.0, StepFailed("image.bundle", "the image changed", "run again"))
    assert lines == ["image.bundle: FAILED: the image changed. Fix: run again."]
    assert view.failure is not None and view.failure.step == "image.bundle"
    assert view.failure.key is None
    view.apply(2, 3.0, StepStarted("image.bundle", "Bundling"))
    assert view.failure is None
    assert not view.finished
    view.apply(3, 4.0, StepFinished("image.register", {"image_id": "emi-00000001"}))
    assert view.finished and view.ids["image"] == "emi-00000001"


def test_the_registration_line_follows_the_register_step() -> None:
    """Registering, then waiting for available with the id (from the step's log
    lines, before the step ends with it) and the cloud's state, then available."""
    view = BuildView()
    lines = [view.rows["image"].registration.describe()]
    for seq, event in enumerate([
            StepStarted("image.register", "Register the disk image"),
            StepPhase("image.register", "Registering b/xp-image.manifest.xml"),
            StepPhase("image.register", "waiting for available"),
            LogLine("image.register", "waiting for emi-1C2D3E4F to become available (...)"),
            LogLine("image.register", "emi-1C2D3E4F: pending"),
            StepFinished("image.register", {"image_id": "emi-1C2D3E4F",
                                            "already_registered": False})]):
        view.apply(seq, 10.0 + seq, event)
        lines.append(view.rows["image"].registration.describe())
    assert lines == ["register: waiting", "registering",
                     "Registering b/xp-image.manifest.xml",
                     "the image registered, waiting for available",
                     "emi-1C2D3E4F registered, waiting for available",
                     "emi-1C2D3E4F registered, waiting for available (pending)",
                     "emi-1C2D3E4F available"]
    assert view.ids == {"image": "emi-1C2D3E4F"}


def test_a_cancelled_step_reads_interrupted_and_the_status_says_where() -> None:
    view = BuildView()
    view.apply(0, 1.0, StepStarted("image.upload", "Upload the disk image"))
    view.apply(1, 2.0, StepProgress("image.upload", 30 * MiB, 100 * MiB, 3, 10))
    assert view.status_words() == "Upload the disk image"
    view.apply(2, 3.0, StepFailed("image.upload", "interrupted by SIGTERM", "run it again"))
    assert view.rows["image"].upload.state == "interrupted"
    assert view.rows["image"].upload.describe() == "30.0/100.0 MiB, part 3/10, interrupted"
    assert view.status_words() == "interrupted at image.upload"
    view.apply(3, 4.0, StepStarted("image.register", "Register the disk image"))
    view.apply(4, 5.0, StepFailed("image.register", "the cloud refused it", None))
    assert view.rows["image"].registration.describe() == "register: failed"
    assert view.status_words() == "failed at image.register"

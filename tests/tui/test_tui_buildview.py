"""The Build screen's model: rows, rates and time left from the events' own times."""

from __future__ import annotations

from wizard.core.events import StepFailed, StepFinished, StepProgress, StepStarted
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
    assert live.rows["kernel"].register == replayed.rows["kernel"].register
    assert replayed.ids == {"kernel": "eki-12345678"}
    assert replayed.rows["kernel"].bundle.state == "done"
    assert replayed.rows["kernel"].bundle.done == 10


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

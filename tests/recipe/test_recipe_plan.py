"""The recipe's step lists and the stamped events of the event log."""

from __future__ import annotations

import json

import pytest

from wizard.core import events
from wizard.core.errors import WizardError
from wizard.recipe.plan import step_infos


def test_memdisk_recipe_order() -> None:
    ids = [info.id for info in step_infos("memdisk")]
    assert ids == ["prerequisites", "memdisk", "floppy",
                   "kernel.bundle", "kernel.upload", "kernel.register",
                   "ramdisk.bundle", "ramdisk.upload", "ramdisk.register",
                   "image.bundle", "image.upload", "image.register"]
    assert all(info.title for info in step_infos("memdisk"))


def test_native_recipe_is_the_disk_alone() -> None:
    assert [info.id for info in step_infos("native")] == [
        "prerequisites", "image.bundle", "image.upload", "image.register"]


def test_unknown_mode_is_an_operator_error() -> None:
    with pytest.raises(WizardError, match="memdisk or native"):
        step_infos("floppy")


SAMPLES: list[events.Event] = [
    events.StepStarted("image.bundle", "Bundle the disk image"),
    events.StepPhase("image.upload", "sending parts"),
    events.StepProgress("image.upload", 10, 100, parts_done=1, parts_total=3),
    events.LogLine("image.bundle", "hello"),
    events.StepWarning("image.upload", "unchecked HTTPS"),
    events.StepFinished("image.register", {"image_id": "emi-12345678"}),
    events.StepFailed("floppy", "not formatted", "format it in Windows", key="build.floppy"),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_stamped_round_trip(event: events.Event) -> None:
    stamped = events.Stamped(7, 1764580000.25, event)
    line = events.stamped_to_json(stamped)
    assert "\n" not in line
    data = json.loads(line)
    assert (data["seq"], data["ts"], data["kind"]) == (7, 1764580000.25, type(event).__name__)
    assert events.stamped_from_json(line) == stamped


@pytest.mark.parametrize("line", [
    "", "not json", "[1, 2]", '{"seq": 1, "ts": 2.0}',
    '{"seq": 1, "ts": 2.0, "kind": "Nope", "step": "x"}',
    '{"seq": 1, "ts": 2.0, "kind": "LogLine", "step": "x"}',
    '{"seq": 1, "ts": 2.0, "kind": "LogLine", "step": "x", "text": "t", "extra": 1}',
    '{"seq": "1", "ts": 2.0, "kind": "LogLine", "step": "x", "text": "t"}',
    '{"seq": true, "ts": 2.0, "kind": "LogLine", "step": "x", "text": "t"}',
])
def test_a_line_that_is_not_an_event_is_a_value_error(line: str) -> None:
    with pytest.raises(ValueError, match="not an event line"):
        events.stamped_from_json(line)


def test_failure_carries_the_answer_key() -> None:
    error = WizardError("the disk image is qcow2", "convert it to raw")
    error.key = "build.disk"  # type: ignore[attr-defined]
    assert events.failure("image.bundle", error).key == "build.disk"
    assert events.failure("image.bundle", WizardError("x")).key is None

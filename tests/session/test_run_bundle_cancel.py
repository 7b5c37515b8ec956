"""A Ctrl+C while the bundle step checks its finished bundle stops the step; it is not
taken for a bundle that no longer fits (which the step would report as stale and bundle
again). A real bundle of the sample disk, keys from the sandbox, the real cancel flag."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from wizard.cloud.samples import make_sample_disk
from wizard.cloud.sandbox import Sandbox
from wizard.core.errors import Cancelled
from wizard.core.events import CancelFlag, Event, StepPhase, StepWarning, discard
from wizard.recipe.bundling import BundleStep
from wizard.recipe.context import StepContext
from wizard.session.answers import sandbox_answers


def test_ctrl_c_while_checking_a_finished_bundle_is_an_interrupt(cloud_box: Sandbox,
                                                                 tmp_path: Path) -> None:
    given = sandbox_answers(cloud_box.folder)
    answers = replace(given, build=replace(given.build, mode="native", floppy=None,
                                           memdisk=None,
                                           disk=make_sample_disk(tmp_path / "w2k3.img")))
    step = BundleStep("image", "Bundle the disk image")
    made = step.run(StepContext("held", answers, tmp_path / "session"), discard, CancelFlag())
    manifest = Path(made["manifest"])
    parts = sorted(manifest.parent.glob("held-image.part.*"))
    assert manifest.is_file() and parts

    cancel = CancelFlag()
    seen: list[Event] = []

    def ctrl_c_while_checking(event: Event) -> None:
        seen.append(event)
        if isinstance(event, StepPhase) and event.phase.startswith("Checking the finished"):
            cancel.cancel("Ctrl+C")

    with pytest.raises(Cancelled):
        step.run(StepContext("held", answers, tmp_path / "session"), ctrl_c_while_checking,
                 cancel)
    assert any(isinstance(e, StepPhase) for e in seen)  # it was in the check
    assert not [e for e in seen if isinstance(e, StepWarning)], seen
    assert manifest.is_file() and sorted(manifest.parent.glob("held-image.part.*")) == parts

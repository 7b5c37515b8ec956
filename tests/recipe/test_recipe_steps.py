"""The recipe's steps on real inputs, without a cloud: memdisk built from a syslinux
release by real make and nasm, the floppy checked against the disk, the sink a step's
engine calls report to, and a session that fails in its first step."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.memdisk.syslinux_tree import make_tarball, make_tree
from wizard.cloud.samples import make_sample_disk, make_sample_floppy
from wizard.core.errors import WizardError
from wizard.core.events import (
    CancelFlag,
    Event,
    LogLine,
    StepFailed,
    StepFinished,
    StepPhase,
    StepProgress,
    StepStarted,
    StepWarning,
)
from wizard.floppy.blank import create_blank
from wizard.recipe.context import StepContext
from wizard.recipe.inputs import FloppyStep, MemdiskStep
from wizard.recipe.plan import build_steps, step_infos
from wizard.recipe.steps import Step, step_sink
from wizard.session.answers import Answers, BuildAnswers, CloudAnswers
from wizard.session.runner import run_session
from wizard.session.store import SessionPaths, create_session


def answers_for(tmp_path: Path, **build: object) -> Answers:
    values: dict[str, object] = {
        "name": "winxp", "bucket": "b", "arch": "i386", "mode": "memdisk",
        "disk": make_sample_disk(tmp_path / "xp.img"),
        "floppy": make_sample_floppy(tmp_path / "win-boot.img"),
        "memdisk": None, "syslinux_source": None}
    values.update(build)
    return Answers(CloudAnswers(eucarc=tmp_path / "no-eucarc"),
                   BuildAnswers(**values))  # type: ignore[arg-type]


def test_memdisk_is_built_from_a_syslinux_release(tmp_path: Path) -> None:
    tarball = make_tarball(make_tree(tmp_path / "syslinux-6.04"), tmp_path / "syslinux.tar.gz")
    ctx = StepContext("winxp", answers_for(tmp_path, syslinux_source=tarball),
                      tmp_path / "session")
    step = MemdiskStep()
    assert step.inputs(ctx)["syslinux_source"]["path"] == str(tarball)
    seen: list[Event] = []
    outputs = step.run(ctx, seen.append, CancelFlag())
    built = Path(outputs["path"])
    assert built == ctx.work_folder / "memdisk" and built.is_file()
    assert outputs["version"] == "6.04 20260101"
    # The build's own start and end are the runner's: here only phases, lines, progress.
    assert not [e for e in seen if isinstance(e, (StepStarted, StepFinished, StepFailed))]
    assert all(e.step == "memdisk" for e in seen)
    assert step.done(ctx, outputs)
    built.write_bytes(built.read_bytes()[:-1] + b"\x01")
    assert not step.done(ctx, outputs)  # not the memdisk recorded any more


def test_a_floppy_not_ready_is_an_error_about_build_floppy(tmp_path: Path) -> None:
    answers = answers_for(tmp_path, memdisk=Path("/usr/lib/syslinux/memdisk"),
                          floppy=create_blank(tmp_path / "blank.img"))
    ctx = StepContext("winxp", answers, tmp_path / "session")
    seen: list[Event] = []
    with pytest.raises(WizardError) as caught:
        FloppyStep().run(ctx, seen.append, CancelFlag())
    assert caught.value.key == "build.floppy"
    assert "is not ready" in caught.value.message and caught.value.fix
    assert any(isinstance(e, LogLine) and e.text.startswith("fail") for e in seen)


def test_the_sample_floppy_passes_against_the_sample_disk(tmp_path: Path) -> None:
    ctx = StepContext("winxp", answers_for(tmp_path, memdisk=Path("/x")), tmp_path / "s")
    seen: list[Event] = []
    outputs = FloppyStep().run(ctx, seen.append, CancelFlag())
    assert outputs["ready"] is True


def test_engine_events_carry_the_step_id_and_phases() -> None:
    seen: list[Event] = []
    relay = step_sink("image.upload", seen.append)
    relay(StepStarted("upload", "Checking the parts of xp.img.manifest.xml"))
    relay(StepProgress("upload", 5, 10, 1, 2))
    relay(StepWarning("upload", "HTTPS unchecked"))
    relay(StepFinished("upload", {"location": "b/x"}))
    relay(StepFailed("upload", "no"))
    assert seen == [StepPhase("image.upload", "Checking the parts of xp.img.manifest.xml"),
                    StepProgress("image.upload", 5, 10, 1, 2),
                    StepWarning("image.upload", "HTTPS unchecked")]


def test_build_steps_follow_step_infos(tmp_path: Path) -> None:
    for mode, extra in (("memdisk", {"memdisk": Path("/m")}),
                        ("native", {"floppy": None})):
        answers = answers_for(tmp_path, mode=mode, **extra)
        steps = build_steps(answers)
        assert [s.info for s in steps] == step_infos(mode)


def test_a_session_failing_in_its_first_step_says_so_everywhere(tmp_path: Path) -> None:
    # The eucarc the answers name does not exist: the prerequisites fail, with the key.
    answers = answers_for(tmp_path, memdisk=Path("/usr/lib/syslinux/memdisk"))
    name = create_session(answers)
    seen: list[Event] = []
    with pytest.raises(WizardError) as caught:
        run_session(name, seen.append, CancelFlag(), answers=answers)
    assert caught.value.key is not None and caught.value.key.startswith("cloud.")
    assert isinstance(seen[0], StepStarted) and seen[0].step == "prerequisites"
    failed = seen[-1]
    assert isinstance(failed, StepFailed) and failed.step == "prerequisites"
    assert failed.key == caught.value.key
    paths = SessionPaths(name)
    assert '"status": "failed"' in paths.state.read_text()
    # The event log holds exactly what the sink saw, stamped in order.
    from wizard.session.eventlog import EventLogReader

    logged = EventLogReader(paths.events).poll()
    assert [s.event for s in logged] == seen
    assert [s.seq for s in logged] == list(range(1, len(seen) + 1))


def test_a_step_kind_without_run_cannot_be_made() -> None:
    """``Step.run`` is abstract: a kind that forgets it fails when made, not mid-build."""

    class Unfinished(Step):
        pass

    with pytest.raises(TypeError, match="run"):
        Unfinished("x", "X")  # type: ignore[abstract]

"""Each session's status, told from the lock, the state file and the event log."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.session.ops_kit import Holder, new_session, write_events, write_state
from wizard.core.events import StepFailed, StepFinished, StepProgress, StepStarted
from wizard.session.listing import list_sessions, summarize
from wizard.session.lock import running_pid

IDS = {"kernel": "eki-0123ABCD", "ramdisk": "eri-4567ABCD", "image": "emi-89ABCDEF"}


def test_a_session_nothing_has_run_in_is_new(private_xdg: Path) -> None:
    paths = new_session("winxp")
    summary = summarize(paths.name)
    assert (summary.status, summary.mode, summary.current_step, summary.ids) == (
        "new", "memdisk", "", {})
    assert summary.updated > 0


def test_a_build_holding_the_lock_is_running_with_its_step_and_pid(private_xdg: Path) -> None:
    paths = new_session("winxp", mode="native")
    holder = Holder(paths.name)
    try:
        holder.log(StepStarted("image.upload", "Uploading the disk image"))
        holder.log(StepProgress("image.upload", 5, 10))
        summary = summarize(paths.name)
        assert (summary.status, summary.pid, summary.mode, summary.current_step) == (
            "running", holder.pid, "native", "image.upload")
    finally:
        holder.finish()


def test_a_build_killed_with_sigkill_is_interrupted_and_its_lock_free(private_xdg: Path) -> None:
    paths = new_session("winxp")
    holder = Holder(paths.name)
    write_state(paths, {"prerequisites": ("done", {}), "image.upload": ("running", {})})
    holder.log(StepStarted("image.upload", "Uploading the disk image"))
    holder.log(StepProgress("image.upload", 5, 10))
    assert holder.kill(signal.SIGKILL) == -signal.SIGKILL
    assert running_pid(paths.lock) is None
    summary = summarize(paths.name)
    assert (summary.status, summary.current_step, summary.pid) == (
        "interrupted", "image.upload", None)


def test_killed_between_two_steps_is_interrupted(private_xdg: Path) -> None:
    paths = new_session("winxp")
    write_state(paths, {"prerequisites": ("done", {}), "memdisk": ("done", {})})
    write_events(paths, [StepStarted("memdisk", "memdisk"), StepFinished("memdisk")])
    assert summarize(paths.name).status == "interrupted"


def test_a_build_stopped_by_sigterm_says_interrupted(private_xdg: Path) -> None:
    paths = new_session("winxp")
    holder = Holder(paths.name)
    holder.log(StepStarted("image.bundle", "Bundling"))
    holder.kill(signal.SIGTERM)
    summary = summarize(paths.name)
    assert (summary.status, summary.current_step) == ("interrupted", "image.bundle")
    assert summary.message.startswith("interrupted by SIGTERM. Fix: run the same command again")


def test_a_failed_step_makes_a_failed_session_with_its_message(private_xdg: Path) -> None:
    paths = new_session("winxp")
    write_state(paths, {"prerequisites": ("done", {}), "kernel.upload": ("failed", {})})
    write_events(paths, [StepStarted("kernel.upload", "Uploading the kernel"),
                         StepFailed("kernel.upload", "the bucket b belongs to another account",
                                    "choose another bucket name")])
    summary = summarize(paths.name)
    assert (summary.status, summary.current_step) == ("failed", "kernel.upload")
    assert summary.message == ("the bucket b belongs to another account. "
                               "Fix: choose another bucket name")


def test_a_registered_image_makes_a_done_session_with_its_ids(private_xdg: Path) -> None:
    paths = new_session("winxp")
    write_state(paths, {
        "kernel.register": ("done", {"image_id": IDS["kernel"]}),
        "ramdisk.register": ("done", {"image_id": IDS["ramdisk"]}),
        "image.register": ("done", {"location": "b/xp.img.manifest.xml",
                                    "image_id": IDS["image"]}),
    })
    write_events(paths, [StepStarted("image.register", "Registering"),
                         StepFinished("image.register", {"image_id": IDS["image"]})])
    summary = summarize(paths.name)
    assert (summary.status, summary.current_step, summary.ids) == ("done", "", IDS)


def test_damaged_files_never_stop_the_listing(private_xdg: Path) -> None:
    broken = new_session("broken")
    broken.state.write_text("{not json")
    broken.answers.write_text("[build\nmode=")
    broken.events.write_bytes(b"\xff\xfe\n{}\n")
    new_session("fine")
    summaries = {s.name: s for s in list_sessions()}
    assert set(summaries) == {"broken", "fine"}
    assert summaries["broken"].mode == ""
    assert summaries["broken"].status == "new"  # nothing readable says it ran
    assert summaries["fine"].status == "new"


def test_the_list_is_ordered_by_last_change(private_xdg: Path) -> None:
    old = new_session("old")
    new_session("recent")
    for path in (old.folder, old.answers):
        os.utime(path, (1_000_000, 1_000_000))
    assert [s.name for s in list_sessions()] == ["old", "recent"]

"""Progress events and cancelling a bundle.

DESIGN.md: a step reports StepStarted, StepProgress (bytes and parts done)
and StepFinished with its outputs; long loops check the cancel flag between
blocks, and a cancelled bundle leaves nothing that could pass for a bundle.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import CREDENTIAL_VARS, ROOT, MadeBundle
from tests.bundle.conftest import ACCOUNT, KeyFiles
from wizard.bundle.bundler import BundleRequest, bundle_image
from wizard.bundle.keys import BundleKeys
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import (
    CancelFlag,
    Event,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
)


def test_bundle_progress_events(big_bundle: MadeBundle) -> None:
    events = big_bundle.events
    assert isinstance(events[0], StepStarted)
    assert events[0].step == "bundle"
    assert "big.img" in events[0].title
    finished = events[-1]
    assert isinstance(finished, StepFinished)
    assert finished.step == "bundle"
    assert finished.outputs["manifest"] == str(big_bundle.manifest_path)
    assert finished.outputs["parts"] == 11
    assert finished.outputs["bundled_size"] == big_bundle.bundle.manifest.bundled_size
    assert finished.outputs["digest"] == big_bundle.bundle.manifest.digest
    assert not any(isinstance(e, (StepStarted, StepFinished, StepFailed)) for e in events[1:-1])

    progress = [e for e in events if isinstance(e, StepProgress)]
    assert len(progress) >= 2
    size = big_bundle.image.stat().st_size
    assert all(e.step == "bundle" and e.total == size for e in progress)
    done = [e.done for e in progress]
    assert done == sorted(done)
    assert 0 < done[0] < size
    assert done[-1] == size
    parts_done = [e.parts_done or 0 for e in progress]
    assert parts_done == sorted(parts_done)
    assert progress[-1].parts_done == progress[-1].parts_total == 11


def test_manifest_appears_only_at_the_end(bundle_keys: BundleKeys, medium_image: Path,
                                          tmp_path: Path) -> None:
    dest = tmp_path / "out"
    seen: list[tuple[int, bool, int]] = []

    def sink(event: Event) -> None:
        if isinstance(event, StepProgress):
            parts = len(list(dest.glob("medium.img.part.*")))
            seen.append((event.done, (dest / "medium.img.manifest.xml").exists(), parts))

    bundle = bundle_image(BundleRequest(medium_image, dest, bundle_keys, ACCOUNT), sink)
    assert len(seen) >= 2
    assert not any(manifest for _, manifest, _ in seen)
    assert seen[0][2] < len(bundle.part_paths)  # the first event came mid-stream
    assert bundle.manifest_path.is_file()


@pytest.mark.parametrize("dest_exists", [False, True], ids=["new-dest", "existing-dest"])
def test_cancel_from_the_sink(bundle_keys: BundleKeys, medium_image: Path, tmp_path: Path,
                              dest_exists: bool) -> None:
    dest = tmp_path / "out"
    if dest_exists:
        dest.mkdir()
        (dest / "keep.txt").write_text("the operator's file\n")
    flag = CancelFlag()
    parts_at_cancel: list[int] = []

    def sink(event: Event) -> None:
        if isinstance(event, StepProgress) and not flag.cancelled:
            parts_at_cancel.append(len(list(dest.glob("medium.img.part.*"))))
            flag.cancel()

    with pytest.raises(Cancelled) as caught:
        bundle_image(BundleRequest(medium_image, dest, bundle_keys, ACCOUNT), sink, flag)
    assert isinstance(caught.value, WizardError)
    assert parts_at_cancel and parts_at_cancel[0] >= 1  # parts were on disk when cancelled
    if dest_exists:
        assert os.listdir(dest) == ["keep.txt"]
    else:
        assert not dest.exists()


def test_cancel_before_start_writes_nothing(bundle_keys: BundleKeys, medium_image: Path,
                                            tmp_path: Path) -> None:
    flag = CancelFlag()
    flag.cancel()
    events: list[Event] = []
    with pytest.raises(Cancelled):
        bundle_image(BundleRequest(medium_image, tmp_path / "out", bundle_keys, ACCOUNT),
                     events.append, flag)
    assert not (tmp_path / "out").exists()
    assert not any(isinstance(e, StepFinished) for e in events)


@pytest.mark.parametrize(("signame", "status", "said"), [
    # Ctrl+C, kill, and an SSH session that drops: said as every command says it.
    ("SIGINT", 1, "euca-windows-wizard: error: interrupted by Ctrl+C. Fix: run the same "
                  "command again to resume."),
    ("SIGTERM", 1, "euca-windows-wizard: error: interrupted by SIGTERM. Fix: run the same "
                   "command again to resume."),
    ("SIGHUP", 1, "euca-windows-wizard: error: interrupted by SIGHUP. Fix: run the same "
                  "command again to resume."),
])
def test_a_signal_in_the_cli_removes_the_partial_bundle(
    big_image: Path, key_files: KeyFiles, tmp_path: Path, signame: str, status: int, said: str
) -> None:
    """A signal while parts are being written: its exit status, one line, no parts left."""
    dest = tmp_path / "out"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "bundle", "-i", str(big_image), "-d", str(dest),
         "-c", str(key_files.user_cert), "-k", str(key_files.user_key), "-u", ACCOUNT,
         "--ec2cert", str(key_files.cloud_cert)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 30
    while not list(dest.glob("big.img.part.*")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(getattr(signal, signame))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == status, (out, err)
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("euca-windows-wizard:")] == [
        said]
    assert not dest.exists()


def test_a_failed_bundle_ends_in_step_failed(bundle_keys: BundleKeys, medium_image: Path,
                                             tmp_path: Path) -> None:
    """Once started, the step ends in StepFailed with the operator's message, so a
    progress bar is cleared and a TUI or event log never shows a dead step running."""
    import io

    from wizard.cli.progress import ConsoleProgress

    flag = CancelFlag()
    events: list[Event] = []
    stream = io.StringIO()
    bar = ConsoleProgress(stream, tty=True)

    def sink(event: Event) -> None:
        events.append(event)
        bar(event)
        if isinstance(event, StepProgress):
            flag.cancel()

    with pytest.raises(Cancelled):
        bundle_image(BundleRequest(medium_image, tmp_path / "out", bundle_keys, ACCOUNT),
                     sink, flag)
    assert isinstance(events[0], StepStarted)
    failed = events[-1]
    assert isinstance(failed, StepFailed)
    assert failed.step == "bundle"
    assert failed.message == "interrupted" and failed.fix
    assert stream.getvalue().endswith("\r\x1b[K"), "the bar must be cleared before the error"


def test_refused_before_starting_sends_nothing(bundle_keys: BundleKeys, tmp_path: Path) -> None:
    events: list[Event] = []
    with pytest.raises(WizardError, match="does not exist"):
        bundle_image(BundleRequest(tmp_path / "nope.img", tmp_path / "out", bundle_keys,
                                   ACCOUNT), events.append)
    assert events == []


def test_a_failing_sink_does_not_hide_the_error(bundle_keys: BundleKeys, medium_image: Path,
                                                tmp_path: Path) -> None:
    flag = CancelFlag()

    def sink(event: Event) -> None:
        if isinstance(event, StepProgress):
            flag.cancel()
        if isinstance(event, StepFailed):
            raise RuntimeError("the TUI is gone")

    with pytest.raises(Cancelled):
        bundle_image(BundleRequest(medium_image, tmp_path / "out", bundle_keys, ACCOUNT),
                     sink, flag)
    assert not (tmp_path / "out").exists()

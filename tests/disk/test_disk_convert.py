"""Conversion to raw with the real qemu-img: progress, atomic result, cancel."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

from tests.disk.images import qemu_img
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import (
    CancelFlag,
    Event,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
)
from wizard.disk.convert import convert_to_raw
from wizard.disk.inspect import inspect_disk


def test_qcow2_converts_to_the_same_raw_disk(disks: dict[str, Path], tmp_path: Path) -> None:
    events: list[Event] = []
    raw = convert_to_raw(disks["xp_scsi_qcow2"], tmp_path / "work", sink=events.append)
    assert raw == tmp_path / "work" / "xp_scsi.raw"
    assert raw.read_bytes() == disks["xp_scsi"].read_bytes()
    assert isinstance(events[0], StepStarted)
    progress = [e for e in events if isinstance(e, StepProgress)]
    assert progress and progress[-1].done == progress[-1].total == raw.stat().st_size
    assert isinstance(events[-1], StepFinished)
    assert events[-1].outputs["raw"] == str(raw)
    assert [p.name for p in raw.parent.iterdir()] == ["xp_scsi.raw"]
    # The converted image inspects as the original does.
    report = inspect_disk(raw)
    assert report.problems == () and report.needs_ntbootdd is True


def test_second_conversion_reuses_the_raw_file(disks: dict[str, Path], tmp_path: Path) -> None:
    first = convert_to_raw(disks["xp_scsi_qcow2"], tmp_path)
    stamp = first.stat().st_mtime_ns
    second = convert_to_raw(disks["xp_scsi_qcow2"], tmp_path)
    assert second == first and second.stat().st_mtime_ns == stamp


def test_raw_needs_no_conversion(disks: dict[str, Path], tmp_path: Path) -> None:
    assert convert_to_raw(disks["xp_scsi"], tmp_path / "work") == disks["xp_scsi"]
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize("fmt", ["vmdk", "vpc", "vdi"])
def test_other_formats_convert(disks: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    source = tmp_path / f"xp.{fmt}"
    qemu_img("convert", "-f", "raw", "-O", fmt, str(disks["xp_multi"]), str(source))
    raw = convert_to_raw(source, tmp_path / "work")
    assert raw.name == "xp.raw"
    assert raw.read_bytes()[: disks["xp_multi"].stat().st_size] == \
        disks["xp_multi"].read_bytes()


def test_cancel_leaves_nothing(disks: dict[str, Path], tmp_path: Path) -> None:
    cancel = CancelFlag()
    cancel.cancel()
    with pytest.raises(Cancelled):
        convert_to_raw(disks["xp_scsi_qcow2"], tmp_path / "work", cancel=cancel)
    assert list((tmp_path / "work").iterdir()) == []


def test_failing_qemu_img_leaves_nothing(tmp_path: Path) -> None:
    # A qcow2 overlay whose backing file is gone: qemu-img cannot read it.
    broken = tmp_path / "broken.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", str(tmp_path / "gone.img"),
             "-F", "raw", str(broken), "16M")
    events: list[Event] = []
    with pytest.raises(WizardError) as caught:
        convert_to_raw(broken, tmp_path / "work", sink=events.append)
    assert "qemu-img could not convert" in caught.value.message
    assert list((tmp_path / "work").iterdir()) == []
    assert isinstance(events[-1], StepFailed)


def test_without_qemu_img_says_how_to_install(
    disks: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A PATH without qemu-img: the real lookup, on a real folder.
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("qemu-img") is None
    with pytest.raises(WizardError) as caught:
        convert_to_raw(disks["xp_scsi_qcow2"], tmp_path / "work")
    assert "needs qemu-img" in caught.value.message
    assert "install" in (caught.value.fix or "")


def _junk_qcow2(path: Path) -> Path:
    # The qcow2 magic and version, then random bytes: the header is garbage.
    path.write_bytes(b"QFI\xfb\x00\x00\x00\x03" + os.urandom(5000))
    return path


def test_a_damaged_header_is_refused_before_the_step_starts(tmp_path: Path) -> None:
    events: list[Event] = []
    with pytest.raises(WizardError) as caught:
        convert_to_raw(_junk_qcow2(tmp_path / "junk.qcow2"), tmp_path / "work",
                       sink=events.append)
    assert caught.value.message.startswith(
        f"qemu-img cannot read {tmp_path / 'junk.qcow2'} as a QEMU qcow2 image: qemu-img:")
    assert "copied whole" in (caught.value.fix or "")
    # Before: a 10 EiB "size" read from the garbage, progress, then the failure.
    assert events == []
    assert not (tmp_path / "work").exists()


def test_a_work_folder_that_is_a_file_is_refused_up_front(
    disks: dict[str, Path], tmp_path: Path
) -> None:
    blocker = tmp_path / "work"
    blocker.write_text("keep me")
    events: list[Event] = []
    with pytest.raises(WizardError, match="is a file, not a folder"):
        convert_to_raw(disks["xp_scsi_qcow2"], blocker, sink=events.append)
    assert events == [] and blocker.read_text() == "keep me"


def test_damage_met_while_converting_fails_the_step_and_leaves_nothing(
    disks: dict[str, Path], tmp_path: Path
) -> None:
    # The header reads fine (qemu-img info passes), but the first L2 entry
    # points at a compressed cluster that is garbage: reading fails mid-way.
    damaged = tmp_path / "damaged.qcow2"
    damaged.write_bytes(disks["xp_scsi_qcow2"].read_bytes())
    with open(damaged, "r+b") as handle:
        header = handle.read(48)
        (l1_offset,) = struct.unpack(">Q", header[40:48])
        handle.seek(l1_offset)
        (l1_entry,) = struct.unpack(">Q", handle.read(8))
        handle.seek(l1_entry & 0x00FF_FFFF_FFFF_FE00)
        handle.write(struct.pack(">Q", (1 << 62) | 0x123456789))
    events: list[Event] = []
    with pytest.raises(WizardError) as caught:
        convert_to_raw(damaged, tmp_path / "work", sink=events.append)
    assert "qemu-img could not convert" in caught.value.message
    assert "Input/output error" in caught.value.message
    assert "10.0 MiB" in (caught.value.fix or "")
    assert isinstance(events[0], StepStarted) and isinstance(events[-1], StepFailed)
    assert list((tmp_path / "work").iterdir()) == []


def test_cancel_while_qemu_img_runs_stops_it_and_leaves_nothing(tmp_path: Path) -> None:
    raw = tmp_path / "big.raw"
    raw.write_bytes(os.urandom(128 * 1024 * 1024))
    image = tmp_path / "big.qcow2"
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(image))
    raw.unlink()
    cancel = CancelFlag()
    seen: list[Event] = []

    def sink(event: Event) -> None:
        seen.append(event)
        if isinstance(event, StepProgress):
            cancel.cancel()  # as the TUI's Cancel button would, mid-conversion

    with pytest.raises(Cancelled):
        convert_to_raw(image, tmp_path / "work", sink=sink, cancel=cancel)
    assert any(isinstance(e, StepProgress) for e in seen)
    assert isinstance(seen[-1], StepFailed) and seen[-1].message == "interrupted"
    assert list((tmp_path / "work").iterdir()) == []


def test_inspection_does_not_trust_a_damaged_header(tmp_path: Path) -> None:
    junk = _junk_qcow2(tmp_path / "junk.qcow2")
    report = inspect_disk(junk)
    assert report.size == junk.stat().st_size
    assert any("could not be read" in text for text in report.warnings)


def test_an_unrelated_file_of_the_same_name_is_never_replaced(
    disks: dict[str, Path], tmp_path: Path
) -> None:
    work = tmp_path / "images"
    work.mkdir()
    mine = work / "xp_scsi.raw"
    mine.write_bytes(b"the operator's own raw disk, another size")
    events: list[Event] = []
    with pytest.raises(WizardError) as caught:
        convert_to_raw(disks["xp_scsi_qcow2"], work, sink=events.append)
    assert "already exists and is not a conversion of" in caught.value.message
    assert "another folder for the raw copy" in (caught.value.fix or "")
    assert caught.value.key == "build.convert_to"
    assert mine.read_bytes() == b"the operator's own raw disk, another size"
    assert events == [] and sorted(p.name for p in work.iterdir()) == ["xp_scsi.raw"]

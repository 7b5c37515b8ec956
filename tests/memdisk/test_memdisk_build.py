"""memdisk build: real make and nasm on a syslinux-shaped tree, safe extraction."""

from __future__ import annotations

import io
import os
import tarfile
import threading
import time
from pathlib import Path

import pytest

from tests.memdisk.syslinux_tree import (
    BROKEN_ASM,
    SLOW_MAKEFILE,
    make_tarball,
    make_tree,
)
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import CancelFlag, Event, LogLine, StepFailed, StepFinished
from wizard.memdisk.build import build_memdisk
from wizard.memdisk.extract import extract_release
from wizard.memdisk.verify import verify_memdisk


def test_build_from_folder_streams_make_and_verifies(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src")
    out = tmp_path / "out" / "memdisk"
    out.parent.mkdir()
    events: list[Event] = []
    info = build_memdisk(tree, out, work_dir=tmp_path / "work", sink=events.append)
    assert info.path == out
    assert info.version == "6.04 20260101"
    assert info.protocol == "2.10"
    assert verify_memdisk(out).sha256 == info.sha256
    lines = [e.text for e in events if isinstance(e, LogLine)]
    assert any("NASM    memdisk" in line for line in lines)
    assert any("DONE    memdisk" in line for line in lines)
    assert isinstance(events[-1], StepFinished)
    assert events[-1].outputs["memdisk"] == str(out)
    # The operator's tree is left as it was: the build ran on a copy.
    assert not (tree / "memdisk" / "memdisk").exists()
    # The private build folder is gone.
    assert list((tmp_path / "work").iterdir()) == []


def test_build_from_tarball(tmp_path: Path) -> None:
    tarball = make_tarball(make_tree(tmp_path / "src"), tmp_path / "syslinux-6.04.tar.gz")
    out = tmp_path / "memdisk"
    info = build_memdisk(tarball, out, work_dir=tmp_path / "work")
    assert info.version == "6.04 20260101"
    assert out.stat().st_size == 1024


def test_failing_make_shows_last_lines_and_leaves_no_output(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src", asm=BROKEN_ASM)
    out = tmp_path / "memdisk"
    events: list[Event] = []
    with pytest.raises(WizardError) as caught:
        build_memdisk(tree, out, work_dir=tmp_path / "work", sink=events.append)
    assert "make failed" in caught.value.message
    assert "memdisk.asm" in caught.value.message  # nasm's complaint, from make's output
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".memdisk")] == []
    assert isinstance(events[-1], StepFailed)


def test_timeout_stops_make_and_its_children(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src", makefile=SLOW_MAKEFILE)
    out = tmp_path / "memdisk"
    started = time.monotonic()
    with pytest.raises(WizardError) as caught:
        build_memdisk(tree, out, work_dir=tmp_path / "work", timeout=1.5)
    assert time.monotonic() - started < 20
    assert "did not finish within 1.5 seconds" in caught.value.message
    assert "more time" in (caught.value.fix or "") and caught.value.key == "build.timeout"
    assert not out.exists()


def test_cancel_stops_the_build(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src", makefile=SLOW_MAKEFILE)
    cancel = CancelFlag()

    def sink(event: Event) -> None:
        if isinstance(event, LogLine) and "long step" in event.text:
            threading.Timer(0.3, cancel.cancel).start()

    with pytest.raises(Cancelled):
        build_memdisk(tree, tmp_path / "memdisk", work_dir=tmp_path / "work",
                      sink=sink, cancel=cancel)
    assert not (tmp_path / "memdisk").exists()


def test_missing_nasm_names_the_install_command(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "make").symlink_to("/usr/bin/make")
    tree = make_tree(tmp_path / "src")
    with pytest.raises(WizardError) as caught:
        build_memdisk(tree, tmp_path / "memdisk", work_dir=tmp_path / "work", path=str(tools))
    assert "nasm" in caught.value.message
    assert "a C compiler" in caught.value.message
    assert "make," not in caught.value.message
    assert "install" in (caught.value.fix or "")
    assert "nasm" in (caught.value.fix or "")


def test_source_without_memdisk_folder(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    with pytest.raises(WizardError, match="no memdisk/ folder"):
        build_memdisk(tmp_path / "src", tmp_path / "memdisk", work_dir=tmp_path / "work")


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match="does not exist"):
        build_memdisk(tmp_path / "nope.tar.gz", tmp_path / "memdisk",
                      work_dir=tmp_path / "work")


def _tarball_with(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    tarball = tmp_path / "evil.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        good = tarfile.TarInfo("syslinux-6.04/README")
        good.size = 2
        archive.addfile(good, io.BytesIO(b"ok"))
        if member.isfile():
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        else:
            archive.addfile(member)
    return tarball


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


def _hardlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (tarfile.TarInfo("syslinux-6.04/../../escaped"), "outside the folder"),
        (tarfile.TarInfo("../escaped"), "outside the folder"),
        (tarfile.TarInfo("/tmp/escaped-absolute"), "absolute path"),
        (_symlink("syslinux-6.04/link", "../../../etc/passwd"), "symbolic link pointing outside"),
        (_symlink("syslinux-6.04/link", "/etc/passwd"), "symbolic link to an absolute path"),
        (_hardlink("syslinux-6.04/hard", "../outside"), "hard link pointing outside"),
    ],
    ids=["dotdot-inside", "dotdot", "absolute", "symlink-out", "symlink-absolute", "hardlink"],
)
def test_tarball_escaping_the_folder_is_refused(
    tmp_path: Path, member: tarfile.TarInfo, why: str
) -> None:
    tarball = _tarball_with(tmp_path, member)
    dest = tmp_path / "work" / "dest"
    with pytest.raises(WizardError) as caught:
        extract_release(tarball, dest)
    assert why in caught.value.message
    assert "refusing" in caught.value.message
    # Checked before anything was written: not even the harmless member.
    assert not dest.exists()
    assert not (tmp_path / "escaped").exists()
    assert not Path("/tmp/escaped-absolute").exists()


def test_build_refuses_escaping_tarball_and_leaves_no_output(tmp_path: Path) -> None:
    tarball = _tarball_with(tmp_path, tarfile.TarInfo("../escaped"))
    with pytest.raises(WizardError, match="refusing"):
        build_memdisk(tarball, tmp_path / "memdisk", work_dir=tmp_path / "work")
    assert not (tmp_path / "memdisk").exists()
    assert not (tmp_path / "work" / "escaped").exists()


def test_links_inside_the_tree_are_fine(tmp_path: Path) -> None:
    tarball = _tarball_with(tmp_path, _symlink("syslinux-6.04/doc", "README"))
    dest = tmp_path / "dest"
    extract_release(tarball, dest)
    assert os.readlink(dest / "syslinux-6.04" / "doc") == "README"


def test_not_a_tarball(tmp_path: Path) -> None:
    bogus = tmp_path / "syslinux.tar.gz"
    bogus.write_text("not a tarball\n")
    with pytest.raises(WizardError) as caught:
        extract_release(bogus, tmp_path / "dest")
    # One short reason, not tarfile's list of every decompressor it tried.
    assert caught.value.message.endswith("is not a tar archive (plain, gzip, bzip2 or xz)")
    assert "ReadError" not in caught.value.message
    assert not (tmp_path / "dest").exists()


def test_a_work_dir_the_operator_names_keeps_its_mode(tmp_path: Path) -> None:
    # --work-dir /tmp must not turn /tmp into a 0700 folder.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    build_memdisk(make_tree(tmp_path / "src"), tmp_path / "memdisk", work_dir=shared)
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert list(shared.iterdir()) == []


def test_a_missing_work_dir_is_created(tmp_path: Path) -> None:
    work = tmp_path / "new" / "work"
    build_memdisk(make_tree(tmp_path / "src"), tmp_path / "memdisk", work_dir=work)
    assert work.is_dir() and list(work.iterdir()) == []


def test_a_work_dir_that_cannot_be_made_is_an_operator_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    events: list[Event] = []
    with pytest.raises(WizardError, match="cannot create the work folder") as caught:
        build_memdisk(make_tree(tmp_path / "src"), tmp_path / "memdisk",
                      work_dir=blocker / "work", sink=events.append)
    assert "work folder" in (caught.value.fix or "") and caught.value.key == "build.work_dir"
    assert events == []


def _not_a_tarball(tmp_path: Path) -> Path:
    path = tmp_path / "random.tar.gz"
    path.write_bytes(os.urandom(20000))
    return path


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("make_source", "out_name", "timeout", "words"),
    [
        (_not_a_tarball, "memdisk", 60.0, "is not a tar archive (plain, gzip, bzip2 or xz)"),
        (_fifo, "memdisk", 60.0, "neither a file nor a folder"),
        (lambda p: make_tree(p / "src"), ".", 60.0, "is a folder"),
        (lambda p: make_tree(p / "src"), "memdisk", float("nan"), "positive number"),
        (lambda p: make_tree(p / "src"), "memdisk", float("inf"), "positive number"),
        (lambda p: make_tree(p / "src"), "memdisk", 0.0, "positive number"),
    ],
    ids=["random-bytes", "fifo", "out-is-a-folder", "nan", "inf", "zero"],
)
def test_bad_input_is_refused_before_the_step_starts(
    tmp_path: Path, make_source, out_name: str, timeout: float, words: str
) -> None:
    source = make_source(tmp_path)
    events: list[Event] = []
    with pytest.raises(WizardError) as caught:
        build_memdisk(source, tmp_path / out_name, work_dir=tmp_path / "work",
                      timeout=timeout, sink=events.append)
    assert words in caught.value.message
    assert caught.value.fix
    # Refused up front: no "Building memdisk" progress, no work folder.
    assert events == []
    assert not (tmp_path / "work").exists()


def test_a_cut_short_tarball_says_so(tmp_path: Path) -> None:
    whole = make_tarball(make_tree(tmp_path / "src"), tmp_path / "whole.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[:300])
    with pytest.raises(WizardError, match="is damaged or cut short"):
        build_memdisk(cut, tmp_path / "memdisk", work_dir=tmp_path / "work")
    assert not (tmp_path / "memdisk").exists()
    assert list((tmp_path / "work").iterdir()) == []


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
def test_every_tarball_kind_builds(tmp_path: Path, compression: str) -> None:
    import subprocess

    tree = make_tree(tmp_path / "src")
    tarball = tmp_path / f"syslinux-6.04.tar{'.' + compression if compression else ''}"
    # GNU tar, as the release was made: -a picks the compressor by the suffix.
    subprocess.run(["tar", "-caf", str(tarball), "-C", str(tree.parent), tree.name],
                   check=True, capture_output=True)
    info = build_memdisk(tarball, tmp_path / "memdisk", work_dir=tmp_path / "work")
    assert info.version == "6.04 20260101"


def test_a_large_file_of_zeros_is_refused_without_reading_it(tmp_path: Path) -> None:
    # tarfile's "r:*" tried xz last, and xz reads zeros as stream padding: a
    # sparse disk image given as --source was read to its end (minutes).
    zeros = tmp_path / "disk.img"
    with open(zeros, "wb") as handle:
        handle.truncate(16 << 30)
    with pytest.raises(WizardError, match="is not a tar archive"):
        build_memdisk(zeros, tmp_path / "memdisk", work_dir=tmp_path / "work")


def test_a_folder_holding_the_release_copies_only_the_release(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    make_tree(downloads)
    (downloads / "big-unrelated.iso").write_bytes(b"\0" * 4096)
    work = tmp_path / "work"
    copied: list[str] = []

    def sink(event: Event) -> None:
        if isinstance(event, LogLine) and event.text.startswith("make in"):
            copied.extend(p.name for p in next(work.iterdir()).joinpath("source").iterdir())

    info = build_memdisk(downloads, tmp_path / "memdisk", work_dir=work, sink=sink)
    assert info.version == "6.04 20260101"
    assert copied == ["syslinux-6.04"]


def test_a_folder_without_a_release_is_refused_before_copying(tmp_path: Path) -> None:
    # `--source /` must not start by copying the whole file system.
    events: list[Event] = []
    with pytest.raises(WizardError, match="no memdisk/ folder"):
        build_memdisk(Path("/"), tmp_path / "memdisk", work_dir=tmp_path / "work",
                      sink=events.append)
    assert events == [] and not (tmp_path / "work").exists()


def test_a_failed_make_points_to_the_memdisk_a_6x_release_ships(tmp_path: Path) -> None:
    # syslinux 6.x builds from the top (make bios) and ships bios/memdisk/memdisk
    # ready-made; when make in memdisk/ fails, the fix names that file.
    tree = make_tree(tmp_path / "src", asm=BROKEN_ASM, top="syslinux-6.03")
    shipped = tree / "bios" / "memdisk"
    shipped.mkdir(parents=True)
    (shipped / "memdisk").write_bytes(Path("/usr/lib/syslinux/memdisk").read_bytes())
    tarball = make_tarball(tree, tmp_path / "syslinux-6.03.tar.gz")
    with pytest.raises(WizardError) as caught:
        build_memdisk(tarball, tmp_path / "memdisk", work_dir=tmp_path / "work")
    assert ("unpack syslinux-6.03/bios/memdisk/memdisk from syslinux-6.03.tar.gz"
            in (caught.value.fix or ""))
    assert not (tmp_path / "memdisk").exists()

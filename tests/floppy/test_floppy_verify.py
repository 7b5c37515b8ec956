"""The verifier on real floppies: blank, Linux- and NT-formatted, damaged, checked
against a disk report; and fuzzed, so that any image ends in a report."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.floppy.images import (
    DATA,
    SCSI_INI,
    XP_MULTI_INI,
    add_file,
    build_floppy,
    format_image,
    make_nt,
    ready_image,
    root_entry,
    run,
    set_fat,
)
from wizard.core.errors import WizardError
from wizard.disk.report import DiskReport, Partition
from wizard.floppy.blank import create_blank
from wizard.floppy.fat12 import FLOPPY_SIZE
from wizard.floppy.verify import FloppyReport, Result, verify_floppy, verify_image

ALL_CHECKS = ["size", "formatted", "bpb", "boot-code", "file:NTLDR", "file:NTDETECT.COM",
              "file:BOOT.INI", "boot-ini", "ntbootdd"]


def results(report: FloppyReport) -> dict[str, Result]:
    return {check.name: check.result for check in report.checks}


def failed(report: FloppyReport) -> set[str]:
    return {check.name for check in report.failures}


def get(report: FloppyReport, name: str):
    check = report.check(name)
    assert check is not None, f"no check {name}: {[c.name for c in report.checks]}"
    return check


def test_nt_formatted_multi_floppy_is_ready(tmp_path: Path) -> None:
    report = verify_floppy(build_floppy(tmp_path / "f.img"))
    assert [c.name for c in report.checks] == ALL_CHECKS
    assert report.ready, [(c.name, c.detail) for c in report.failures]
    assert all(check.passed for check in report.checks)
    assert all(check.fix is None for check in report.checks)
    boot_ini = get(report, "boot-ini")
    assert boot_ini.detail == ("NTLDR starts Windows from "
                               "multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS")
    assert boot_ini.note is not None and "no NTBOOTDD.SYS is needed" in boot_ini.note
    assert "not needed" in get(report, "ntbootdd").detail
    assert report.files["NTLDR"] == 250_032


def test_blank_image_is_not_formatted_and_the_rest_is_skipped(tmp_path: Path) -> None:
    report = verify_floppy(create_blank(tmp_path / "blank.img"))
    assert not report.ready
    assert failed(report) == {"formatted"}
    formatted = get(report, "formatted")
    assert "blank (all zeros)" in formatted.detail
    assert formatted.fix is not None and "format a:" in formatted.fix
    assert results(report)["size"] is Result.PASS
    skipped = [c.name for c in report.checks if c.result is Result.SKIP]
    assert skipped == ALL_CHECKS[2:]


def test_no_boot_signature_is_not_formatted() -> None:
    data = bytearray(b"\x01" * FLOPPY_SIZE)
    report = verify_image(bytes(data))
    assert failed(report) == {"formatted"}
    assert "0x55AA" in get(report, "formatted").detail


@pytest.mark.parametrize("tool", ["mformat", "mkfs.fat"])
def test_linux_formatted_floppy_fails_only_the_boot_code(tmp_path: Path, tool: str) -> None:
    report = verify_floppy(build_floppy(tmp_path / "f.img", tool=tool, nt=False))
    assert failed(report) == {"boot-code"}
    check = get(report, "boot-code")
    assert "formatted by something other than Windows" in check.detail
    assert check.fix is not None and "format the floppy in Windows" in check.fix
    assert not report.ready


def test_vista_boot_code_is_recognised(tmp_path: Path) -> None:
    path = build_floppy(tmp_path / "f.img", nt=False)
    data = bytearray(path.read_bytes())
    message = b"BOOTMGR is missing\r\nPress Ctrl+Alt+Del to restart\r\n"
    data[400 : 400 + len(message)] = message
    report = verify_image(bytes(data))
    assert "BOOTMGR" in get(report, "boot-code").detail
    assert "XP/2003" in (get(report, "boot-code").fix or "")


@pytest.mark.parametrize("size", [FLOPPY_SIZE - 512, FLOPPY_SIZE + 1, 2 * FLOPPY_SIZE])
def test_wrong_size_says_expected_and_found(size: int) -> None:
    data = ready_image()
    report = verify_image((data + bytes(size))[:size])
    check = get(report, "size")
    assert check.result is Result.FAIL
    assert f"expected 1,474,560 bytes, found {size:,}" == check.detail


def test_720k_floppy_fails_size_and_bpb(tmp_path: Path) -> None:
    path = tmp_path / "720.img"
    run("mformat", "-f", "720", "-C", "-i", path, "::")
    report = verify_floppy(path)
    assert {"size", "bpb"} <= failed(report)
    bpb = get(report, "bpb").detail
    assert "1440 sectors (expected 2880)" in bpb
    assert "media byte 0xF9 (expected 0xF0)" in bpb


def test_wrong_media_byte(tmp_path: Path) -> None:
    data = bytearray(ready_image())
    data[21] = 0xF8
    report = verify_image(bytes(data))
    assert failed(report) == {"bpb"}
    assert "media byte 0xF8" in get(report, "bpb").detail


def test_unreadable_bpb_fails_and_skips_the_files() -> None:
    data = bytearray(ready_image())
    struct.pack_into("<H", data, 11, 0)
    report = verify_image(bytes(data))
    assert "0 bytes per sector" in get(report, "bpb").detail
    assert results(report)["file:NTLDR"] is Result.SKIP
    assert results(report)["boot-ini"] is Result.SKIP
    assert not report.ready


@pytest.mark.parametrize("name", ["NTLDR", "NTDETECT.COM"])
def test_missing_loader_files_are_named(tmp_path: Path, name: str) -> None:
    report = verify_floppy(build_floppy(tmp_path / "f.img", ntldr=name != "NTLDR",
                                        ntdetect=name != "NTDETECT.COM"))
    assert failed(report) == {f"file:{name}"}
    check = get(report, f"file:{name}")
    assert check.fix == f"in Windows: attrib -h -s -r C:\\{name}, then copy C:\\{name} A:\\"


def test_missing_boot_ini_skips_what_depends_on_it(tmp_path: Path) -> None:
    report = verify_floppy(build_floppy(tmp_path / "f.img", boot_ini=None))
    assert failed(report) == {"file:BOOT.INI"}
    assert results(report)["boot-ini"] is Result.SKIP
    assert results(report)["ntbootdd"] is Result.SKIP
    assert not report.ready


def test_empty_file_fails(tmp_path: Path) -> None:
    path = build_floppy(tmp_path / "f.img", ntdetect=False)
    add_file(path, "NTDETECT.COM", b"")
    report = verify_floppy(path)
    assert failed(report) == {"file:NTDETECT.COM"}
    assert "empty" in get(report, "file:NTDETECT.COM").detail


def test_folder_in_place_of_a_file(tmp_path: Path) -> None:
    path = build_floppy(tmp_path / "f.img", ntldr=False)
    run("mmd", "-i", path, "::NTLDR")
    report = verify_floppy(path)
    assert "a folder, not a file" in get(report, "file:NTLDR").detail


def test_scsi_without_ntbootdd_names_it(tmp_path: Path) -> None:
    report = verify_floppy(build_floppy(tmp_path / "f.img", boot_ini=SCSI_INI))
    assert failed(report) == {"ntbootdd"}
    check = get(report, "ntbootdd")
    assert "scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS" in check.detail
    assert "NTBOOTDD.SYS" in check.detail
    assert check.fix is not None and "copy C:\\NTBOOTDD.SYS A:\\" in check.fix


def test_scsi_with_ntbootdd_is_ready(tmp_path: Path) -> None:
    report = verify_floppy(build_floppy(tmp_path / "f.img", boot_ini=SCSI_INI,
                                        ntbootdd=True))
    assert report.ready, [(c.name, c.detail) for c in report.failures]
    assert "needed and present (81,408 bytes)" in get(report, "ntbootdd").detail


def test_signature_path_needs_ntbootdd(tmp_path: Path) -> None:
    ini = SCSI_INI.replace(b"scsi(0)", b"signature(8b467c12)")
    report = verify_floppy(build_floppy(tmp_path / "f.img", boot_ini=ini))
    assert failed(report) == {"ntbootdd"}


def test_boot_ini_with_garbage(tmp_path: Path) -> None:
    garbage = bytes(range(1, 256)) * 3
    report = verify_floppy(build_floppy(tmp_path / "f.img", boot_ini=garbage))
    assert failed(report) == {"boot-ini"}
    assert "no [boot loader] section" in get(report, "boot-ini").detail
    assert results(report)["ntbootdd"] is Result.SKIP
    assert "\n" not in get(report, "boot-ini").detail


def test_boot_ini_with_a_bad_arc_path(tmp_path: Path) -> None:
    ini = XP_MULTI_INI.replace(b"partition(1)", b"partition(0)")
    report = verify_floppy(build_floppy(tmp_path / "f.img", boot_ini=ini))
    assert failed(report) == {"boot-ini"}
    assert "partitions count from 1" in get(report, "boot-ini").detail


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("loop", "loops back to cluster"),
        ("free", "free, yet NTLDR uses it"),
        ("out-of-range", "outside the floppy's clusters"),
    ],
)
def test_corrupt_fat_is_reported_for_the_file(damage: str, words: str) -> None:
    data = bytearray(ready_image())
    _, first, _ = root_entry(bytes(data), "NTLDR")
    if damage == "loop":
        set_fat(data, first + 10, first + 3)
    elif damage == "free":
        set_fat(data, first + 10, 0)
    else:
        set_fat(data, first + 10, 3500)
    report = verify_image(bytes(data))
    assert failed(report) == {"file:NTLDR"}
    check = get(report, "file:NTLDR")
    assert words in check.detail
    assert "the FAT is damaged" in check.detail
    assert check.fix is not None and "format the floppy in Windows again" in check.fix


def test_nt_boot_code_survives_mtools_copies(tmp_path: Path) -> None:
    # NT-formatting first and copying after must keep the boot code in place.
    path = make_nt(format_image(tmp_path / "f.img"))
    add_file(path, "NTLDR", b"x" * 100)
    assert results(verify_floppy(path))["boot-code"] is Result.PASS


def _disk(partitions: tuple[Partition, ...], **extra) -> DiskReport:
    return DiskReport(path=Path("/images/winxp.img"), format="raw", size=8 << 30,
                      partitions=partitions, **extra)


WINDOWS_ROOT = ("$MFT", "BOOT.INI", "Documents and Settings", "NTDETECT.COM", "NTLDR",
                "Program Files", "WINDOWS", "pagefile.sys")


def test_disk_cross_check_passes_when_partition_and_folder_exist() -> None:
    disk = _disk((Partition(1, 0x07, True, 32256, 8 << 30, WINDOWS_ROOT),))
    report = verify_image(ready_image(), disk=disk)
    check = get(report, "disk")
    assert check.passed
    assert check.detail == "partition 1 exists and holds \\WINDOWS"
    assert report.ready


def test_disk_cross_check_missing_partition() -> None:
    disk = _disk((Partition(2, 0x07, True, 32256, 8 << 30, WINDOWS_ROOT),))
    report = verify_image(ready_image(), disk=disk)
    check = get(report, "disk")
    assert not check.passed
    assert "partition(1), but the disk has partitions 2" in check.detail
    assert not report.ready


def test_disk_cross_check_missing_folder() -> None:
    root = (*(name for name in WINDOWS_ROOT if name != "WINDOWS"), "WINNT")
    disk = _disk((Partition(1, 0x07, True, 32256, 8 << 30, root),))
    check = get(verify_image(ready_image(), disk=disk), "disk")
    assert not check.passed
    assert "partition 1 has no folder \\WINDOWS" in check.detail


def test_disk_cross_check_unreadable_root_and_other_notes() -> None:
    disk = _disk((Partition(1, 0x07, True, 32256, 8 << 30, None),),
                 boot_files={"NTLDR": 297_072},
                 arc_paths=("scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS",))
    report = verify_image(ready_image(), disk=disk)
    check = get(report, "disk")
    # The cross-check was asked for and could not run: the floppy is not ready on it.
    assert check.result is Result.FAIL and not report.ready
    assert check.detail == ("the cross-check could not run: partition 1's files could not "
                            "be read, so \\WINDOWS was not looked for")
    assert check.note is not None
    assert "NTLDR is 250,032 bytes on the floppy but 297,072 on the disk" in check.note
    assert "C:\\BOOT.INI starts scsi(0)" in check.note


def test_disk_without_partitions_fails_the_cross_check() -> None:
    disk = _disk((), problems=("winxp.img is a qcow2 image, not raw",))
    report = verify_image(ready_image(), disk=disk)
    check = get(report, "disk")
    assert check.result is Result.FAIL and not report.ready
    assert "the cross-check could not run" in check.detail and "qcow2" in check.detail
    assert check.fix is not None and "raw image of the Windows disk" in check.fix


def test_missing_and_folder_paths_are_operator_errors(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match="does not exist") as missing:
        verify_floppy(tmp_path / "nope.img")
    assert missing.value.fix is not None and "floppy create" in missing.value.fix
    with pytest.raises(WizardError, match="is a folder"):
        verify_floppy(tmp_path)


def test_a_huge_file_is_not_read_whole(tmp_path: Path) -> None:
    # A disk image given by mistake: a sparse 64 GiB file must be judged on its
    # first floppy's worth of bytes, instantly.
    path = tmp_path / "disk.img"
    with open(path, "wb") as handle:
        handle.write(ready_image())
        handle.truncate(64 << 30)
    report = verify_floppy(path)
    assert get(report, "size").detail == f"expected 1,474,560 bytes, found {64 << 30:,}"
    assert failed(report) == {"size"}


def _assert_report(report: FloppyReport) -> None:
    assert isinstance(report, FloppyReport)
    # "internal" is the verifier catching its own bug: it must never happen.
    assert report.check("internal") is None
    assert report.checks[0].name == "size"
    for check in report.checks:
        assert check.title
        if check.result is Result.FAIL:
            assert check.fix
        assert "\n" not in check.detail
    assert report.ready == (not report.failures)


@settings(max_examples=300, deadline=3000)
@given(st.lists(st.tuples(st.integers(0, 34 * 512), st.integers(0, 255)),
                min_size=1, max_size=30))
def test_fuzz_mutated_floppies_always_give_a_report(
        mutations: list[tuple[int, int]]) -> None:
    data = bytearray(ready_image(scsi=True))
    for offset, value in mutations:
        data[offset] = value
    _assert_report(verify_image(bytes(data), disk=_disk(
        (Partition(1, 0x07, True, 32256, 8 << 30, WINDOWS_ROOT),))))


@settings(max_examples=150, deadline=3000)
@given(st.integers(0, FLOPPY_SIZE + 10), st.binary(max_size=600))
def test_fuzz_cut_and_spliced_floppies_always_give_a_report(cut: int, tail: bytes) -> None:
    _assert_report(verify_image(ready_image()[:cut] + tail))


@settings(max_examples=150, deadline=3000)
@given(st.binary(min_size=0, max_size=4096))
def test_fuzz_random_boot_sectors_always_give_a_report(head: bytes) -> None:
    data = bytearray(ready_image())
    data[: len(head)] = head
    data[510:512] = b"\x55\xaa"  # keep it "formatted" so the deeper checks run
    _assert_report(verify_image(bytes(data)))


@settings(max_examples=150, deadline=3000)
@given(st.binary(max_size=2000))
def test_fuzz_boot_ini_contents_always_give_a_report(content: bytes) -> None:
    # Replace BOOT.INI's bytes in place (its first cluster), keeping its size.
    data = bytearray(ready_image())
    _, first, size = root_entry(bytes(data), "BOOT.INI")
    start = DATA + (first - 2) * 512
    data[start : start + size] = (content + bytes(size))[:size]
    _assert_report(verify_image(bytes(data)))


def test_report_as_dict_is_json_ready(tmp_path: Path) -> None:
    import json

    report = verify_floppy(build_floppy(tmp_path / "f.img", boot_ini=SCSI_INI))
    data = json.loads(json.dumps(report.as_dict()))
    assert data["ready"] is False
    assert data["path"] == str(tmp_path / "f.img")
    by_name = {check["name"]: check for check in data["checks"]}
    assert by_name["ntbootdd"]["result"] == "fail"
    assert "NTBOOTDD.SYS: not in the floppy's root folder" in by_name["ntbootdd"]["detail"]
    assert by_name["size"]["fix"] is None
    assert data["files"]["BOOT.INI"] == len(SCSI_INI)


def test_disk_cross_check_multi_path_on_another_bios_disk(tmp_path: Path) -> None:
    # Windows installed on the VM's second disk: its BOOT.INI says rdisk(1),
    # but that disk becomes the instance's first (and only) one.
    second = XP_MULTI_INI.replace(b"rdisk(0)", b"rdisk(1)")
    floppy = build_floppy(tmp_path / "f.img", boot_ini=second)
    report = verify_floppy(floppy, _disk((Partition(1, 0x07, True, 32256, 8 << 30,
                                                    WINDOWS_ROOT),)))
    check = get(report, "disk")
    assert not check.passed and not report.ready
    assert "rdisk(1)" in check.detail and "rdisk(0)" in check.detail
    assert "change rdisk(1) to rdisk(0)" in (check.fix or "")
    # Without the disk there is nothing to compare with: the floppy is fine.
    assert verify_floppy(floppy).ready

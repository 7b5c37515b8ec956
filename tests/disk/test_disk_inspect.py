"""inspect_disk on real images: NTFS volumes made by ntfs-3g (shipped), tables written in Python."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.disk import images
from wizard.core.errors import WizardError
from wizard.disk.formats import detect_format, virtual_size
from wizard.disk.inspect import inspect_disk
from wizard.disk.mbr import read_partition_table


def test_xp_on_scsi_is_ready_and_needs_ntbootdd(disks: dict[str, Path]) -> None:
    report = inspect_disk(disks["xp_scsi"])
    assert report.problems == ()
    assert report.warnings == ()
    assert report.format == "raw"
    assert report.size == disks["xp_scsi"].stat().st_size
    system = report.system_partition
    assert system is not None and system.number == 1 and system.active
    assert system.start == 1024 * 1024
    assert system.has_root_entry("ntldr") is True
    assert set(report.boot_files) == {"NTLDR", "NTDETECT.COM", "BOOT.INI", "NTBOOTDD.SYS"}
    assert report.boot_files["NTLDR"] == len(b"NTLDR stand-in " * 100)
    assert report.arc_paths == ("scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS",)
    assert report.needs_ntbootdd is True
    assert report.floppy_files == ("NTLDR", "NTDETECT.COM", "BOOT.INI", "NTBOOTDD.SYS")
    assert report.boot_ini_text is not None and "[boot loader]" in report.boot_ini_text
    assert not report.nt6


def test_xp_on_ide_warns_about_scsi(disks: dict[str, Path]) -> None:
    report = inspect_disk(disks["xp_multi"])
    assert report.problems == ()
    assert report.needs_ntbootdd is False
    assert report.floppy_files == ("NTLDR", "NTDETECT.COM", "BOOT.INI")
    assert len(report.warnings) == 1
    warning = report.warnings[0]
    assert "multi(0)" in warning and "IDE" in warning and "SCSI" in warning


def test_scsi_without_ntbootdd_is_a_problem(disks: dict[str, Path]) -> None:
    report = inspect_disk(disks["scsi_no_ntbootdd"])
    assert len(report.problems) == 1
    assert "NTBOOTDD.SYS" in report.problems[0]


def test_boot_ini_naming_a_missing_partition(disks: dict[str, Path]) -> None:
    report = inspect_disk(disks["wrong_partition"])
    assert any("partition(3)" in text for text in report.problems)


def test_nt6_is_a_problem_for_memdisk_but_not_native(disks: dict[str, Path]) -> None:
    memdisk = inspect_disk(disks["nt6"], recipe="memdisk")
    assert memdisk.nt6
    assert len(memdisk.problems) == 1
    assert "BOOTMGR" in memdisk.problems[0] and "use the native recipe" in memdisk.problems[0]
    native = inspect_disk(disks["nt6"], recipe="native")
    assert native.nt6 and native.problems == ()
    assert native.boot_files == {"BOOTMGR": len(b"BOOTMGR stand-in " * 100)}


def test_no_active_partition(disks: dict[str, Path]) -> None:
    memdisk = inspect_disk(disks["not_active"], recipe="memdisk")
    assert memdisk.problems == ()
    assert any("active" in text for text in memdisk.warnings)
    native = inspect_disk(disks["not_active"], recipe="native")
    assert any("active" in text for text in native.problems)


def test_gpt_is_a_problem(disks: dict[str, Path]) -> None:
    report = inspect_disk(disks["gpt"])
    assert len(report.problems) == 1
    assert "GPT" in report.problems[0]


def test_no_ntfs_partition_is_a_problem(disks: dict[str, Path]) -> None:
    report = inspect_disk(disks["no_ntfs"])
    assert len(report.problems) == 1
    assert "no NTFS partition" in report.problems[0]
    assert "Linux" in report.problems[0]
    assert report.partitions[0].type_id == 0x83


def test_no_mbr_is_a_problem(disks: dict[str, Path]) -> None:
    report = inspect_disk(disks["no_mbr"])
    assert len(report.problems) == 1 and "no MBR" in report.problems[0]


@pytest.mark.parametrize("name", ["unformatted", "damaged"])
def test_unreadable_ntfs_is_a_warning_naming_what_was_not_checked(
    disks: dict[str, Path], name: str
) -> None:
    report = inspect_disk(disks[name])
    assert report.problems == ()
    assert len(report.warnings) == 1
    assert "could not read the NTFS file system of partition 1" in report.warnings[0]
    assert "NTBOOTDD.SYS were not checked" in report.warnings[0]
    system = report.system_partition
    assert system is not None and system.root_entries is None
    assert system.has_root_entry("NTLDR") is None
    assert report.needs_ntbootdd is None


def test_logical_partitions_are_numbered_as_arc_paths_count(disks: dict[str, Path]) -> None:
    report = inspect_disk(disks["logical"])
    assert [(p.number, p.type_id) for p in report.partitions] == [(1, 0x0B), (2, 0x07)]
    assert report.partitions[1].start == 10240 * 512
    assert report.problems == ()
    assert report.arc_paths == ("scsi(0)disk(0)rdisk(0)partition(2)\\WINDOWS",)


@pytest.mark.parametrize("fmt", ["qcow2", "vmdk", "vpc", "vdi", "vhdx", "qed"])
def test_formats_by_magic(disks: dict[str, Path], fmt: str) -> None:
    path = disks[f"empty_{fmt}"]
    assert detect_format(path) == fmt
    size = virtual_size(path, fmt)
    # VHD rounds the size up to whole CHS cylinders.
    assert size is not None and 16 * 1024 * 1024 <= size < 17 * 1024 * 1024
    report = inspect_disk(path)
    assert report.format == fmt
    assert report.size == size
    assert len(report.problems) == 1
    assert "not raw" in report.problems[0]
    assert f"qemu-img convert -p -f {fmt} -O raw" in report.problems[0]


def test_vmdk_descriptor_and_fixed_vhd(tmp_path: Path) -> None:
    from tests.disk.images import qemu_img

    flat = tmp_path / "flat.vmdk"
    qemu_img("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", str(flat), "1M")
    assert flat.read_bytes().startswith(b"# Disk DescriptorFile")
    assert detect_format(flat) == "vmdk"
    fixed = tmp_path / "fixed.vhd"
    qemu_img("create", "-q", "-f", "vpc", "-o", "subformat=fixed", str(fixed), "1M")
    assert detect_format(fixed) == "vpc"


def test_missing_or_folder_image(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match="does not exist"):
        inspect_disk(tmp_path / "missing.img")
    with pytest.raises(WizardError, match="is a folder"):
        inspect_disk(tmp_path)


def test_tiny_file(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.img"
    tiny.write_bytes(b"abc")
    report = inspect_disk(tiny)
    assert "too small" in report.problems[0]


def test_partition_table_of_a_text_sector() -> None:
    table = read_partition_table(b"hello" * 200)
    assert not table.has_signature and table.entries == ()


def test_fifo_and_device_are_refused_without_reading(tmp_path: Path) -> None:
    from tests.disk.oddpaths import fifo

    for path in (fifo(tmp_path / "pipe.img"), Path("/dev/zero")):
        with pytest.raises(WizardError, match="neither a file nor a block device") as caught:
            inspect_disk(path)
        assert "block device" in (caught.value.fix or "")


def test_unreadable_image_is_one_line_in_check(tmp_path: Path, disks: dict[str, Path]) -> None:
    from tests.disk.oddpaths import one_error_line, run_wizard

    image = tmp_path / "disk.img"
    image.write_bytes(disks["xp_scsi"].read_bytes())
    image.chmod(0)
    home = tmp_path / "home"
    home.mkdir()
    result = run_wizard("check", "--disk", str(image), "--work-dir", str(tmp_path),
                        home=home, unprivileged=True)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "cannot read the disk image" in line and "Permission denied" in line
    assert result.stdout == ""


def test_report_survives_a_session_state_file(disks: dict[str, Path]) -> None:
    import json

    from wizard.disk.report import DiskReport

    for name in ("xp_scsi", "logical", "gpt", "empty_qcow2"):
        report = inspect_disk(disks[name])
        back = DiskReport.from_dict(json.loads(json.dumps(report.as_dict())))
        assert back == report, name
    assert back.floppy_files == report.floppy_files


def test_image_of_one_partition_is_named_as_such(disks: dict[str, Path], tmp_path: Path) -> None:
    # An NTFS boot sector ends in 0x55AA too; its boot code was read as a
    # partition table ("no NTFS partition (partitions none)").
    volume = tmp_path / "c-drive.img"
    volume.write_bytes(disks["xp_scsi"].read_bytes()[images.START_SECTOR * 512:])
    report = inspect_disk(volume)
    assert len(report.problems) == 1
    assert "starts with an NTFS boot sector, not an MBR" in report.problems[0]
    assert "image of the whole disk" in report.problems[0]
    assert report.partitions == ()


def test_windows_on_the_vms_second_disk_is_a_warning(tmp_path: Path) -> None:
    boot_ini = images.MULTI_BOOT_INI.replace("rdisk(0)", "rdisk(1)")
    disk = images.windows_disk(tmp_path / "second", images.xp_files(boot_ini, False))
    report = inspect_disk(disk)
    assert report.problems == ()
    assert any("change rdisk(1) to rdisk(0) in the floppy's copy" in w
               for w in report.warnings), report.warnings


@pytest.fixture()
def loop_device(disks: dict[str, Path], tmp_path: Path) -> Iterator[Path]:
    """The SCSI XP disk behind a loop device, as an LVM-backed VM's disk is."""
    import subprocess

    backing = tmp_path / "disk.img"
    backing.write_bytes(disks["xp_scsi"].read_bytes())
    result = subprocess.run(["losetup", "-f", "--show", "--read-only", str(backing)],
                            capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        pytest.skip(f"cannot set up a loop device here ({result.stderr.strip()})")
    device = Path(result.stdout.strip())
    yield device
    subprocess.run(["losetup", "-d", str(device)], check=False, timeout=30)


def test_a_block_device_is_inspected_like_its_image(
    loop_device: Path, disks: dict[str, Path]
) -> None:
    # bundle takes an LVM volume as the image; the inspection must too. Its
    # st_size is 0: before, it was refused (and would have read as 0 bytes).
    report = inspect_disk(loop_device)
    assert report.size == disks["xp_scsi"].stat().st_size
    assert report.problems == ()
    assert report.needs_ntbootdd is True
    assert report.floppy_files == ("NTLDR", "NTDETECT.COM", "BOOT.INI", "NTBOOTDD.SYS")


@settings(max_examples=300, deadline=2000)
@given(st.binary(min_size=512, max_size=512 * 64), st.lists(st.integers(0, 3), max_size=4))
def test_fuzz_partition_tables_never_crash_or_loop(disk: bytes, extended: list[int]) -> None:
    # Random sectors behind a valid signature, some slots typed extended so
    # that the EBR chain is followed through garbage (loops, wild pointers).
    data = bytearray(disk)
    data[0x1FE:0x200] = b"\x55\xaa"
    for slot in extended:
        data[0x1BE + 16 * slot + 4] = 0x05

    def read_sector(lba: int) -> bytes:
        return bytes(data[lba * 512:(lba + 1) * 512])

    table = read_partition_table(bytes(data[:512]), read_sector)
    assert table.has_signature
    assert len(table.entries) <= 4 + 4 * 128
    numbers = [entry.number for entry in table.entries]
    assert numbers == list(range(1, len(numbers) + 1))


@settings(max_examples=40, deadline=10000)
@given(st.binary(min_size=0, max_size=4096))
def test_fuzz_random_disk_images_always_give_a_report(head: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "disk.img"
        data = bytearray(head.ljust(64 * 1024, b"\0"))
        data[0x1FE:0x200] = b"\x55\xaa"
        path.write_bytes(bytes(data))
        report = inspect_disk(path)
        assert report.format in ("raw", "vpc", "qcow", "qcow2", "vmdk", "vhdx", "qed", "vdi")

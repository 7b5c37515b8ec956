"""``euca-windows-wizard floppy``: exit codes, one-line errors, readable reports."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.disk import images as disk_images
from tests.floppy.images import SCSI_INI, build_floppy
from tests.wizard_cli import run_wizard
from wizard.cli.floppy import render_report
from wizard.core.assets import asset_path
from wizard.floppy.verify import verify_image

ROOT = Path(__file__).resolve().parent.parent.parent


def cli(*args: str | Path, encoding: str = "utf-8", cwd: Path | None = None):
    return run_wizard(*args, encoding=encoding, cwd=cwd)


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("euca-windows-wizard: error: ")
    for word in words:
        assert word in lines[0]


def test_create_writes_the_blank(tmp_path: Path) -> None:
    result = cli("floppy", "create", tmp_path / "f.img")
    assert result.returncode == 0, result.stderr
    data = (tmp_path / "f.img").read_bytes()
    assert len(data) == 1_474_560
    assert data == bytes(1_474_560)
    assert "floppy checklist" in result.stdout


def test_create_refuses_an_existing_file_without_force(tmp_path: Path) -> None:
    path = tmp_path / "f.img"
    path.write_bytes(b"formatted floppy, keep me")
    one_line_error(cli("floppy", "create", path), "already exists", "--force")
    assert path.read_bytes() == b"formatted floppy, keep me"
    result = cli("floppy", "create", path, "--force")
    assert result.returncode == 0, result.stderr
    assert path.read_bytes() == bytes(1_474_560)
    assert [p.name for p in tmp_path.iterdir()] == ["f.img"]  # no temporary left over


def test_create_errors(tmp_path: Path) -> None:
    one_line_error(cli("floppy", "create", tmp_path), "is a folder")
    one_line_error(cli("floppy", "create", tmp_path / "no" / "f.img"), "does not exist")


def test_verify_errors(tmp_path: Path) -> None:
    one_line_error(cli("floppy", "verify", tmp_path / "missing.img"), "does not exist",
                   "floppy create")
    one_line_error(cli("floppy", "verify", tmp_path), "is a folder")
    floppy = build_floppy(tmp_path / "f.img")
    one_line_error(cli("floppy", "verify", floppy, "--disk", tmp_path / "nope.img"),
                   "disk image", "does not exist")


def test_floppy_needs_an_action() -> None:
    result = cli("floppy")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "create" in result.stderr and "verify" in result.stderr


def test_verify_blank_exits_1_with_fixes(tmp_path: Path) -> None:
    assert cli("floppy", "create", tmp_path / "f.img").returncode == 0
    result = cli("floppy", "verify", tmp_path / "f.img")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"Floppy image {tmp_path / 'f.img'}"
    assert any(line.startswith("  ✗  Formatted: the image is blank") for line in lines)
    assert any(line.strip().startswith("Fix: attach the image") for line in lines)
    assert lines[-1] == "Not ready: 1 check failed."


def test_verify_ready_floppy_exits_0(tmp_path: Path) -> None:
    floppy = build_floppy(tmp_path / "f.img", boot_ini=SCSI_INI, ntbootdd=True)
    result = cli("floppy", "verify", floppy)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[-2] == "Ready: the floppy can be bundled as the ramdisk."
    assert lines[-1] == f"Next: euca-windows-wizard bundle --image-type ramdisk -i {floppy}"
    checks = [line for line in lines[1:-2] if line.startswith("  ✓")]
    assert len(checks) == 9
    assert "Fix:" not in result.stdout


def test_verify_output_is_ascii_when_stdout_is_not_utf8(tmp_path: Path) -> None:
    floppy = build_floppy(tmp_path / "f.img", nt=False)
    result = cli("floppy", "verify", floppy, encoding="ascii")
    assert result.returncode == 1
    result.stdout.encode("ascii")  # raises if anything else slipped through
    assert "  PASS  Size: 1,474,560 bytes" in result.stdout
    assert "  FAIL  Boot code loads NTLDR:" in result.stdout


def test_render_report_one_line_per_check() -> None:
    from tests.floppy.images import ready_image

    report = verify_image(ready_image())
    text = render_report(report, ascii_only=True)
    lines = text.splitlines()
    check_lines = [line for line in lines if line.startswith(("  PASS", "  FAIL", "  SKIP"))]
    assert len(check_lines) == len(report.checks)


def test_checklist_prints_this_builds_commands(tmp_path: Path) -> None:
    result = cli("floppy", "checklist", "win-boot.img", "--vm", "winxp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    image = tmp_path / "win-boot.img"
    assert f"virsh attach-disk winxp {image} fda --type floppy" in result.stdout
    assert f"-fda {image}" in result.stdout
    assert "format a:" in result.stdout
    assert "copy C:\\NTLDR A:\\" in result.stdout
    assert "The image does not exist yet" in result.stdout
    assert result.stdout.splitlines()[-1] == f"Next: euca-windows-wizard floppy create {image}"
    ascii_run = cli("floppy", "checklist", image, encoding="ascii")
    assert ascii_run.returncode == 0
    ascii_run.stdout.encode("ascii")


def test_checklist_of_an_existing_floppy_ends_with_the_verify_command(tmp_path: Path) -> None:
    image = tmp_path / "my boot.img"
    assert cli("floppy", "create", image).returncode == 0
    result = cli("floppy", "checklist", image, "--vm", "winxp")
    assert result.returncode == 0, result.stderr
    assert "does not exist yet" not in result.stdout
    assert result.stdout.splitlines()[-1] == (
        f"Next: euca-windows-wizard floppy verify '{image}'")


def test_checklist_of_a_folder_is_an_error(tmp_path: Path) -> None:
    one_line_error(cli("floppy", "checklist", tmp_path), "is a folder")


@pytest.fixture(scope="module")
def scsi_disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real raw disk: MBR, an NTFS partition 1 with XP's boot files, scsi() BOOT.INI."""
    files = disk_images.xp_files(disk_images.SCSI_BOOT_INI, ntbootdd=True)
    # ntfscp cannot make a folder without mounting; a file named WINDOWS puts
    # the name in the root folder listing, which is what the check reads.
    files["WINDOWS"] = b"stand-in for the Windows folder"
    return disk_images.windows_disk(tmp_path_factory.mktemp("disk"), files)


def test_checklist_with_a_real_disk_names_ntbootdd(scsi_disk: Path, tmp_path: Path) -> None:
    result = cli("floppy", "checklist", tmp_path / "f.img", "--disk", scsi_disk)
    assert result.returncode == 0, result.stderr
    assert "copy C:\\NTBOOTDD.SYS A:\\" in result.stdout
    assert "if exist" not in result.stdout
    assert f"--disk {scsi_disk}" in result.stdout


def test_verify_against_a_real_disk(scsi_disk: Path, tmp_path: Path) -> None:
    good = build_floppy(tmp_path / "good.img", boot_ini=SCSI_INI, ntbootdd=True)
    result = cli("floppy", "verify", good, "--disk", scsi_disk)
    assert result.returncode == 0, result.stdout
    assert "BOOT.INI points into disk.img: partition 1 exists and holds \\WINDOWS" in \
        result.stdout
    wrong = build_floppy(tmp_path / "wrong.img", ntbootdd=True,
                         boot_ini=SCSI_INI.replace(b"partition(1)", b"partition(2)"))
    result = cli("floppy", "verify", wrong, "--disk", scsi_disk)
    assert result.returncode == 1
    # Lines are wrapped at 80 columns: compare the words.
    assert "partition(2), but the disk has partitions 1" in " ".join(result.stdout.split())


def test_help_text_ships_with_the_wizard() -> None:
    text = asset_path("help", "floppy.md").read_text(encoding="utf-8")
    for words in ("format a:", "NTLDR", "NTBOOTDD.SYS", "floppy verify", "attrib -h -s -r"):
        assert words in text


def test_create_never_replaces_a_device_fifo_or_link(tmp_path: Path) -> None:
    # Found by hand: `floppy create /dev/null --force`, as root, renamed a
    # regular file over /dev/null.
    from tests.disk.oddpaths import fifo

    pipe = fifo(tmp_path / "pipe.img")
    target = tmp_path / "target.img"
    target.write_bytes(b"formatted floppy, keep me")
    link = tmp_path / "link.img"
    link.symlink_to(target)
    dangling = tmp_path / "dangling.img"
    dangling.symlink_to(tmp_path / "nowhere.img")
    for path, words in ((pipe, "not a regular file"), (link, "symbolic link"),
                        (dangling, "symbolic link")):
        one_line_error(cli("floppy", "create", path, "--force"), words, "even when told to")
    assert pipe.is_fifo()
    assert link.is_symlink() and target.read_bytes() == b"formatted floppy, keep me"
    assert dangling.is_symlink() and not (tmp_path / "nowhere.img").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dangling.img", "link.img", "pipe.img", "target.img"]


def test_create_refuses_a_character_device_without_touching_it(tmp_path: Path) -> None:
    # A device node of the test's own (the same as /dev/null), so that a
    # regression replaces a file in tmp_path, not the machine's /dev/null.
    import stat

    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    before = os.stat(device)
    one_line_error(cli("floppy", "create", device, "--force"), "not a regular file")
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_verify_refuses_a_fifo_instead_of_waiting(tmp_path: Path) -> None:
    from tests.disk.oddpaths import fifo

    pipe = fifo(tmp_path / "pipe.img")
    # cli() has a timeout: before the fix, reading the FIFO hung forever.
    one_line_error(cli("floppy", "verify", pipe), "not a regular file")
    floppy = build_floppy(tmp_path / "f.img")
    one_line_error(cli("floppy", "verify", floppy, "--disk", pipe), "disk image",
                   "neither a file nor a block device")
    one_line_error(cli("floppy", "checklist", floppy, "--disk", "/dev/zero"),
                   "neither a file nor a block device")


def test_unreadable_floppy_is_one_line(tmp_path: Path) -> None:
    from tests.disk.oddpaths import one_error_line, run_wizard

    floppy = build_floppy(tmp_path / "f.img")
    floppy.chmod(0)
    home = tmp_path / "home"
    home.mkdir()
    result = run_wizard("floppy", "verify", str(floppy), home=home, unprivileged=True)
    assert result.returncode == 1
    assert "Permission denied" in one_error_line(result.stderr)


def test_reports_fit_80_columns(tmp_path: Path) -> None:
    # Before, a check's line ran to 120 columns and more (the BPB detail, the
    # NTBOOTDD.SYS failure); only the fixes were wrapped.
    scsi_without_driver = build_floppy(tmp_path / "f.img", boot_ini=SCSI_INI)
    result = cli("floppy", "verify", scsi_without_driver)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert any(line.startswith("  ✗  NTBOOTDD.SYS: ") for line in lines)
    # The ARC path is never cut in two.
    assert "scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS" in result.stdout


def test_a_wrong_size_never_suggests_forcing_over_that_file(tmp_path: Path) -> None:
    # A file of the wrong size may be the Windows disk image given by mistake:
    # the fix must not tell the operator to --force a blank over it.
    disk = tmp_path / "xp.img"
    disk.write_bytes(bytes(4 * 1_474_560))
    result = cli("floppy", "verify", disk)
    assert result.returncode == 1
    text = " ".join(result.stdout.split())
    assert "found 5,898,240" in text
    assert "--force" not in text
    assert "floppy create win-boot.img" in text


def test_checklist_commands_quote_odd_paths_and_name_the_disk_absolutely(
    scsi_disk: Path, tmp_path: Path
) -> None:
    relative = Path(os.path.relpath(scsi_disk, tmp_path))
    result = cli("floppy", "checklist", "my floppy.img", "--disk", relative, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"--disk {scsi_disk}" in result.stdout
    assert f"floppy create '{tmp_path / 'my floppy.img'}'" in result.stdout


def test_checklist_prose_fits_80_columns_and_commands_stay_whole(tmp_path: Path) -> None:
    from wizard.cli.floppy import render_checklist
    from wizard.floppy.checklist import build_checklist

    image = tmp_path / "a rather long folder name" / "win-boot.img"
    checklist = build_checklist(image, vm="windows-xp-professional")
    text = render_checklist(checklist)
    commands = {c for step in checklist.steps for c in step.commands}
    commands |= {a.partition(": ")[2] for step in checklist.steps for a in step.alternatives}
    for line in text.splitlines()[1:]:  # the title names the image, however long
        if len(line) > 80:
            assert line.strip() in commands, line
    # Every command is printed whole, on one line.
    printed = {line.strip() for line in text.splitlines()}
    assert commands <= printed

"""The Windows-side checklist: this build's paths and VM, and just the files it needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.disk.report import DiskReport, Partition
from wizard.floppy.checklist import VM_PLACEHOLDER, Checklist, build_checklist

SCSI_TEXT = ("[boot loader]\r\ndefault=scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\r\n"
             "[operating systems]\r\n"
             "scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS=\"XP\" /fastdetect\r\n")
MULTI_TEXT = SCSI_TEXT.replace("scsi(0)", "multi(0)")


def commands(checklist: Checklist) -> list[str]:
    return [command for step in checklist.steps for command in step.commands]


def everything(checklist: Checklist) -> str:
    parts = [*checklist.notes]
    for step in checklist.steps:
        parts += [step.title, step.where, step.why, *step.commands, *step.alternatives]
    return "\n".join(parts)


def disk(**fields) -> DiskReport:
    return DiskReport(path=Path("/images/winxp.img"), format="raw", size=8 << 30,
                      partitions=(Partition(1, 0x07, True, 32256, 8 << 30, ("WINDOWS",)),),
                      **fields)


def test_steps_in_order_with_real_paths_and_vm(tmp_path: Path) -> None:
    image = tmp_path / "win-boot.img"
    checklist = build_checklist(image, vm="winxp")
    assert checklist.image == image
    titles = [step.title for step in checklist.steps]
    assert titles[0].startswith("Attach")
    assert titles[1] == "Format the floppy in Windows"
    assert titles[2].startswith("Copy")
    assert titles[3].startswith("Shut the VM down")
    assert titles[4] == "Verify the floppy"
    all_commands = commands(checklist)
    assert f"virsh attach-disk winxp {image} fda --type floppy --config" in all_commands
    assert "format a:" in all_commands
    assert "virsh detach-disk winxp fda --config" in all_commands
    assert f"euca-windows-wizard floppy verify {image}" in all_commands
    alternatives = " ".join(checklist.steps[0].alternatives)
    assert f"-fda {image}" in alternatives
    assert "My Computer" in " ".join(checklist.steps[1].alternatives)
    for step in checklist.steps:
        assert step.why


def test_format_step_explains_why_linux_will_not_do() -> None:
    why = build_checklist(Path("/x/f.img")).steps[1].why
    assert "mformat" in why and "NTLDR" in why


def test_relative_path_becomes_absolute_and_odd_paths_are_quoted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    checklist = build_checklist(Path("my floppy.img"), vm="win xp")
    assert checklist.image == tmp_path / "my floppy.img"
    assert (f"virsh attach-disk 'win xp' '{tmp_path}/my floppy.img' fda --type floppy "
            "--config") in commands(checklist)


def test_without_vm_a_placeholder_is_shown() -> None:
    checklist = build_checklist(Path("/x/f.img"))
    assert checklist.vm is None
    assert f"virsh attach-disk {VM_PLACEHOLDER} /x/f.img fda --type floppy --config" in \
        commands(checklist)


def test_without_disk_ntbootdd_is_copied_only_where_it_exists() -> None:
    checklist = build_checklist(Path("/x/f.img"))
    copy = checklist.steps[2].commands
    assert copy[:3] == ("attrib -h -s -r C:\\NTLDR", "attrib -h -s -r C:\\NTDETECT.COM",
                        "attrib -h -s -r C:\\BOOT.INI")
    assert "copy C:\\NTLDR A:\\" in copy
    assert "copy C:\\NTDETECT.COM A:\\" in copy
    assert "copy C:\\BOOT.INI A:\\" in copy
    assert "if exist C:\\NTBOOTDD.SYS copy C:\\NTBOOTDD.SYS A:\\" in copy
    assert not checklist.files_from_disk
    assert any("--disk" in note for note in checklist.notes)


def test_scsi_disk_needs_ntbootdd() -> None:
    checklist = build_checklist(Path("/x/f.img"), "winxp",
                                disk(needs_ntbootdd=True, boot_ini_text=SCSI_TEXT))
    assert checklist.files == ("NTLDR", "NTDETECT.COM", "BOOT.INI", "NTBOOTDD.SYS")
    assert "copy C:\\NTBOOTDD.SYS A:\\" in checklist.steps[2].commands
    assert "attrib -h -s -r C:\\NTBOOTDD.SYS" in checklist.steps[2].commands
    assert "scsi(...)" in checklist.steps[2].why
    assert checklist.files_from_disk
    assert "--disk /images/winxp.img" in checklist.steps[4].commands[0]


def test_multi_disk_needs_no_ntbootdd() -> None:
    checklist = build_checklist(Path("/x/f.img"), "winxp",
                                disk(needs_ntbootdd=False, boot_ini_text=MULTI_TEXT))
    assert checklist.files == ("NTLDR", "NTDETECT.COM", "BOOT.INI")
    assert "NTBOOTDD" not in " ".join(commands(checklist))
    assert "not needed" in checklist.steps[2].why


@pytest.mark.parametrize(("text", "needed"), [(SCSI_TEXT, True), (MULTI_TEXT, False)])
def test_boot_ini_text_decides_when_the_report_does_not_say(text: str, needed: bool) -> None:
    checklist = build_checklist(Path("/x/f.img"), None, disk(boot_ini_text=text))
    assert ("NTBOOTDD.SYS" in checklist.files) is needed
    assert checklist.files_from_disk


def test_unreadable_boot_ini_falls_back_to_if_exist() -> None:
    checklist = build_checklist(Path("/x/f.img"), None, disk(boot_ini_text="garbage"))
    assert not checklist.files_from_disk
    assert "if exist C:\\NTBOOTDD.SYS copy C:\\NTBOOTDD.SYS A:\\" in \
        checklist.steps[2].commands


def test_disk_findings_become_notes() -> None:
    report = disk(problems=("the root of partition 1 holds BOOTMGR and no NTLDR",),
                  warnings=("BOOT.INI starts Windows through multi(0)",), nt6=True)
    checklist = build_checklist(Path("/x/f.img"), None, report)
    text = everything(checklist)
    assert "Disk image: the root of partition 1 holds BOOTMGR and no NTLDR." in text
    assert "Disk image (warning): BOOT.INI starts Windows through multi(0)." in text

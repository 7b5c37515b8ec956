"""run_checks: the rows of the prerequisites table, against real files and servers."""

from __future__ import annotations

from pathlib import Path

from tests.prerequisites.kit import SECRET, make_kit
from tests.prerequisites.servers import closed_port
from wizard.core.distro import current_distro
from wizard.disk.report import DiskReport
from wizard.prerequisites.checks import (
    CheckResult,
    all_needed_ok,
    check_free_space,
    check_memdisk_and_tools,
    run_checks,
)


def rows(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.name: result for result in results}


def test_everything_there(tmp_path: Path, cloud: tuple[str, str], windows: dict[str, Path]) -> None:
    eucarc = make_kit(tmp_path / "creds", *cloud)
    results = run_checks("memdisk", eucarc=eucarc, disk=windows["xp"], work_dir=tmp_path,
                         environ={}, ini_paths=[])
    table = rows(results)
    assert all_needed_ok(results), [r for r in results if r.needed and not r.ok]
    assert table["memdisk"].ok and "/usr/lib/syslinux/memdisk" in table["memdisk"].value
    assert table["secret key"].ok and SECRET not in table["secret key"].value
    assert f"eucarc {eucarc}" in table["secret key"].value
    assert table["key matches certificate"].value.startswith("yes")
    assert table["certificate dates"].value.startswith("valid")
    assert table["cloud certificate"].ok
    # Signed with the kit's keys, and answered: not just any HTTP answer.
    assert "a signed DescribeAvailabilityZones succeeded" in table["EC2 endpoint"].value
    assert "a signed ListBuckets succeeded" in table["S3 endpoint"].value
    assert table["free space"].ok and "needed" in table["free space"].value
    assert table["disk image"].ok and table["disk image"].value.startswith("raw")
    assert "scsi(0)" in table["BOOT.INI"].value
    assert table["floppy will hold"].value == "NTLDR, NTDETECT.COM, BOOT.INI, NTBOOTDD.SYS"
    # make/nasm/cc are there, but not needed: the distribution's memdisk is.
    assert not table["nasm"].needed
    assert not table["qemu-img"].needed
    assert all(SECRET not in r.value and SECRET not in (r.fix or "") for r in results)


def test_missing_credentials_each_say_how_to_set_them(tmp_path: Path) -> None:
    results = run_checks("memdisk", work_dir=tmp_path, environ={}, ini_paths=[])
    table = rows(results)
    assert not all_needed_ok(results)
    assert table["secret key"].status == "FAIL"
    assert "EC2_SECRET_KEY" in (table["secret key"].fix or "")
    assert table["region"].status == "-" and not table["region"].needed
    assert "EC2 endpoint" not in table


def test_unreadable_eucarc_is_one_failed_row(tmp_path: Path) -> None:
    results = run_checks("memdisk", eucarc=tmp_path / "missing-eucarc", work_dir=tmp_path,
                         environ={}, ini_paths=[])
    table = rows(results)
    assert table["credentials"].status == "FAIL"
    assert table["credentials"].fix


def test_dead_endpoints_and_bad_key(tmp_path: Path) -> None:
    port = closed_port()
    eucarc = make_kit(tmp_path / "creds", f"http://127.0.0.1:{port}/services/compute",
                      f"http://127.0.0.1:{port}/services/objectstorage", matching_key=False)
    table = rows(run_checks("memdisk", eucarc=eucarc, work_dir=tmp_path, environ={},
                            ini_paths=[], timeout=1))
    assert table["EC2 endpoint"].status == "FAIL"
    assert "refused" in table["EC2 endpoint"].value
    assert f"port {port} of 127.0.0.1" in (table["EC2 endpoint"].fix or "")
    assert table["key matches certificate"].status == "FAIL"
    assert "same credentials zip" in (table["key matches certificate"].fix or "")


def test_expired_certificate(tmp_path: Path, cloud: tuple[str, str]) -> None:
    eucarc = make_kit(tmp_path / "creds", *cloud, cert_days_to=-1)
    table = rows(run_checks("memdisk", eucarc=eucarc, work_dir=tmp_path, environ={},
                            ini_paths=[]))
    assert table["certificate dates"].status == "FAIL"
    assert table["certificate dates"].value.startswith("expired")


def test_qcow2_needs_qemu_img_and_offers_conversion(
    tmp_path: Path, cloud: tuple[str, str], windows: dict[str, Path]
) -> None:
    eucarc = make_kit(tmp_path / "creds", *cloud)
    results = run_checks("memdisk", eucarc=eucarc, disk=windows["qcow2"], work_dir=tmp_path,
                         environ={}, ini_paths=[])
    table = rows(results)
    assert not all_needed_ok(results)
    assert table["qemu-img"].needed and table["qemu-img"].ok
    assert table["disk image"].status == "FAIL"
    assert "have the check convert it" in (table["disk image"].fix or "")
    assert table["disk image"].key == "build.convert_to"
    assert "qemu-img convert -p -f qcow2 -O raw" in (table["disk image"].fix or "")


def test_convert_to_then_check_the_raw_image(
    tmp_path: Path, cloud: tuple[str, str], windows: dict[str, Path]
) -> None:
    eucarc = make_kit(tmp_path / "creds", *cloud)
    results = run_checks("memdisk", eucarc=eucarc, disk=windows["qcow2"],
                         convert_to=tmp_path / "work", environ={}, ini_paths=[])
    assert all_needed_ok(results)
    table = rows(results)
    assert str(tmp_path / "work" / "xp.raw") in table["disk image"].value
    assert (tmp_path / "work" / "xp.raw").read_bytes() == windows["xp"].read_bytes()


def test_nt6_fails_memdisk_but_passes_native(
    tmp_path: Path, cloud: tuple[str, str], windows: dict[str, Path]
) -> None:
    eucarc = make_kit(tmp_path / "creds", *cloud)
    memdisk = run_checks("memdisk", eucarc=eucarc, disk=windows["nt6"], work_dir=tmp_path,
                         environ={}, ini_paths=[])
    assert not all_needed_ok(memdisk)
    problems = [f"{r.value}; {r.fix}" for r in memdisk if r.name == "disk problem"]
    assert any("use the native recipe" in text for text in problems)
    native = run_checks("native", eucarc=eucarc, disk=windows["nt6"], work_dir=tmp_path,
                        environ={}, ini_paths=[])
    assert all_needed_ok(native)
    assert not rows(native)["memdisk"].needed


def test_without_memdisk_the_build_tools_are_needed(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "make").symlink_to("/usr/bin/make")
    table = rows(check_memdisk_and_tools("memdisk", current_distro(), path=str(tools),
                                         places=[tmp_path / "none"]))
    assert table["memdisk"].status == "FAIL"
    assert "build one from a syslinux release" in (table["memdisk"].fix or "")
    assert table["memdisk"].key == "build.syslinux_source"
    assert table["make"].ok and table["make"].needed
    assert table["nasm"].status == "FAIL"
    assert "nasm" in (table["nasm"].fix or "")
    assert table["C compiler"].status == "FAIL"


def test_free_space_against_the_disk(tmp_path: Path) -> None:
    huge = DiskReport(path=tmp_path / "x.img", format="raw", size=1 << 60)
    row = check_free_space(tmp_path / "not" / "yet", huge)
    assert row.status == "FAIL"
    assert "needed" in row.value and "free" in (row.fix or "")
    small = DiskReport(path=tmp_path / "x.qcow2", format="qcow2", size=1024)
    assert check_free_space(tmp_path, small).ok


def test_rows_are_json_ready(tmp_path: Path) -> None:
    import json

    results = run_checks("memdisk", work_dir=tmp_path, environ={}, ini_paths=[])
    rows_back = json.loads(json.dumps([r.as_dict() for r in results]))
    assert [r["name"] for r in rows_back] == [r.name for r in results]
    secret = next(r for r in rows_back if r["name"] == "secret key")
    assert secret["status"] == "FAIL" and secret["needed"] is True and secret["fix"]


def test_the_conversion_fix_quotes_paths_as_a_shell_needs(
    tmp_path: Path, cloud: tuple[str, str], windows: dict[str, Path]
) -> None:
    import shlex
    import shutil

    eucarc = make_kit(tmp_path / "creds", *cloud)
    (tmp_path / "x y").mkdir()
    disk = tmp_path / "x y" / "disk q.qcow2"
    shutil.copyfile(windows["qcow2"], disk)
    work = tmp_path / "work dir"
    work.mkdir()
    results = run_checks("memdisk", eucarc=eucarc, disk=disk, work_dir=work, environ={},
                         ini_paths=[])
    fix = rows(results)["disk image"].fix or ""
    command = fix.split("convert it: run ", 1)[1].split(", ", 1)[0]
    # Pasted into a shell, each path is one word.
    assert shlex.split(command) == ["qemu-img", "convert", "-p", "-f", "qcow2", "-O", "raw",
                                    str(disk), "DIR/disk q.raw"], fix


def test_a_floppy_given_as_the_disk_says_so_with_the_fix(tmp_path: Path,
                                                         cloud: tuple[str, str]) -> None:
    """In a real ``run`` process: the floppy image as build.disk."""
    import os
    import subprocess
    import sys

    from wizard.cloud.samples import make_sample_floppy, make_sample_memdisk

    floppy = make_sample_floppy(tmp_path / "sample-floppy.img")
    memdisk = make_sample_memdisk(tmp_path / "memdisk")
    answers = tmp_path / "a.toml"
    answers.write_text(f"""\
[cloud]
eucarc = "{make_kit(tmp_path / "creds", *cloud)}"
[build]
name = "fl"
bucket = "b"
arch = "i386"
mode = "memdisk"
disk = "{floppy}"
floppy = "{floppy}"
memdisk = "{memdisk}"
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EC2_", "AWS_", "S3_", "EUCA"))}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parents[2]), HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "wizard", "run", "--answers", str(answers),
                             "--yes"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    line = [ln for ln in result.stderr.splitlines() if "error:" in ln]
    assert len(line) == 1, result.stderr
    assert f"{floppy} is a floppy image (1.44 MB, FAT12) given as the disk image" in line[0]
    assert ("Fix: give the Windows system disk (the VM's disk file) as the disk image, "
            "and the floppy as build.floppy") in line[0]
    assert "see the check lines above" not in line[0]

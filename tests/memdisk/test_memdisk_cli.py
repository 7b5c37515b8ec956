"""The memdisk subcommand: exit codes, live make output, one-line errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.memdisk.syslinux_tree import BROKEN_ASM, make_tarball, make_tree
from tests.wizard_cli import run_wizard

ROOT = Path(__file__).resolve().parents[2]


run_cli = run_wizard


def assert_one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    prefix = "euca-windows-wizard: error:"
    errors = [line for line in stderr.splitlines() if line.startswith(prefix)]
    assert len(errors) == 1, stderr


def test_find_prints_the_path() -> None:
    result = run_cli("memdisk", "find")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/usr/lib/syslinux/memdisk"


def test_verify_good_and_bad(tmp_path: Path) -> None:
    good = run_cli("memdisk", "verify", "/usr/lib/syslinux/memdisk")
    assert good.returncode == 0, good.stderr
    assert "boot protocol 2." in good.stdout
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 200)
    bad = run_cli("memdisk", "verify", str(text))
    assert bad.returncode == 1
    assert "is not a memdisk" in bad.stderr
    assert_one_line_error(bad.stderr)


def test_build_prints_make_output_and_writes_out(tmp_path: Path) -> None:
    tarball = make_tarball(make_tree(tmp_path / "src"), tmp_path / "syslinux-6.04.tar.gz")
    out = tmp_path / "kernel" / "memdisk"
    out.parent.mkdir()
    result = run_cli("memdisk", "build", "--source", str(tarball), "-o", str(out),
                     "--work-dir", str(tmp_path / "work"))
    assert result.returncode == 0, result.stderr
    assert "NASM    memdisk" in result.stderr
    assert "memdisk 6.04 20260101" in result.stdout
    assert out.is_file()


def test_failing_build_exits_1_with_make_lines_and_no_out(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src", asm=BROKEN_ASM)
    out = tmp_path / "memdisk"
    result = run_cli("memdisk", "build", "--source", str(tree), "-o", str(out),
                     "--work-dir", str(tmp_path / "work"))
    assert result.returncode == 1
    assert "make failed" in result.stderr
    assert "memdisk.asm" in result.stderr
    assert_one_line_error(result.stderr)
    assert not out.exists()


def test_build_without_nasm_gives_the_install_command(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "make").symlink_to("/usr/bin/make")
    tree = make_tree(tmp_path / "src")
    result = run_cli("memdisk", "build", "--source", str(tree), "-o", str(tmp_path / "m"),
                     "--work-dir", str(tmp_path / "work"), env={"PATH": str(tools)})
    assert result.returncode == 1
    assert "nasm" in result.stderr
    assert "Fix:" in result.stderr and "install" in result.stderr
    assert_one_line_error(result.stderr)


def test_build_rejects_escaping_tarball(tmp_path: Path) -> None:
    import io
    import tarfile

    tarball = tmp_path / "evil.tar"
    with tarfile.open(tarball, "w") as archive:
        member = tarfile.TarInfo("../../evil")
        member.size = 1
        archive.addfile(member, io.BytesIO(b"x"))
    result = run_cli("memdisk", "build", "--source", str(tarball), "-o", str(tmp_path / "m"),
                     "--work-dir", str(tmp_path / "work"))
    assert result.returncode == 1
    assert "refusing" in result.stderr
    assert_one_line_error(result.stderr)


def test_bad_input_is_one_line_and_nothing_else(tmp_path: Path) -> None:
    junk = tmp_path / "syslinux.tar.gz"
    junk.write_bytes(os.urandom(5000))
    for args in (["--source", str(junk)], ["--source", str(tmp_path / "none")],
                 ["--source", str(tmp_path), "-o", str(tmp_path)],
                 ["--source", str(tmp_path), "--timeout", "nan"]):
        result = run_cli("memdisk", "build", *args, "--work-dir", str(tmp_path / "work"))
        assert result.returncode == 1
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("euca-windows-wizard: error:"), lines
        assert "Fix:" in lines[0]
    assert not (tmp_path / "work").exists()


def test_unreadable_memdisk_says_to_fix_permissions(tmp_path: Path) -> None:
    from tests.disk.oddpaths import one_error_line, run_wizard

    copy = tmp_path / "memdisk"
    copy.write_bytes(Path("/usr/lib/syslinux/memdisk").read_bytes())
    copy.chmod(0)
    home = tmp_path / "home"
    home.mkdir()
    result = run_wizard("memdisk", "verify", str(copy), home=home, unprivileged=True)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "cannot read" in line and "Permission denied" in line
    assert "permissions" in line


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # exited; only waiting for a reaper


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_stops_make_and_cleans_up(tmp_path: Path, sig: int) -> None:
    # make runs in a session of its own (so Ctrl+C reaches only the wizard);
    # before, a closed SSH session or `kill` left it running, orphaned, and
    # the build folder behind.
    pid_file = tmp_path / "make.pid"
    makefile = f"all:\n\t@echo started\n\techo $$$$ > {pid_file}; sleep 60\n"
    tree = make_tree(tmp_path / "src", makefile=makefile)
    work = tmp_path / "work"
    out = tmp_path / "memdisk"
    wizard = subprocess.Popen(
        [sys.executable, "-m", "wizard", "memdisk", "build", "--source", str(tree),
         "-o", str(out), "--work-dir", str(work)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert time.monotonic() < deadline, "make never started"
            time.sleep(0.05)
        shell = int(pid_file.read_text())
        wizard.send_signal(sig)
        _, stderr = wizard.communicate(timeout=30)
    finally:
        if wizard.poll() is None:
            wizard.kill()
    assert wizard.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("euca-windows-wizard:")]
    assert errors == [f"euca-windows-wizard: error: interrupted by {signal.Signals(sig).name}. "
                      "Fix: run the same command again to resume."], stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 10
    while not _gone(shell):
        assert time.monotonic() < deadline, "make's shell outlived the wizard"
        time.sleep(0.05)
    assert not out.exists()
    assert list(work.iterdir()) == []


def test_find_without_any_memdisk_exits_1_with_the_install_command(tmp_path: Path) -> None:
    # The real places hidden under an empty tmpfs, in a mount namespace of the
    # test's own: the command looks where it always looks, and finds nothing.
    import shutil

    from wizard.memdisk.find import MEMDISK_PLACES

    folders = sorted({str(place.parent) for place in MEMDISK_PLACES if place.exists()})
    hide = " && ".join(["true", *(f"mount -t tmpfs none {folder}" for folder in folders)])
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False) \
        if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("needs unshare -m (root in CI) to hide the distribution's memdisk")
    script = f'{hide} && exec "$@"'
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "wizard",
         "memdisk", "find"],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                                 HOME=str(tmp_path)), timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert_one_line_error(result.stderr)
    assert "no memdisk found" in result.stderr
    assert "install syslinux-common" in result.stderr
    assert "memdisk build --source" in result.stderr

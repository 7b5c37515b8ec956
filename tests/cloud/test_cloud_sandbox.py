"""The sandbox: a foreground local cloud an operator can try the recipe against by hand."""

from __future__ import annotations

import os
import re
import signal
import stat
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from tests.cloud.conftest import PYTHON, ROOT, cli_env
from wizard.cloud.samples import make_bare_sample_disk, make_sample_disk, make_sample_floppy
from wizard.cloud.sandbox import Sandbox
from wizard.credentials import load_credentials
from wizard.disk.inspect import inspect_disk
from wizard.floppy.verify import verify_floppy


class Output:
    """Read a child's stdout and stderr in threads, so neither pipe can fill and block it."""

    def __init__(self, child: subprocess.Popen[str]) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.threads = [threading.Thread(target=self._pump, args=(stream, into), daemon=True)
                        for stream, into in ((child.stdout, self.out), (child.stderr, self.err))]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _pump(stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_for(self, marker: str, timeout: float = 60) -> list[str]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(marker in line for line in self.out):
                return list(self.out)
            time.sleep(0.05)
        raise AssertionError(f"no {marker!r} in {self.out}; stderr: {self.err}")

    def finish(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)


def test_sandbox_command_serves_until_ctrl_c_and_the_printed_recipe_works(tmp_path: Path):
    folder = tmp_path / "box"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EC2_", "AWS_", "S3_"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(tmp_path / "home"))
    child = subprocess.Popen([PYTHON, "-m", "wizard", "sandbox", "--dir", str(folder)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    output = Output(child)
    try:
        lines = output.wait_for("Serving until Ctrl+C")
        text = "\n".join(lines)
        assert str(folder) in text and str(folder / "eucarc") in text
        assert "SAMPLE disk:" in text and "(a sample, not Windows)" in text
        assert "/services/objectstorage" in text and "/services/compute" in text
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "eucarc").stat().st_mode) == 0o600
        assert stat.S_IMODE((folder / "euca2-sandbox-pk.pem").stat().st_mode) == 0o600
        creds = load_credentials(environ={}, eucarc=folder / "eucarc", ini_paths=[])
        assert creds.get("user") == "123456789012"
        assert (creds.get("s3_url") or "").startswith("http://127.0.0.1:")
        # Run the recipe exactly as printed, in bash, with the command on PATH.
        printed = [line[2:] for line in lines if line.startswith("  ")
                   and not line.startswith(("  S3", "  EC2", "  Folder", "  eucarc", "  SAMPLE"))]
        assert all(len(line) <= 80 for line in lines if str(folder) not in line), lines
        commands = [c for c in "\n".join(printed).replace("\\\n", " ").splitlines()]
        steps = [c.split()[1] if c.startswith("euca") else c.split("$(")[1].split()[1]
                 for c in commands]
        if steps == ["run"]:  # once `run` exists: the one command with its answers file
            assert (folder / "sandbox-answers.toml").is_file()
        else:
            assert steps == ["floppy"] + ["bundle", "upload", "register"] * 3, commands
        # No terminal here: run asks for --yes (on a terminal it shows the plan and asks).
        script = ("set -eo pipefail\n" + "\n".join(printed) + " --yes" * (steps == ["run"])
                  + "\necho KERNEL=$KERNEL\n")
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        tools = tmp_path / "bin"
        tools.mkdir()
        (tools / "euca-windows-wizard").write_text(
            f'#!/bin/sh\nexec {PYTHON} -m wizard "$@"\n')
        (tools / "euca-windows-wizard").chmod(0o755)
        env["PATH"] = f"{tools}:{env['PATH']}"
        done = subprocess.run(["bash", "-c", script], env=env, cwd=folder,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        out = done.stdout.splitlines()
        if steps == ["run"]:
            ids = dict(line.split("\t") for line in out if "\t" in line)
            assert re.fullmatch(r"eki-[0-9A-F]{8}", ids["KERNEL"]), out
            assert re.fullmatch(r"eri-[0-9A-F]{8}", ids["RAMDISK"]), out
            assert re.fullmatch(r"emi-[0-9A-F]{8}", ids["IMAGE"]), out
            assert "bash recipe.sh" in text
            # The step-by-step recipe it points to runs too.
            by_hand = subprocess.run(["bash", "recipe.sh"], env=env, cwd=folder,
                                     capture_output=True, text=True, timeout=600)
            assert by_hand.returncode == 0, by_hand.stderr
            assert re.fullmatch(r"IMAGE\temi-[0-9A-F]{8}", by_hand.stdout.splitlines()[-1])
        else:
            kernel = out[-1].removeprefix("KERNEL=")
            assert re.fullmatch(r"eki-[0-9A-F]{8}", kernel), out
            assert re.fullmatch(r"IMAGE\temi-[0-9A-F]{8}", out[-2]), out
            assert "Ready: the floppy can be bundled as the ramdisk." in done.stdout
            assert ": available" in done.stderr
            # The same recipe is written beside the samples.
            assert (folder / "recipe.sh").read_text().endswith("\n".join(printed) + "\n")
        # A second sandbox on the folder in use is refused, in one line.
        second = subprocess.run([PYTHON, "-m", "wizard", "sandbox", "--dir", str(folder)],
                                env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert second.stderr.splitlines() == [
            f"euca-windows-wizard: error: the sandbox folder {folder} is in use by a running "
            f"sandbox (pid {child.pid}). Fix: stop that sandbox (Ctrl+C where it runs) or "
            "choose another folder for this one (--dir)."]
        child.send_signal(signal.SIGINT)
        child.wait(timeout=20)
        output.finish()
        err = "\n".join(output.err)
        assert child.returncode == 0, err
        assert "Stopping the sandbox cloud" in err
        assert "Traceback" not in err
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_sandbox_without_moto_says_what_to_install(tmp_path: Path, sandbox: Sandbox):
    blocker = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'moto' or name.startswith('moto.'):\n"
        "            raise ImportError('No module named ' + repr(name))\n"
        "sys.meta_path.insert(0, Block())\n"
        "from wizard.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    result = subprocess.run([PYTHON, "-c", blocker, "sandbox", "--dir", str(tmp_path / "x")],
                            env=cli_env(sandbox), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "euca-windows-wizard: error: the sandbox needs moto's server, which is not installed. "
        "Fix: pip install 'euca-windows-wizard[sandbox]'."
    ]


def test_sandbox_folder_is_complete(sandbox: Sandbox):
    folder = sandbox.folder
    for name in ("eucarc", "cloud-cert.pem", "euca2-sandbox-cert.pem", "euca2-sandbox-pk.pem",
                 "sample-disk.img", "sample-floppy.img", "SAMPLES-README.txt"):
        assert (folder / name).is_file(), name
    rc = (folder / "eucarc").read_text()
    assert "SANDBOX" in rc and "EUCA_KEY_DIR=$(cd $(dirname" in rc


def test_sample_disk_passes_the_disk_checks(tmp_path: Path):
    report = inspect_disk(make_sample_disk(tmp_path / "sample-disk.img"))
    assert report.problems == ()
    assert report.partitions[0].type_id == 7
    assert set(report.boot_files) == {"NTLDR", "NTDETECT.COM", "BOOT.INI", "NTBOOTDD.SYS"}
    assert "SAMPLE" in (report.boot_ini_text or "")


def test_bare_sample_disk_has_mbr_and_ntfs_boot_sector(tmp_path: Path):
    data = make_bare_sample_disk(tmp_path / "bare.img").read_bytes()
    assert data[510:512] == b"\x55\xaa"
    kind, start = struct.unpack_from("<4xB3xI", data, 446)
    assert (kind, start) == (0x07, 63)
    assert data[start * 512 + 3:start * 512 + 11] == b"NTFS    "
    assert b"SAMPLE" in data[:512]


def test_sample_floppy_passes_the_floppy_checks_and_mtools_reads_it(tmp_path: Path):
    floppy = make_sample_floppy(tmp_path / "sample-floppy.img")
    assert floppy.stat().st_size == 1_474_560
    report = verify_floppy(floppy)
    failed = [c for c in report.checks if c.result.value != "pass"]
    assert failed == []
    listing = subprocess.run(["mdir", "-a", "-b", "-i", str(floppy), "::"], capture_output=True,
                             text=True, check=True).stdout
    for name in ("NTLDR", "NTDETECT.COM", "BOOT.INI", "NTBOOTDD.SYS"):
        assert f"::/{name}" in listing
    boot_ini = subprocess.run(["mtype", "-i", str(floppy), "::BOOT.INI"], capture_output=True,
                              check=True).stdout
    assert b"SAMPLE Windows (not bootable)" in boot_ini


def test_sample_memdisk_passes_the_memdisk_check_and_says_sample(tmp_path: Path):
    from wizard.cloud.samples import make_sample_memdisk
    from wizard.memdisk.verify import verify_memdisk

    info = verify_memdisk(make_sample_memdisk(tmp_path / "sample-memdisk"))
    assert info.version is not None and "SAMPLE" in info.version
    assert info.protocol == "2.06"
    assert b"not bootable" in (tmp_path / "sample-memdisk").read_bytes()


def test_sandbox_brings_a_sample_memdisk_only_when_the_system_has_none(tmp_path: Path):
    import shutil
    import sys

    from wizard.memdisk.find import MEMDISK_PLACES

    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    script = (
        "import sys\n"
        "from wizard.cloud.sandbox import start_sandbox\n"
        "with start_sandbox(sys.argv[1]) as s:\n"
        "    print(sorted(s.samples))\n"
    )
    with_memdisk = subprocess.run([sys.executable, "-c", script, str(tmp_path / "a")],
                                  capture_output=True, text=True, env=env, timeout=60)
    assert with_memdisk.returncode == 0, with_memdisk.stderr
    assert with_memdisk.stdout.strip() == "['disk', 'floppy']"

    folders = sorted({str(place.parent) for place in MEMDISK_PLACES if place.exists()})
    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"],
                                                     capture_output=True).returncode != 0:
        import pytest
        pytest.skip("needs unshare -m (root in CI) to hide the distribution's memdisk")
    hide = " && ".join(["true", *(f"mount -t tmpfs none {folder}" for folder in folders)])
    without = subprocess.run(
        ["unshare", "-m", "sh", "-c", f'{hide} && exec "$@"', "sh", sys.executable, "-c",
         script, str(tmp_path / "b")],
        capture_output=True, text=True, env=env, timeout=60)
    assert without.returncode == 0, without.stderr
    assert without.stdout.strip() == "['disk', 'floppy', 'memdisk']"
    assert (tmp_path / "b" / "sample-memdisk").is_file()


def test_sample_floppy_boot_ini_points_into_the_sample_disk(tmp_path: Path, sandbox: Sandbox):
    disk = make_sample_disk(tmp_path / "sample-disk.img")
    floppy = make_sample_floppy(tmp_path / "sample-floppy.img")
    result = subprocess.run([PYTHON, "-m", "wizard", "floppy", "verify", str(floppy),
                             "--disk", str(disk)], env=cli_env(sandbox), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "partition 1 exists and holds \\WINDOWS" in " ".join(result.stdout.split())

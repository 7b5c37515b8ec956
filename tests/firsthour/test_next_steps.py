"""After each step that leads to another, a Next: line with the command, run as printed.

The chain memdisk -> bundle -> upload -> register -> bundle (the ramdisk)
is followed against the sandbox by running each Next: line itself (with
only its placeholders, BUCKET and NAME, filled in), through a shell, from a
folder whose name has a space: what is printed is what can be pasted.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.cloud.conftest import cli_env
from tests.disk.oddpaths import run_wizard
from wizard.cloud.sandbox import Sandbox

MEMDISK = Path("/usr/lib/syslinux/memdisk")


def shell(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a printed command line as an operator pastes it (the wizard from this tree)."""
    wizard = f"{shlex.quote(sys.executable)} -m wizard"
    return subprocess.run(["bash", "-c", line.replace("euca-windows-wizard", wizard, 1)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def next_line(stream: str) -> str:
    found = [line.removeprefix("Next: ") for line in stream.splitlines()
             if line.startswith("Next: ")]
    assert len(found) == 1, stream
    return found[0]


def test_the_next_lines_lead_through_the_recipe(cloud_box: Sandbox, tmp_path: Path) -> None:
    work = tmp_path / "my builds"
    work.mkdir()
    env = cli_env(cloud_box)
    verified = run_wizard("memdisk", "verify", str(MEMDISK), home=tmp_path)
    step = next_line(verified.stdout)
    assert step == f"euca-windows-wizard bundle --image-type kernel -i {MEMDISK}"

    # bundle: the credentials and a destination with a space, added as an operator would.
    bundled = shell(f"{step} --eucarc {shlex.quote(str(cloud_box.eucarc))} -d 'kernel out'",
                    work, env)
    assert bundled.returncode == 0, bundled.stderr
    last = bundled.stdout.strip().splitlines()[-1]
    manifest = work / "kernel out" / "memdisk.manifest.xml"
    words = shlex.split(last)  # quoted as a shell would: three words, the path whole
    assert words[:2] == ["Wrote", "manifest"] and len(words) == 3, last
    assert (work / words[2]).resolve() == manifest.resolve()
    step = next_line(bundled.stderr)
    assert step.startswith(f"euca-windows-wizard upload --eucarc {cloud_box.eucarc} "
                           "-b BUCKET[/PREFIX] -m ")

    uploaded = shell(step.replace("BUCKET[/PREFIX]", "kernels"), work, env)
    assert uploaded.returncode == 0, uploaded.stderr
    assert uploaded.stdout.strip().splitlines()[-1] == "Uploaded kernels/memdisk.manifest.xml"
    step = next_line(uploaded.stderr)
    assert step == (f"euca-windows-wizard register --eucarc {cloud_box.eucarc} "
                    "kernels/memdisk.manifest.xml -n NAME")

    registered = shell(step.replace("NAME", "memdisk-kernel"), work, env)
    assert registered.returncode == 0, registered.stderr
    assert re.fullmatch(r"IMAGE\teki-[0-9A-F]{8}\n", registered.stdout)
    assert next_line(registered.stderr) == (
        f"euca-windows-wizard bundle --eucarc {cloud_box.eucarc} --image-type ramdisk "
        "-i win-boot.img")


def test_a_ready_floppy_leads_to_bundling_it(tmp_path: Path) -> None:
    from tests.floppy.images import build_floppy

    floppy = build_floppy(tmp_path / "win boot.img")
    result = run_wizard("floppy", "verify", str(floppy), home=tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == \
        f"Next: euca-windows-wizard bundle --image-type ramdisk -i '{floppy}'"


def test_check_not_ready_is_one_sentence(tmp_path: Path) -> None:
    empty = tmp_path / "empty.img"
    empty.write_bytes(b"")
    env_home = tmp_path / "home"
    env_home.mkdir()
    result = run_wizard("check", "--disk", str(empty), "--work-dir", str(tmp_path),
                        home=env_home)
    assert result.returncode == 1
    summary = " ".join(result.stdout.split("\n\n")[-1].split())
    assert re.fullmatch(r"Not ready: \d+ checks the memdisk recipe needs failed \(.*disk "
                        r"(image|problem).*\); the fix is under each FAIL above\.", summary), \
        summary
    assert "Next:" not in result.stdout + result.stderr

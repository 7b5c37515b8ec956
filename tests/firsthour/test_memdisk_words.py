"""memdisk: its result said once on a terminal, -o kept unless --force, and what comes next."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tests.disk.oddpaths import one_error_line, run_wizard
from tests.firsthour.terminal import on_terminal
from tests.memdisk.syslinux_tree import make_tree

MEMDISK = Path("/usr/lib/syslinux/memdisk")
WIZARD = f"{shlex.quote(sys.executable)} -m wizard"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("syslinux"))


def test_find_then_verify_says_the_version_once_on_a_terminal() -> None:
    assert MEMDISK.is_file(), "syslinux-common is not installed (apt-get install syslinux-common)"
    status, seen = on_terminal(
        ["bash", "-c", f'{WIZARD} memdisk verify "$({WIZARD} memdisk find)"'])
    assert status == 0, seen
    assert seen.count("boot protocol") == 1, seen


def test_find_typed_on_a_terminal_says_what_comes_next() -> None:
    status, seen = on_terminal([sys.executable, "-m", "wizard", "memdisk", "find"])
    assert status == 0, seen
    assert seen.splitlines() == [
        str(MEMDISK), f"Next: euca-windows-wizard bundle --image-type kernel -i {MEMDISK}"]


def test_verify_ends_with_the_next_command(tmp_path: Path) -> None:
    result = run_wizard("memdisk", "verify", str(MEMDISK), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == \
        f"Next: euca-windows-wizard bundle --image-type kernel -i {MEMDISK}"


def test_build_keeps_an_existing_output_unless_forced(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "my memdisk"
    out.write_bytes(b"the operator's own file")
    args = ("memdisk", "build", "--source", str(tree), "-o", str(out),
            "--work-dir", str(tmp_path / "work"))
    refused = run_wizard(*args, home=tmp_path)
    assert refused.returncode == 1
    line = one_error_line(refused.stderr)
    assert f"{out} already exists" in line and "(--force)" in line
    assert out.read_bytes() == b"the operator's own file"
    assert "NASM" not in refused.stderr  # refused before make ran
    forced = run_wizard(*args, "--force", home=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert out.read_bytes()[0x202:0x206] == b"HdrS"
    # The path has a space: the next command quotes it as a shell needs.
    assert forced.stdout.splitlines()[-1] == \
        f"Next: euca-windows-wizard bundle --image-type kernel -i '{out}'"
    assert shlex.split(forced.stdout.splitlines()[-1])[-1] == str(out)

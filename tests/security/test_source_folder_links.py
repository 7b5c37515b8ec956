"""memdisk build from an unpacked syslinux folder: a link in it that leads
outside is refused before make runs, so make never writes through it.

The folder is copied with its links kept as links (nothing is followed while
copying); make then runs in the copy, where ``memdisk/out -> /elsewhere`` would
let the release's Makefile write outside the work folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.memdisk.syslinux_tree import MAKEFILE, make_tree
from tests.wizard_cli import run_wizard

# A Makefile that writes through the link, as a hostile release's would.
WRITES_THROUGH = MAKEFILE.replace("all: memdisk", "all: memdisk\n\techo owned > out/planted")


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_link_out_of_the_source_folder_is_refused_before_make(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("the operator's file\n")
    before = _listing(victim)
    top = make_tree(tmp_path / "src", makefile=WRITES_THROUGH)
    os.symlink(victim, top / "memdisk" / "out")
    out = tmp_path / "memdisk.bin"

    result = run_wizard("memdisk", "build", "--source", top, "-o", out, home=tmp_path)

    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "link that leads outside" in lines[0] and "Fix:" in lines[0]
    assert "memdisk/out" in lines[0]
    assert _listing(victim) == before
    assert not out.exists()


def test_links_inside_the_source_folder_still_build(tmp_path: Path) -> None:
    top = make_tree(tmp_path / "src")
    os.symlink("memdisk", top / "alias")  # a link that stays inside the release
    out = tmp_path / "memdisk.bin"

    result = run_wizard("memdisk", "build", "--source", top, "-o", out, home=tmp_path)

    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[0x202:0x206] == b"HdrS"

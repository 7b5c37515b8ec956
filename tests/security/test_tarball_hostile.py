"""memdisk build on hostile syslinux tarballs, on two Pythons (issue 9, item 3).

Each crafted tarball (absolute names, ``..``, links out, link chains, links to
``.`` with members written through them, hard links out, a folder replaced
by a link, device nodes, FIFOs) is extracted three ways: in this process
(the CI Python), by ``python -m wizard memdisk build`` as a real subprocess,
and by a Python whose tarfile has no ``data_filter``, importing nothing but
the work tree: the system's own where it is one (Debian 12's 3.11.2), else
(e.g. Ubuntu 24.04) the current Python with tarfile's extraction filters
removed before the project is imported (``NO_FILTER``), which is then
genuinely a Python whose tarfile has no ``data_filter``. Every one ends in one line
naming the member, with the fix; a victim file and the listing of
everything outside the work folder are unchanged, and the work folder is
gone. A well-formed tarball with links inside extracts the same on both.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import ROOT, run_cli
from tests.security.crafted import Outside, assert_refused
from wizard.core.errors import WizardError
from wizard.memdisk.extract import extract_release

VICTIM_BYTES = b"the operator's own file\n"
TOP = "syslinux-6.04"

# Run under the other Python: the extraction alone, its error as the CLI prints it.
CHILD = """
import sys, tarfile
from pathlib import Path
from wizard.core.errors import WizardError
from wizard.memdisk.extract import extract_release
print("data_filter" if hasattr(tarfile, "data_filter") else "no data_filter")
try:
    extract_release(Path(sys.argv[1]), Path(sys.argv[2]))
except WizardError as exc:
    print("euca-windows-wizard: error: " + exc.one_line(), file=sys.stderr)
    sys.exit(1)
print("extracted")
"""


@dataclass(frozen=True)
class Member:
    name: str
    kind: bytes = tarfile.REGTYPE
    link: str = ""
    data: bytes = b"data\n"


def file(name: str, data: bytes = b"data\n") -> Member:
    return Member(name, data=data)


def folder(name: str) -> Member:
    return Member(name, tarfile.DIRTYPE)


def symlink(name: str, target: str) -> Member:
    return Member(name, tarfile.SYMTYPE, target)


def hardlink(name: str, target: str) -> Member:
    return Member(name, tarfile.LNKTYPE, target)


def make_tarball(path: Path, members: list[Member]) -> Path:
    """A gzipped tarball holding exactly ``members``, names and targets verbatim."""
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT) as archive:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type = member.kind
            info.linkname = member.link
            info.mode = 0o755 if member.kind == tarfile.DIRTYPE else 0o644
            if member.kind in (tarfile.REGTYPE, tarfile.AREGTYPE):
                info.size = len(member.data)
                archive.addfile(info, io.BytesIO(member.data))
            else:
                archive.addfile(info)
    return path


@dataclass(frozen=True)
class Scene:
    """A tmp folder with a victim outside the work folder, and where to extract."""

    root: Path
    victim: Path
    work: Path

    @property
    def dest(self) -> Path:
        return self.work / "dest"


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    victim = tmp_path / "victim" / ".bashrc"
    victim.parent.mkdir()
    victim.write_bytes(VICTIM_BYTES)
    work = tmp_path / "work"
    work.mkdir()
    return Scene(tmp_path, victim, work)


def _cases(victim: Path) -> dict[str, tuple[list[Member], str, str]]:
    """Case name: (members, a text the error must hold, the member it must name)."""
    good = file(f"{TOP}/README", b"SYSLINUX\n")
    esc = "\x1b]0;owned\x07"
    return {
        "absolute": ([good, file(str(victim), b"owned\n")], "absolute path", str(victim)),
        "dotdot": ([good, file(f"{TOP}/../../victim/.bashrc", b"owned\n")],
                   "outside the folder", f"{TOP}/../../victim/.bashrc"),
        "link-out": ([good, symlink(f"{TOP}/out", "../../../victim"),
                      file(f"{TOP}/out/.bashrc", b"owned\n")],
                     "symbolic link pointing outside", f"{TOP}/out"),
        "link-absolute": ([good, symlink(f"{TOP}/out", str(victim.parent)),
                           file(f"{TOP}/out/.bashrc", b"owned\n")],
                          "symbolic link to an absolute path", f"{TOP}/out"),
        # Each link is inside as text; on disk l2 leaves the folder through l1.
        "link-chain": ([good, symlink(f"{TOP}/l1", "."),
                        symlink(f"{TOP}/l2", "l1/l1/l1/l1/../../../victim")],
                       "link", f"{TOP}/l2"),
        # x is the top; x/y is then created at the top as '..', x/y/z one level
        # further up; the file goes through all three (issue 9's escape).
        "dot-links-then-members": ([good, symlink("x", "."), symlink("x/y", ".."),
                                    symlink("x/y/z", ".."),
                                    file("x/y/z/victim/.bashrc", b"owned\n")],
                                   "inside a link", "x/y"),
        "link-then-member-through-it": ([good, symlink(f"{TOP}/doc", "."),
                                         file(f"{TOP}/doc/README.more")],
                                        "inside a link", f"{TOP}/doc/README.more"),
        "hardlink-out": ([good, hardlink(f"{TOP}/hard", "../victim/.bashrc"),
                          file(f"{TOP}/hard", b"owned\n")],
                         "hard link pointing outside", f"{TOP}/hard"),
        "hardlink-absolute": ([good, hardlink(f"{TOP}/hard", str(victim))],
                              "hard link pointing outside", f"{TOP}/hard"),
        "hardlink-to-a-link": ([good, symlink(f"{TOP}/l", "README"),
                                hardlink(f"{TOP}/hard", f"{TOP}/l")],
                               "not a file earlier in the archive", f"{TOP}/hard"),
        "folder-replaced-by-link": ([good, folder(f"{TOP}/sub"), file(f"{TOP}/sub/a"),
                                     symlink(f"{TOP}/sub", "../../victim"),
                                     file(f"{TOP}/sub/.bashrc", b"owned\n")],
                                    "given twice", f"{TOP}/sub"),
        "file-replaced-by-link": ([good, symlink(f"{TOP}/README", "../../victim/.bashrc")],
                                  "given twice", f"{TOP}/README"),
        "char-device": ([good, Member(f"{TOP}/null", tarfile.CHRTYPE)],
                        "device, FIFO", f"{TOP}/null"),
        "block-device": ([good, Member(f"{TOP}/sda", tarfile.BLKTYPE)],
                         "device, FIFO", f"{TOP}/sda"),
        "fifo": ([good, Member(f"{TOP}/pipe", tarfile.FIFOTYPE)], "device, FIFO",
                 f"{TOP}/pipe"),
        "control-characters": ([good, file(f"/tmp/{esc}", b"owned\n")], "absolute path",
                               "/tmp/\\x1b]0;owned\\x07"),
    }


CASE_NAMES = list(_cases(Path("/v")))


def _hostile(scene: Scene, case: str) -> tuple[Path, str, str]:
    members, needle, named = _cases(scene.victim)[case]
    return make_tarball(scene.root / f"{case}.tar.gz", members), needle, named


def _assert_nothing_escaped(scene: Scene, outside: Outside) -> None:
    assert scene.victim.read_bytes() == VICTIM_BYTES
    outside.assert_unchanged()
    assert not scene.dest.exists(), "a refused extraction leaves no work folder"


# Run first by the current Python when the machine has no Python whose tarfile
# lacks data_filter (e.g. Ubuntu 24.04): before the project is imported, the
# extraction filters are removed from tarfile, and extract/extractall refuse
# a filter= argument and extract as a tarfile without filters does (every
# member as it is), so the child is a Python whose tarfile has no data_filter.
NO_FILTER = """
import tarfile
_trusted = getattr(tarfile, "fully_trusted_filter", None)
for _name in ("data_filter", "tar_filter", "fully_trusted_filter", "FilterError",
              "AbsolutePathError", "OutsideDestinationError", "SpecialFileError",
              "AbsoluteLinkError", "LinkOutsideDestinationError", "LinkFallbackError"):
    if hasattr(tarfile, _name):
        delattr(tarfile, _name)
if "extraction_filter" in vars(tarfile.TarFile):
    del tarfile.TarFile.extraction_filter
_extractall, _extract = tarfile.TarFile.extractall, tarfile.TarFile.extract

def _no_filter(name, kwargs):
    if "filter" in kwargs:
        raise TypeError(name + "() got an unexpected keyword argument 'filter'")
    if _trusted is not None:
        kwargs["filter"] = _trusted

def extractall(self, *args, **kwargs):
    _no_filter("extractall", kwargs)
    return _extractall(self, *args, **kwargs)

def extract(self, *args, **kwargs):
    _no_filter("extract", kwargs)
    return _extract(self, *args, **kwargs)

tarfile.TarFile.extractall, tarfile.TarFile.extract = extractall, extract
"""


@pytest.fixture(scope="session")
def python_without_filter() -> tuple[str, str]:
    """A Python whose tarfile has no ``data_filter``, and the code it runs first.

    The system's own old Python where there is one (Debian 12's 3.11.2);
    otherwise the current Python with tarfile's extraction filters removed
    before anything else is imported (``NO_FILTER``): the same cases run
    there, never skipped.
    """
    candidates = ["/usr/bin/python3.11", "/usr/bin/python3",
                  *sorted(str(p) for p in Path("/usr/bin").glob("python3.[0-9]*")
                          if p.name.replace(".", "").replace("python", "").isdigit())]
    for candidate in candidates:
        if not os.access(candidate, os.X_OK):
            continue
        probe = subprocess.run([candidate, "-c", "import tarfile; print(hasattr(tarfile, "
                                "'data_filter'))"], capture_output=True, text=True,
                               timeout=60, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == "False":
            return candidate, ""
    return sys.executable, NO_FILTER


def _run_child(python: tuple[str, str], tarball: Path, dest: Path,
               home: Path) -> subprocess.CompletedProcess[str]:
    # Only the work tree on the path: the extraction needs no installed package.
    env = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": str(home), "LC_ALL": "C.UTF-8"}
    interpreter, first = python
    return subprocess.run([interpreter, "-s", "-c", first + CHILD, str(tarball), str(dest)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_refused_in_process_on_the_ci_python(scene: Scene, case: str) -> None:
    tarball, needle, named = _hostile(scene, case)
    outside = Outside(scene.root, scene.dest)
    with pytest.raises(WizardError) as caught:
        extract_release(tarball, scene.dest)
    line = caught.value.one_line()
    assert "\n" not in line and ". Fix: " in line, line
    assert needle in line, line
    assert f"'{named}'" in line, line
    assert "\x1b" not in line
    _assert_nothing_escaped(scene, outside)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_refused_on_a_python_without_data_filter(scene: Scene, case: str,
                                                 python_without_filter: tuple[str, str]) -> None:
    tarball, needle, named = _hostile(scene, case)
    outside = Outside(scene.root, scene.dest)
    result = _run_child(python_without_filter, tarball, scene.dest, scene.root)
    assert result.stdout.splitlines()[:1] == ["no data_filter"], (result.stdout, result.stderr)
    line = assert_refused(result.returncode, result.stderr, needle)
    assert f"'{named}'" in line, line
    assert "\x1b" not in result.stderr
    _assert_nothing_escaped(scene, outside)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_memdisk_build_refuses_it_as_a_subprocess(scene: Scene, case: str) -> None:
    tarball, needle, named = _hostile(scene, case)
    out = scene.root / "out"
    out.mkdir()
    outside = Outside(scene.root, scene.work, out)
    result = run_cli("memdisk", "build", "--source", str(tarball), "-o", str(out / "memdisk"),
                     "--work-dir", str(scene.work), home=scene.root, cwd=scene.root)
    line = assert_refused(result.returncode, result.stderr, needle)
    assert f"'{named}'" in line, line
    assert result.stdout == ""
    assert scene.victim.read_bytes() == VICTIM_BYTES
    outside.assert_unchanged()
    assert os.listdir(scene.work) == [] and os.listdir(out) == []


GOOD = [
    folder(TOP), folder(f"{TOP}/memdisk"), file(f"{TOP}/README", b"SYSLINUX\n"),
    file(f"{TOP}/memdisk/Makefile", b"all:\n"), symlink(f"{TOP}/doc", "README"),
    symlink(f"{TOP}/here", "."), symlink(f"{TOP}/memdisk/up", ".."),
    symlink(f"{TOP}/dangling", "not-yet"), hardlink(f"{TOP}/README.copy", f"{TOP}/README"),
    file(f"{TOP}/memdisk/build.sh", b"#!/bin/sh\n"),
]


def _assert_good_tree(dest: Path) -> None:
    top = dest / TOP
    assert (top / "README").read_bytes() == b"SYSLINUX\n"
    assert (top / "README.copy").read_bytes() == b"SYSLINUX\n"
    assert os.readlink(top / "doc") == "README"
    assert os.readlink(top / "here") == "."
    assert os.readlink(top / "memdisk" / "up") == ".."
    assert os.readlink(top / "dangling") == "not-yet"
    for level in (dest, top, top / "memdisk"):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700


def test_a_good_tarball_with_links_inside_extracts_on_the_ci_python(scene: Scene) -> None:
    tarball = make_tarball(scene.root / "good.tar.gz", GOOD)
    outside = Outside(scene.root, scene.dest)
    extract_release(tarball, scene.dest)
    _assert_good_tree(scene.dest)
    outside.assert_unchanged()


def test_a_good_tarball_with_links_inside_extracts_without_data_filter(
        scene: Scene, python_without_filter: tuple[str, str]) -> None:
    tarball = make_tarball(scene.root / "good.tar.gz", GOOD)
    outside = Outside(scene.root, scene.dest)
    result = _run_child(python_without_filter, tarball, scene.dest, scene.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["no", "data_filter", "extracted"]
    _assert_good_tree(scene.dest)
    outside.assert_unchanged()



def test_the_stand_in_for_an_old_python_has_a_tarfile_without_filters(scene: Scene) -> None:
    """NO_FILTER (used where no old Python exists) makes a tarfile as 3.11.2's:
    no filters, no filter= argument, and every member extracted as it is."""
    probe = NO_FILTER + """
import sys, tarfile
print(hasattr(tarfile, "data_filter"), hasattr(tarfile, "tar_filter"),
      hasattr(tarfile, "fully_trusted_filter"), hasattr(tarfile.TarFile, "extraction_filter"))
with tarfile.open(sys.argv[1]) as archive:
    try:
        archive.extractall(sys.argv[2], filter="data")
    except TypeError as exc:
        print("refused:", exc)
    archive.extractall(sys.argv[2])
"""
    tarball = make_tarball(scene.root / "out.tar.gz", [symlink("out", str(scene.victim.parent))])
    result = subprocess.run([sys.executable, "-s", "-W", "error", "-c", probe, str(tarball),
                             str(scene.dest)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "False False False False",
        "refused: extractall() got an unexpected keyword argument 'filter'"]
    # What data_filter refuses (a link to an absolute path) is extracted as it is.
    assert os.readlink(scene.dest / "out") == str(scene.victim.parent)

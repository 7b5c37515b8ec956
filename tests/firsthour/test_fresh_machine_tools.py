"""On a fresh machine: fixtures need no fdisk or ntfs-3g; a missing tool is one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.disk import images
from tests.tools import DEBIAN_PACKAGES

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_ONLY = {"fdisk": ("sfdisk", "fdisk", "cfdisk"),
                "ntfs-3g": ("mkntfs", "ntfscp", "ntfs-3g", "lowntfs-3g", "mkfs.ntfs")}


def path_without(tmp_path: Path, *names: str) -> str:
    """A PATH of links to every tool on this PATH but ``names``."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for entry in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(entry):
            continue
        for tool in os.listdir(entry):
            link = folder / tool
            if tool in names or ("ntfs" in tool and "ntfs-3g" in names) or link.exists():
                continue
            link.symlink_to(Path(entry) / tool)
    return str(folder)


def pytest_in(env_path: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": env_path}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False, timeout=600)


def test_disk_fixtures_need_neither_fdisk_nor_ntfs_3g(tmp_path: Path) -> None:
    hidden = [tool for tools in FIXTURE_ONLY.values() for tool in tools]
    path = path_without(tmp_path, *hidden, "ntfs-3g")
    assert all(shutil.which(tool, path=path) is None for tool in hidden)
    result = pytest_in(path, "tests/disk/test_disk_inspect.py",
                       "tests/prerequisites/test_prereq_checks.py")
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout.splitlines()[-1]


def test_a_missing_tool_fails_with_one_line_naming_its_package(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text("import subprocess\n\n"
                     "def test_converts():\n"
                     "    subprocess.run(['qemu-img', '--version'], check=True)\n")
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    path = path_without(tmp_path, "qemu-img")
    env_path = path
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), str(probe)], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PATH": env_path, "PYTHONPATH": str(ROOT)}, check=False,
        timeout=120)
    assert result.returncode == 1, result.stdout
    line = ("qemu-img is not installed: install the Debian package qemu-utils "
            "(apt-get install qemu-utils; the README's test command does)")
    assert line in result.stdout
    assert "Traceback" not in result.stdout and "FileNotFoundError" not in result.stdout


def test_need_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.tools import need

    monkeypatch.setenv("PATH", path_without(tmp_path, "nasm"))
    with pytest.raises(pytest.fail.Exception) as caught:
        need("nasm")
    assert str(caught.value) == ("nasm is not installed: install the Debian package nasm "
                                 "(apt-get install nasm; the README's test command does)")


def test_every_tool_the_fixtures_need_has_a_package() -> None:
    for tool in ("make", "nasm", "mformat", "mcopy", "mkfs.fat", "qemu-img", "openssl"):
        assert tool in DEBIAN_PACKAGES


def test_shipped_volumes_match_their_files() -> None:
    # The archive records what each volume was made from; a change to VOLUMES
    # without remaking the archive fails here, by name.
    for name, files in images.VOLUMES.items():
        digest, data = images.shipped_volume(name)
        assert digest == images.files_digest(files), name
        assert len(data) == images.NTFS_SIZE and data[3:11] == b"NTFS    "

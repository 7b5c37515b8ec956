"""Folders the tool creates: new, private at every level, never planted (issue 9 items 5, 6).

The default bundle folder was ``$TMPDIR/bundle-NAME-DATE-PID``: anyone who
can write $TMPDIR could plant a folder or a link under that name and receive
the parts and the manifest. ``mkdir(parents=True, mode=0o700)`` gave the
mode to the last level only. Each test compares what it planted (a victim
file's bytes, folder listings, modes) before and after.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import run_cli
from tests.bundle.conftest import ACCOUNT, KeyFiles, key_files  # noqa: F401 - a fixture
from tests.memdisk.syslinux_tree import make_tarball, make_tree
from wizard.bundle.bundler import bundle_image
from wizard.bundle.request import bundle_request
from wizard.core.dirs import log_dir, state_dir
from wizard.credentials import Credentials, load_credentials
from wizard.disk.convert import convert_to_raw
from wizard.memdisk.build import build_memdisk
from wizard.memdisk.extract import extract_release


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _listing(folder: Path) -> dict[str, tuple[int, bytes | str | None]]:
    """Every entry below ``folder``: its mode and its bytes (a link: its target)."""
    seen: dict[str, tuple[int, bytes | str | None]] = {}
    for path in sorted(folder.rglob("*")):
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            seen[str(path.relative_to(folder))] = (info.st_mode, os.readlink(path))
        elif stat.S_ISREG(info.st_mode):
            seen[str(path.relative_to(folder))] = (info.st_mode, path.read_bytes())
        else:
            seen[str(path.relative_to(folder))] = (info.st_mode, None)
    return seen


def _assert_private_levels(top: Path, deepest: Path) -> None:
    """Every level from ``top`` down to ``deepest`` is a real folder of mode 0700."""
    levels = [deepest, *deepest.parents]
    for level in levels[:levels.index(top) + 1]:
        assert not level.is_symlink() and level.is_dir(), level
        assert _mode(level) == 0o700, f"{level} is {oct(_mode(level))}"


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "image.img"
    path.write_bytes(os.urandom(3 * 1024 * 1024))
    return path


def _credentials(keys: KeyFiles) -> Credentials:
    return load_credentials(
        {"cert": str(keys.user_cert), "private_key": str(keys.user_key), "user": ACCOUNT,
         "cloud_cert": str(keys.cloud_cert)}, environ={}, ini_paths=[])


def _old_style_names(name: str, seconds: int = 15) -> list[str]:
    """The names the old default folder took for this process, now and the next seconds."""
    now = time.time()
    return sorted({f"bundle-{name}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now + s))}-"
                   f"{os.getpid()}" for s in range(-1, seconds)})


@pytest.mark.parametrize("planted", ["link", "folder"])
def test_default_folder_is_never_a_planted_one(
    key_files: KeyFiles, image: Path, tmp_path: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch, planted: str,
) -> None:
    """A link (to a folder of the victim's) or a folder (open to all) planted under
    every name the old default could take now: neither receives anything."""
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_bytes(b"victim's bytes\n")
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    for name in _old_style_names(image.name):
        if planted == "link":
            (tmpdir / name).symlink_to(victim, target_is_directory=True)
        else:
            (tmpdir / name).mkdir()
            (tmpdir / name).chmod(0o777)
    before_victim = _listing(victim)
    before_tmpdir = _listing(tmpdir)

    request, chosen = bundle_request(
        image, destination=None, prefix=None, arch="x86_64", image_type="machine",
        kernel_id=None, ramdisk_id=None, credentials=_credentials(key_files))
    bundle = bundle_image(request)

    assert chosen
    folder = bundle.manifest_path.parent
    assert folder.parent == tmpdir
    assert folder.name not in before_tmpdir, "an existing folder or link was used"
    _assert_private_levels(folder, folder)
    assert _listing(victim) == before_victim
    # The planted entries are as they were; the new folder is the one addition.
    after = {k: v for k, v in _listing(tmpdir).items() if not k.startswith(folder.name)}
    assert after == before_tmpdir


def test_default_folder_from_the_cli_is_new_and_private(
    key_files: KeyFiles, image: Path, tmp_path: Path,  # noqa: F811
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    result = run_cli("bundle", "-i", str(image), "-c", str(key_files.user_cert),
                     "-k", str(key_files.user_key), "-u", ACCOUNT,
                     "--ec2cert", str(key_files.cloud_cert),
                     env={"TMPDIR": str(tmpdir)}, home=home)
    assert result.returncode == 0, result.stderr
    manifest = Path(result.stdout.strip().splitlines()[-1].removeprefix("Wrote manifest "))
    folder = manifest.parent
    assert folder.parent == tmpdir and folder.name.startswith("bundle-image.img-")
    assert f"Bundle folder: {folder}" in result.stderr
    _assert_private_levels(folder, folder)


def _deep(tmp_path: Path) -> tuple[Path, Path]:
    """An existing folder of an unusual mode (0751), and a path three missing levels below it."""
    existing = tmp_path / "existing"
    existing.mkdir()
    existing.chmod(0o751)
    return existing, existing / "a" / "b" / "c"


def test_deep_state_and_log_folders_are_private_at_every_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    existing, state_home = _deep(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(state_home))
    state, logs = state_dir(), log_dir()
    assert state.is_relative_to(state_home) and logs.is_relative_to(state_home)
    _assert_private_levels(existing / "a", state)
    _assert_private_levels(existing / "a", logs)
    assert _mode(existing) == 0o751


def test_a_real_run_makes_its_deep_log_folder_private(
    key_files: KeyFiles, image: Path, tmp_path: Path,  # noqa: F811
) -> None:
    """``python -m wizard bundle`` with XDG_STATE_HOME several missing levels deep,
    and -d several missing levels deep: every level it creates is 0700."""
    existing, state_home = _deep(tmp_path)
    out_parent = tmp_path / "bundles"
    out_parent.mkdir()
    out_parent.chmod(0o755)
    dest = out_parent / "x" / "y" / "z"
    home = tmp_path / "home"
    home.mkdir()
    result = run_cli("bundle", "-i", str(image), "-d", str(dest),
                     "-c", str(key_files.user_cert), "-k", str(key_files.user_key),
                     "-u", ACCOUNT, "--ec2cert", str(key_files.cloud_cert),
                     env={"XDG_STATE_HOME": str(state_home)}, home=home)
    assert result.returncode == 0, result.stderr
    logs = list(state_home.rglob("*.log"))
    assert len(logs) == 1
    _assert_private_levels(existing / "a", logs[0].parent)
    _assert_private_levels(out_parent / "x", dest)
    assert _mode(existing) == 0o751 and _mode(out_parent) == 0o755


def test_an_existing_folder_is_not_re_permissioned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The wizard's own state folder, already there as the operator left it (0750):
    its mode is the operator's, not rewritten on every run."""
    state_home = tmp_path / "state"
    (state_home / "euca-windows-wizard").mkdir(parents=True)
    (state_home / "euca-windows-wizard").chmod(0o750)
    monkeypatch.setenv("XDG_STATE_HOME", str(state_home))
    state_dir()
    assert _mode(state_home / "euca-windows-wizard") == 0o750


def test_memdisk_work_folder_levels_are_private(tmp_path: Path) -> None:
    parent = tmp_path / "work-parent"
    parent.mkdir()
    parent.chmod(0o755)
    work = parent / "new" / "work"
    build_memdisk(make_tree(tmp_path / "src"), tmp_path / "memdisk", work_dir=work)
    _assert_private_levels(parent / "new", work)
    assert _mode(parent) == 0o755


def test_convert_work_folder_levels_are_private(tmp_path: Path) -> None:
    qcow2 = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(qcow2), "1M"], check=True)
    work = tmp_path / "convert" / "to" / "here"
    raw = convert_to_raw(qcow2, work)
    assert raw.parent == work
    _assert_private_levels(tmp_path / "convert", work)


def test_syslinux_extraction_folder_levels_are_private(tmp_path: Path) -> None:
    tarball = make_tarball(make_tree(tmp_path / "src"), tmp_path / "syslinux.tar.gz")
    parent = tmp_path / "extract-parent"
    parent.mkdir()
    parent.chmod(0o755)
    dest = parent / "new" / "deeper" / "syslinux"
    extract_release(tarball, dest)
    _assert_private_levels(parent / "new", dest)
    assert _mode(parent) == 0o755

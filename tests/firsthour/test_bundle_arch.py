"""bundle takes the architecture from the Windows on the disk image; -r overrides."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import CliResult
from tests.disk import images as disk_images


def architecture(manifest: Path) -> str:
    found = re.search(rb"<architecture>([^<]*)</architecture>", manifest.read_bytes())
    assert found is not None
    return found.group(1).decode()


@pytest.fixture(scope="module")
def disks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("arch")
    return {name: disk_images.windows_disk(root / name, disk_images.VOLUMES[name])
            for name in ("xp_32bit", "xp_64bit", "xp_scsi")}


@pytest.mark.parametrize(("disk", "arch", "why"), [
    ("xp_32bit", "i386", "read from the image: partition 1 has \\WINDOWS\\system32 and no "
                         "\\WINDOWS\\SysWOW64: a 32-bit Windows; -r overrides"),
    ("xp_64bit", "x86_64", "read from the image: partition 1 has \\WINDOWS\\SysWOW64: "
                           "a 64-bit Windows; -r overrides"),
])
def test_the_architecture_is_read_from_the_disk(
    cli: Callable[..., CliResult], key_flags: tuple[str, ...], disks: dict[str, Path],
    tmp_path: Path, disk: str, arch: str, why: str,
) -> None:
    result = cli("bundle", "-i", disks[disk], "-d", tmp_path / "out", *key_flags)
    assert result.code == 0, result.err
    assert architecture(result.manifest()) == arch
    assert f"Architecture: {arch} ({why})" in result.err


def test_r_overrides_what_the_disk_says(cli: Callable[..., CliResult],
                                        key_flags: tuple[str, ...], disks: dict[str, Path],
                                        tmp_path: Path) -> None:
    result = cli("bundle", "-i", disks["xp_32bit"], "-d", tmp_path / "out", "-r", "x86_64",
                 *key_flags)
    assert result.code == 0, result.err
    assert architecture(result.manifest()) == "x86_64"
    assert "Architecture:" not in result.err  # given, so nothing to explain


@pytest.mark.parametrize("what", ["no Windows folder", "not a disk"])
def test_an_unreadable_windows_falls_back_and_says_why(
    cli: Callable[..., CliResult], key_flags: tuple[str, ...], disks: dict[str, Path],
    tmp_path: Path, what: str,
) -> None:
    image = disks["xp_scsi"]
    if what == "not a disk":
        image = tmp_path / "memdisk-like.img"
        image.write_bytes(b"\x01" * 65536)
    result = cli("bundle", "-i", image, "-d", tmp_path / "out", *key_flags)
    assert result.code == 0, result.err
    assert architecture(result.manifest()) == "x86_64"
    said = [line for line in result.err.splitlines() if line.startswith("Architecture:")]
    assert len(said) == 1
    assert said[0].startswith("Architecture: x86_64 (the default: the image's Windows could "
                              "not be read (")
    assert "give i386 for a 32-bit Windows; -r overrides)" in said[0]

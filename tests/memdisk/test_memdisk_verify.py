"""memdisk find and verify, against the distribution's memdisk and bad files."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from wizard.core.errors import WizardError
from wizard.memdisk.find import find_memdisk
from wizard.memdisk.verify import verify_memdisk

DISTRO_MEMDISK = Path("/usr/lib/syslinux/memdisk")  # Debian's syslinux-common


def test_distribution_memdisk_verifies() -> None:
    info = verify_memdisk(DISTRO_MEMDISK)
    assert info.protocol.startswith("2.")
    assert info.version is not None
    assert info.version.split()[0][0].isdigit()
    assert "memdisk" in info.describe()


def test_find_returns_the_distribution_memdisk() -> None:
    info = find_memdisk()
    assert info is not None
    assert info.path == DISTRO_MEMDISK


def test_find_skips_a_bad_file_and_takes_the_next(tmp_path: Path) -> None:
    bad = tmp_path / "memdisk"
    bad.write_bytes(b"\0" * 4096)
    info = find_memdisk([tmp_path / "missing", bad, DISTRO_MEMDISK])
    assert info is not None and info.path == DISTRO_MEMDISK


def test_find_none(tmp_path: Path) -> None:
    assert find_memdisk([tmp_path / "missing"]) is None


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "random.bin"
    junk.write_bytes(os.urandom(30000).replace(b"HdrS", b"xxxx"))
    with pytest.raises(WizardError, match="is not a memdisk"):
        verify_memdisk(junk)


def test_text_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "memdisk.txt"
    text.write_text("MEMDISK 6.04 is what this file pretends to be.\n" * 50)
    with pytest.raises(WizardError, match="0x55AA"):
        verify_memdisk(text)


def test_boot_sector_without_linux_header_is_refused(tmp_path: Path) -> None:
    data = bytearray(2048)
    data[0x1FE:0x200] = b"\x55\xaa"
    path = tmp_path / "bootsector"
    path.write_bytes(bytes(data))
    with pytest.raises(WizardError, match="HdrS"):
        verify_memdisk(path)


def test_wrong_protocol_version_is_refused(tmp_path: Path) -> None:
    data = bytearray(DISTRO_MEMDISK.read_bytes())
    struct.pack_into("<H", data, 0x206, 0x0105)
    path = tmp_path / "memdisk"
    path.write_bytes(bytes(data))
    with pytest.raises(WizardError, match=r"not 2\.x"):
        verify_memdisk(path)


def test_short_and_missing_files(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_bytes(b"\x55\xaa")
    with pytest.raises(WizardError, match="too short"):
        verify_memdisk(short)
    with pytest.raises(WizardError, match="does not exist"):
        verify_memdisk(tmp_path / "missing")
    with pytest.raises(WizardError, match="is a folder, not a memdisk file"):
        verify_memdisk(tmp_path)


def test_fifo_is_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "memdisk"
    os.mkfifo(fifo)
    # Reading a FIFO would wait for a writer forever.
    with pytest.raises(WizardError, match="not a regular file"):
        verify_memdisk(fifo)

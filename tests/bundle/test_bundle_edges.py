"""Edges of the bundle format, each checked with openssl, gzip and tar.

Image sizes around the 512-byte tar blocks and the 4 MiB read blocks, sparse
images whose holes the bundler skips (SEEK_DATA) at every position, a prefix
longer than a tar name field, and images over the 8 GiB a plain tar header
can describe (Windows disks usually are).
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import extract_with_os_tools, run
from tests.bundle.conftest import MIB, KeyFiles, make_bundle
from wizard.bundle import tarstream
from wizard.bundle.bundler import BLOCK_SIZE
from wizard.bundle.keys import BundleKeys


@pytest.mark.parametrize("size", [1, 511, 512, 513, BLOCK_SIZE - 1, BLOCK_SIZE,
                                  BLOCK_SIZE + 1, 2 * BLOCK_SIZE])
def test_sizes_around_block_boundaries(bundle_keys: BundleKeys, key_files: KeyFiles,
                                       tmp_path: Path, size: int) -> None:
    image = tmp_path / "edge.img"
    image.write_bytes(os.urandom(size))
    made = make_bundle(image, tmp_path / "out", bundle_keys)
    assert made.bundle.manifest.size == size
    extracted = extract_with_os_tools(made.manifest_path, key_files.user_key, tmp_path / "x")
    assert extracted.name == "edge.img"
    assert extracted.read_bytes() == image.read_bytes()


def _sparse(path: Path, size: int, writes: list[tuple[int, bytes]]) -> Path:
    with open(path, "wb") as out:
        for offset, data in writes:
            out.seek(offset)
            out.write(data)
        out.truncate(size)
    return path


SPARSE = {
    "all-hole": (16 * MIB, []),
    "hole-then-data": (12 * MIB + 100, [(9 * MIB, b"late data" * 1000)]),
    "data-then-hole": (16 * MIB, [(0, b"\x33" * 5000)]),
    "bytes-around-block-edges": (
        3 * BLOCK_SIZE + 7,
        [(BLOCK_SIZE - 1, b"A"), (BLOCK_SIZE, b"B"), (2 * BLOCK_SIZE + 4097, b"C"),
         (3 * BLOCK_SIZE + 6, b"Z")]),
    "zeros-written-as-data": (8 * MIB, [(0, bytes(8 * MIB))]),
}


@pytest.mark.parametrize("layout", sorted(SPARSE))
def test_sparse_images(bundle_keys: BundleKeys, key_files: KeyFiles, tmp_path: Path,
                       layout: str) -> None:
    size, writes = SPARSE[layout]
    image = _sparse(tmp_path / "sparse.img", size, writes)
    made = make_bundle(image, tmp_path / "out", bundle_keys)
    assert made.bundle.manifest.size == size
    extracted = extract_with_os_tools(made.manifest_path, key_files.cloud_key, tmp_path / "x",
                                      "ec2")
    run(["cmp", str(image), str(extracted)])


def test_prefix_longer_than_a_tar_name_field(bundle_keys: BundleKeys, key_files: KeyFiles,
                                             tmp_path: Path) -> None:
    prefix = "windows-server-2003-r2-sp2-x86-" + "enterprise-" * 10 + "disk"
    assert len(prefix) > 100
    image = tmp_path / "disk.img"
    image.write_bytes(os.urandom(10_000))
    made = make_bundle(image, tmp_path / "out", bundle_keys, prefix=prefix)
    assert made.manifest_path.name == f"{prefix}.manifest.xml"
    extracted = extract_with_os_tools(made.manifest_path, key_files.user_key, tmp_path / "x")
    assert extracted.name == prefix
    assert extracted.read_bytes() == image.read_bytes()


def test_header_of_an_image_over_8_gib(tmp_path: Path) -> None:
    """GNU tar and Python's tarfile read the size of a 20 GiB image from the header."""
    size = 20 * 1024**3 + 512
    head = tarstream.header("windows.raw", size, 1_700_000_000)
    info = tarfile.TarInfo.frombuf(head[:512], "utf-8", "surrogateescape")
    assert info.size == size
    # GNU tar lists the member from its header, then meets the end of the file.
    archive = tmp_path / "head.tar"
    archive.write_bytes(head)
    listing = subprocess.run(["tar", "--numeric-owner", "-tvf", str(archive)],
                             capture_output=True, text=True, timeout=30, check=False)
    fields = listing.stdout.split()
    assert fields[:3] == ["-rw-r--r--", "0/0", str(size)], listing
    assert fields[-1] == "windows.raw"
    assert tarstream.stream_size("windows.raw", size) % tarstream.RECORD == 0


def test_block_device_as_image(bundle_keys: BundleKeys, key_files: KeyFiles, tmp_path: Path,
                               loop_device: tuple[Path, Path]) -> None:
    """An LVM volume or loop device: st_size is 0, the size is the device's."""
    device, backing = loop_device
    made = make_bundle(device, tmp_path / "out", bundle_keys, prefix="volume.img")
    assert made.bundle.manifest.size == 3 * MIB
    extracted = extract_with_os_tools(made.manifest_path, key_files.user_key, tmp_path / "x")
    assert extracted.read_bytes() == backing.read_bytes()

"""Finding the Debian tools the tests run, and saying which package to install.

A test that runs a real tool (make and nasm build memdisk, qemu-img converts,
mtools and dosfstools format floppies, openssl/gzip/tar read bundles the way
a cloud does) fails, when the tool is missing, with one line naming the
Debian package: the README's test command installs them all. Fixtures that
only need a file laid out (partition tables, NTFS volumes) are made in
Python or shipped with the tests instead (tests/disk/partitions.py,
tests/disk/ntfs-volumes.tar.xz), so no tool is needed for them.
"""

from __future__ import annotations

import shutil

import pytest

# Tool -> the Debian/Ubuntu package that has it.
DEBIAN_PACKAGES: dict[str, str] = {
    "make": "make",
    "nasm": "nasm",
    "gcc": "gcc",
    "cc": "gcc",
    "mformat": "mtools",
    "mcopy": "mtools",
    "mdir": "mtools",
    "mtype": "mtools",
    "mkfs.fat": "dosfstools",
    "qemu-img": "qemu-utils",
    "openssl": "openssl",
    "gzip": "gzip",
    "tar": "tar",
    "tmux": "tmux",
    "setpriv": "util-linux",
    "unshare": "util-linux",
    "sfdisk": "fdisk",
    "mkntfs": "ntfs-3g",
    "ntfscp": "ntfs-3g",
    "ntfs-3g": "ntfs-3g",
}


def missing_tool_line(tool: str) -> str:
    """The one line a test fails with when ``tool`` is not on PATH."""
    package = DEBIAN_PACKAGES.get(tool)
    if package is None:
        return f"{tool} is not installed (needed by this test)"
    return (f"{tool} is not installed: install the Debian package {package} "
            f"(apt-get install {package}; the README's test command does)")


def need(tool: str) -> str:
    """The path of ``tool``; the test fails with one line naming its package if absent."""
    found = shutil.which(tool)
    if found is None:
        pytest.fail(missing_tool_line(tool), pytrace=False)
    return found

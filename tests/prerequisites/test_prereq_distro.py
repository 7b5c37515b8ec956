"""Install commands per distribution, from os-release texts as they ship."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wizard.core.distro import current_distro, distro_from_os_release

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n'
FEDORA = "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=40\n"
RHEL9 = 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.3"\n'
CENTOS7 = 'NAME="CentOS Linux"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n'
ROCKY = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.2"\n'
LEAP = 'NAME="openSUSE Leap"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\nVERSION_ID="15.5"\n'
ARCH = 'NAME="Arch Linux"\nID=arch\n'
MANJARO = 'NAME="Manjaro Linux"\nID=manjaro\nID_LIKE=arch\n'
ALPINE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.0\n'
UNKNOWN = 'NAME="Something"\nID=something\n'

SUDO = "" if os.geteuid() == 0 else "sudo "


@pytest.mark.parametrize(
    ("text", "tools", "command"),
    [
        (DEBIAN, ["nasm"], "apt-get install nasm"),
        (DEBIAN, ["qemu-img", "memdisk"], "apt-get install qemu-utils syslinux-common"),
        (UBUNTU, ["make", "nasm", "cc"], "apt-get install make nasm gcc"),
        (FEDORA, ["qemu-img", "memdisk"], "dnf install qemu-img syslinux"),
        (RHEL9, ["nasm"], "dnf install nasm"),
        (CENTOS7, ["nasm"], "yum install nasm"),
        (ROCKY, ["make"], "dnf install make"),
        (LEAP, ["qemu-img", "memdisk"], "zypper install qemu-tools syslinux"),
        (ARCH, ["nasm", "memdisk"], "pacman -S nasm syslinux"),
        (MANJARO, ["qemu-img"], "pacman -S qemu-img"),
        (ALPINE, ["cc", "nasm"], "apk add gcc musl-dev nasm"),
    ],
)
def test_install_commands(text: str, tools: list[str], command: str) -> None:
    assert distro_from_os_release(text).install_command(tools) == SUDO + command


def test_unknown_distribution_names_the_packages() -> None:
    distro = distro_from_os_release(UNKNOWN)
    assert distro.family is None
    assert distro.install_command(["nasm"]) == \
        "install nasm with this system's package manager"


def test_names_and_quotes() -> None:
    distro = distro_from_os_release(DEBIAN)
    assert distro.name == "Debian GNU/Linux 12 (bookworm)"
    assert distro.id == "debian" and distro.version_id == "12"


def test_this_machine(tmp_path: Path) -> None:
    # The real file on this machine (Debian in CI); a missing one falls back to
    # /usr/lib/os-release, or to an unknown Linux.
    assert current_distro().family is not None
    assert current_distro(tmp_path / "none").id

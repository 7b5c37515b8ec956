"""This machine's distribution, and the exact command that installs a tool.

Read from /etc/os-release (``ID`` then ``ID_LIKE``), so a fix says
``sudo apt-get install nasm`` on Debian, ``sudo dnf install nasm`` on Fedora,
and so on, with the package name that distribution uses (``qemu-utils``
versus ``qemu-img``, ``syslinux-common`` versus ``syslinux``).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

OS_RELEASE = Path("/etc/os-release")

# What each family calls the package that brings a tool. A tool missing from
# a family's table installs under its own name.
_PACKAGES: dict[str, dict[str, str]] = {
    "debian": {"cc": "gcc", "qemu-img": "qemu-utils", "memdisk": "syslinux-common"},
    "fedora": {"cc": "gcc", "qemu-img": "qemu-img", "memdisk": "syslinux"},
    "suse": {"cc": "gcc", "qemu-img": "qemu-tools", "memdisk": "syslinux"},
    "arch": {"cc": "gcc", "qemu-img": "qemu-img", "memdisk": "syslinux"},
    # musl-dev brings the C headers gcc needs on Alpine.
    "alpine": {"cc": "gcc musl-dev", "qemu-img": "qemu-img", "memdisk": "syslinux"},
}

_INSTALLERS: dict[str, str] = {
    "debian": "apt-get install",
    "fedora": "dnf install",
    "suse": "zypper install",
    "arch": "pacman -S",
    "alpine": "apk add",
}

# os-release IDs (and ID_LIKE words) of each family.
_FAMILY_OF: dict[str, str] = {
    "debian": "debian", "ubuntu": "debian", "linuxmint": "debian", "raspbian": "debian",
    "fedora": "fedora", "rhel": "fedora", "centos": "fedora", "rocky": "fedora",
    "almalinux": "fedora", "ol": "fedora", "amzn": "fedora",
    "opensuse": "suse", "opensuse-leap": "suse", "opensuse-tumbleweed": "suse",
    "sles": "suse", "suse": "suse",
    "arch": "arch", "manjaro": "arch", "endeavouros": "arch",
    "alpine": "alpine",
}


@dataclass(frozen=True)
class Distro:
    """The distribution as /etc/os-release names it, and its package family."""

    id: str
    name: str
    version_id: str
    family: str | None

    @property
    def installer(self) -> str | None:
        """The install command, e.g. ``apt-get install`` (None when unknown)."""
        if self.family is None:
            return None
        major = self._major_version()
        # RHEL/CentOS/Oracle Linux 7 and older ship yum, not dnf.
        if self.id in {"rhel", "centos", "ol"} and major is not None and major < 8:
            return "yum install"
        return _INSTALLERS[self.family]

    def _major_version(self) -> int | None:
        head = self.version_id.split(".", 1)[0]
        return int(head) if head.isdigit() else None

    def package(self, tool: str) -> str:
        """The package that brings ``tool`` on this distribution."""
        return _PACKAGES.get(self.family or "", {}).get(tool, tool)

    def install_command(self, tools: Iterable[str]) -> str:
        """The one command that installs every tool in ``tools``."""
        packages: list[str] = []
        for tool in tools:
            for package in self.package(tool).split():
                if package not in packages:
                    packages.append(package)
        names = " ".join(packages)
        if self.installer is None:
            return f"install {names} with this system's package manager"
        sudo = "" if _is_root() else "sudo "
        return f"{sudo}{self.installer} {names}"


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def parse_os_release(text: str) -> dict[str, str]:
    """The KEY=value pairs of an os-release file (shell quoting removed)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw)
        except ValueError:
            words = [raw.strip("\"'")]
        values[key.strip()] = " ".join(words)
    return values


def distro_from_os_release(text: str) -> Distro:
    """The ``Distro`` described by the text of an os-release file."""
    values = parse_os_release(text)
    ident = values.get("ID", "linux").lower()
    family = _FAMILY_OF.get(ident)
    if family is None:
        for like in values.get("ID_LIKE", "").lower().split():
            family = _FAMILY_OF.get(like)
            if family:
                break
    return Distro(
        id=ident,
        name=values.get("PRETTY_NAME") or values.get("NAME") or ident,
        version_id=values.get("VERSION_ID", ""),
        family=family,
    )


def current_distro(os_release: Path = OS_RELEASE) -> Distro:
    """This machine's distribution (unknown family when os-release is missing)."""
    for path in (os_release, Path("/usr/lib/os-release")):
        try:
            return distro_from_os_release(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return Distro(id="linux", name="Linux", version_id="", family=None)

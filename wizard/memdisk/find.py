"""Where distributions put memdisk, and the first usable one found there.

Debian and Ubuntu ship it in ``syslinux-common`` at
``/usr/lib/syslinux/memdisk``; Fedora, RHEL, openSUSE, Alpine and Gentoo at
``/usr/share/syslinux/memdisk``; Arch under ``/usr/lib/syslinux/bios``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from wizard.core.errors import WizardError
from wizard.memdisk.verify import MemdiskInfo, verify_memdisk

MEMDISK_PLACES: tuple[Path, ...] = (
    Path("/usr/lib/syslinux/memdisk"),
    Path("/usr/share/syslinux/memdisk"),
    Path("/usr/lib/syslinux/bios/memdisk"),
    Path("/usr/lib/syslinux/modules/bios/memdisk"),
    Path("/usr/local/share/syslinux/memdisk"),
    Path("/usr/local/lib/syslinux/memdisk"),
    Path("/usr/lib64/syslinux/memdisk"),
    Path("/boot/memdisk"),
)


def find_memdisk(places: Iterable[Path] = MEMDISK_PLACES) -> MemdiskInfo | None:
    """The first file in ``places`` that verifies as memdisk, else None.

    A file that is there but is not a boot-protocol image is passed over: the
    next place may hold a good one.
    """
    for place in places:
        if not place.is_file():
            continue
        try:
            return verify_memdisk(place)
        except WizardError:
            continue
    return None

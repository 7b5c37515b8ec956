"""memdisk, the syslinux kernel that boots the floppy ramdisk: find, verify, build.

The names below load their module on first use, so that ``wizard.memdisk.extract``
stays importable with the standard library and ``wizard.core`` alone: it is
checked on the system's own Python, which has none of the project's packages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.memdisk.build import build_memdisk
    from wizard.memdisk.find import MEMDISK_PLACES, find_memdisk
    from wizard.memdisk.verify import MemdiskInfo, verify_memdisk

_HOMES = {
    "build_memdisk": "wizard.memdisk.build",
    "MEMDISK_PLACES": "wizard.memdisk.find",
    "find_memdisk": "wizard.memdisk.find",
    "MemdiskInfo": "wizard.memdisk.verify",
    "verify_memdisk": "wizard.memdisk.verify",
}

__all__ = ["MEMDISK_PLACES", "MemdiskInfo", "build_memdisk", "find_memdisk", "verify_memdisk"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

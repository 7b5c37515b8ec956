"""memdisk, the syslinux kernel that boots the floppy ramdisk: find, verify, build."""

from wizard.memdisk.build import build_memdisk
from wizard.memdisk.find import MEMDISK_PLACES, find_memdisk
from wizard.memdisk.verify import MemdiskInfo, verify_memdisk

__all__ = ["MEMDISK_PLACES", "MemdiskInfo", "build_memdisk", "find_memdisk", "verify_memdisk"]

"""The MBR partition table of a raw disk image, and logical partitions behind it.

Partitions are numbered the way NT's ARC paths count them
(``partition(N)``): primary partitions that hold something, in table order,
then the logical partitions of the extended partition; empty slots and the
extended partition itself take no number. Sectors are 512 bytes, as on the
IDE and SCSI disks NT 5.x installs on.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

SECTOR = 512
SIGNATURE = b"\x55\xaa"
GPT_PROTECTIVE = 0xEE
NTFS = 0x07
_EXTENDED = frozenset({0x05, 0x0F, 0x85})
# A chain of extended boot records longer than this is a loop or garbage.
_MAX_LOGICAL = 128

TYPE_NAMES: dict[int, str] = {
    0x01: "FAT12", 0x04: "FAT16", 0x06: "FAT16", 0x07: "NTFS/exFAT", 0x0B: "FAT32",
    0x0C: "FAT32 (LBA)", 0x0E: "FAT16 (LBA)", 0x11: "hidden FAT12", 0x12: "recovery",
    0x17: "hidden NTFS", 0x27: "recovery (NTFS)", 0x42: "dynamic disk (LDM)",
    0x82: "Linux swap", 0x83: "Linux", 0x8E: "Linux LVM", 0xEE: "GPT protective",
    0xEF: "EFI system",
}


@dataclass(frozen=True)
class MbrEntry:
    """One partition: number as ARC counts, type, active flag, bytes from/for."""

    number: int
    type_id: int
    active: bool
    start: int
    size: int

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type_id, f"type 0x{self.type_id:02X}")


@dataclass(frozen=True)
class PartitionTable:
    """What sector 0 says: a signature, its partitions, GPT or not."""

    has_signature: bool
    gpt: bool
    disk_signature: str
    entries: tuple[MbrEntry, ...]


def _slots(sector: bytes) -> list[tuple[bool, int, int, int]]:
    """(active, type, first LBA, sector count) of the four table slots."""
    slots = []
    for index in range(4):
        raw = sector[0x1BE + 16 * index:0x1BE + 16 * (index + 1)]
        status, type_id = raw[0], raw[4]
        first, count = struct.unpack("<II", raw[8:16])
        slots.append((status == 0x80, type_id, first, count))
    return slots


def read_partition_table(
    sector0: bytes, read_sector: Callable[[int], bytes] | None = None
) -> PartitionTable:
    """Parse sector 0; ``read_sector(lba)`` lets logical partitions be followed."""
    if len(sector0) < SECTOR or sector0[0x1FE:0x200] != SIGNATURE:
        return PartitionTable(has_signature=False, gpt=False, disk_signature="", entries=())
    disk_signature = f"{struct.unpack_from('<I', sector0, 0x1B8)[0]:08X}"
    slots = _slots(sector0)
    gpt = any(type_id == GPT_PROTECTIVE for _, type_id, _, _ in slots)
    entries: list[MbrEntry] = []
    extended: list[int] = []
    for active, type_id, first, count in slots:
        if type_id == 0 or count == 0:
            continue
        if type_id in _EXTENDED:
            extended.append(first)
            continue
        entries.append(MbrEntry(len(entries) + 1, type_id, active, first * SECTOR,
                                count * SECTOR))
    if read_sector is not None:
        for base in extended:
            entries.extend(_logical(base, read_sector, len(entries)))
    return PartitionTable(True, gpt, disk_signature, tuple(entries))


def _logical(
    base: int, read_sector: Callable[[int], bytes], numbered: int
) -> list[MbrEntry]:
    """Follow the chain of extended boot records that starts at LBA ``base``."""
    found: list[MbrEntry] = []
    ebr = base
    seen: set[int] = set()
    while ebr not in seen and len(seen) < _MAX_LOGICAL:
        seen.add(ebr)
        sector = read_sector(ebr)
        if len(sector) < SECTOR or sector[0x1FE:0x200] != SIGNATURE:
            break
        slots = _slots(sector)
        active, type_id, first, count = slots[0]
        if type_id and count:
            found.append(MbrEntry(numbered + len(found) + 1, type_id, active,
                                  (ebr + first) * SECTOR, count * SECTOR))
        _, next_type, next_first, _ = slots[1]
        if next_type not in _EXTENDED or next_first == 0:
            break
        # The next EBR's address counts from the start of the extended partition.
        ebr = base + next_first
    return found

"""MBR and GPT partition tables written in Python, for disk-image fixtures.

The fixtures used to be laid out by sfdisk (the fdisk package), which a fresh
machine lacks and which only made the table: the table is a few fixed-layout
sectors, written here from the same small script the tests already speak
(sfdisk's: ``label: dos`` or ``label: gpt``, then one ``start=S, size=N,
type=T[, bootable]`` line a partition, sectors of 512 bytes).

MBR: four 16-byte slots at 0x1BE, signature 55 AA. A partition inside an
extended one (type 5) is a logical partition: each gets an extended boot
record (EBR) 2048 sectors before it, the first at the extended partition's
start as sfdisk puts it; an EBR's first slot counts from the EBR, its second
(the link to the next EBR) from the extended partition's start.

GPT (UEFI 2.x, section 5.3): a protective MBR (one type-EE slot), the header
at LBA 1 and 128 entries of 128 bytes from LBA 2, both with CRC-32, and the
backup copies at the end of the disk.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SECTOR = 512
_EXTENDED = {0x05, 0x0F, 0x85}
_GPT_ENTRIES = 128
_GPT_ENTRY_SIZE = 128
_GPT_ENTRY_SECTORS = _GPT_ENTRIES * _GPT_ENTRY_SIZE // SECTOR
# Fixed, so fixtures are the same bytes on every run.
_DISK_GUID = uuid.UUID("5e3c7a1e-0000-4000-8000-000000000001")


@dataclass(frozen=True)
class Partition:
    """One line of the script: first sector, sector count, type, active flag."""

    start: int
    size: int
    type: str
    bootable: bool = False


def parse_script(script: str) -> tuple[str, list[Partition]]:
    """The label (``dos`` or ``gpt``) and partitions of an sfdisk-style script."""
    label = "dos"
    partitions: list[Partition] = []
    for line in script.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("label:"):
            label = line.split(":", 1)[1].strip()
            continue
        fields: dict[str, str] = {}
        bootable = False
        for item in line.split(","):
            item = item.strip()
            if item == "bootable":
                bootable = True
            elif "=" in item:
                key, value = item.split("=", 1)
                fields[key.strip()] = value.strip()
        partitions.append(Partition(int(fields["start"]), int(fields["size"]),
                                    fields["type"], bootable))
    if label not in ("dos", "gpt"):
        raise ValueError(f"unknown label {label!r}")
    return label, partitions


def _slot(bootable: bool, type_id: int, first: int, count: int) -> bytes:
    # CHS fields are left at the "use LBA" marker (FE FF FF), as tools do past 8 GB.
    chs = b"\xfe\xff\xff"
    return struct.pack("<B3sB3sII", 0x80 if bootable else 0, chs, type_id, chs, first, count)


def _mbr(slots: list[bytes], disk_signature: int = 0) -> bytes:
    sector = bytearray(SECTOR)
    struct.pack_into("<I", sector, 0x1B8, disk_signature)
    for index, slot in enumerate(slots[:4]):
        sector[0x1BE + 16 * index:0x1BE + 16 * (index + 1)] = slot
    sector[0x1FE:0x200] = b"\x55\xaa"
    return bytes(sector)


def _write(handle: BinaryIO, lba: int, data: bytes) -> None:
    handle.seek(lba * SECTOR)
    handle.write(data)


def write_dos(disk: Path, partitions: list[Partition]) -> None:
    """An MBR (and EBRs for logical partitions) on ``disk``."""
    primary: list[Partition] = []
    logical: list[Partition] = []
    extended: Partition | None = None
    for part in partitions:
        type_id = int(part.type, 16)
        inside = (extended is not None
                  and extended.start < part.start < extended.start + extended.size)
        if inside:
            logical.append(part)
        else:
            primary.append(part)
            if type_id in _EXTENDED:
                extended = part
    with open(disk, "r+b") as handle:
        slots = [_slot(p.bootable, int(p.type, 16), p.start, p.size) for p in primary]
        _write(handle, 0, _mbr(slots, disk_signature=0x5E3C7A1E))
        if extended is None:
            return
        ebrs = [extended.start] + [part.start - 2048 for part in logical[1:]]
        for index, part in enumerate(logical):
            ebr = ebrs[index]
            ebr_slots = [_slot(part.bootable, int(part.type, 16), part.start - ebr, part.size)]
            if index + 1 < len(logical):
                following = logical[index + 1]
                next_ebr = ebrs[index + 1]
                ebr_slots.append(_slot(False, 0x05, next_ebr - extended.start,
                                       following.start + following.size - next_ebr))
            _write(handle, ebr, _mbr(ebr_slots))


def _gpt_header(current: int, backup: int, first: int, last: int, entries_lba: int,
                entries_crc: int) -> bytes:
    fields = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0,
                         current, backup, first, last, _DISK_GUID.bytes_le, entries_lba,
                         _GPT_ENTRIES, _GPT_ENTRY_SIZE, entries_crc)
    crc = zlib.crc32(fields)
    fields = fields[:16] + struct.pack("<I", crc) + fields[20:]
    return fields.ljust(SECTOR, b"\0")


def write_gpt(disk: Path, partitions: list[Partition]) -> None:
    """A protective MBR and both GPT headers and entry arrays on ``disk``."""
    sectors = disk.stat().st_size // SECTOR
    entries = bytearray(_GPT_ENTRIES * _GPT_ENTRY_SIZE)
    for index, part in enumerate(partitions):
        unique = uuid.UUID(int=_DISK_GUID.int + index + 1)
        struct.pack_into("<16s16sQQQ72s", entries, index * _GPT_ENTRY_SIZE,
                         uuid.UUID(part.type).bytes_le, unique.bytes_le, part.start,
                         part.start + part.size - 1, 0, b"")
    entries_crc = zlib.crc32(entries)
    first_usable = 2 + _GPT_ENTRY_SECTORS
    last_usable = sectors - 2 - _GPT_ENTRY_SECTORS
    with open(disk, "r+b") as handle:
        _write(handle, 0, _mbr([_slot(False, 0xEE, 1, min(sectors - 1, 0xFFFFFFFF))]))
        _write(handle, 1, _gpt_header(1, sectors - 1, first_usable, last_usable, 2,
                                      entries_crc))
        _write(handle, 2, bytes(entries))
        _write(handle, sectors - 1 - _GPT_ENTRY_SECTORS, bytes(entries))
        _write(handle, sectors - 1, _gpt_header(sectors - 1, 1, first_usable, last_usable,
                                                sectors - 1 - _GPT_ENTRY_SECTORS,
                                                entries_crc))


def write_table(disk: Path, script: str) -> None:
    """Lay out ``script``'s partition table on the existing file ``disk``."""
    label, partitions = parse_script(script)
    if label == "gpt":
        write_gpt(disk, partitions)
    else:
        write_dos(disk, partitions)

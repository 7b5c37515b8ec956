"""A small, bounded FAT12 reader for floppy images: no root, no mounting.

It reads what the verifier needs (the boot sector's BIOS parameter block,
the root folder, and files through their FAT chains) from the image's
bytes. The image comes from a VM and may be damaged in any way, so every
offset is checked against the data before use, every chain is walked at
most once per cluster, and any damage ends in a ``FatError`` that says what
is wrong, never in an IndexError or an endless loop.

Layout of a FAT12 volume (Microsoft's FAT specification, "FAT: General
Overview of On-Disk Format"): reserved sectors (the boot sector first),
then the FAT copies, then the fixed-size root folder, then the data area of
clusters numbered from 2.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SECTOR_SIZE = 512
FLOPPY_SECTORS = 2880
FLOPPY_SIZE = SECTOR_SIZE * FLOPPY_SECTORS  # 1,474,560 bytes: a 3.5" 1.44 MB floppy
# The media descriptor of a 3.5" 1.44 MB (and 2.88 MB) floppy.
FLOPPY_MEDIA = 0xF0

# A FAT volume with fewer than 4085 clusters is FAT12, whatever its label
# says: the cluster count alone decides (FAT specification, "FAT Type
# Determination").
_FAT12_MAX_CLUSTERS = 4084
# FAT12 entry values: 0 free, 0xFF7 bad cluster, 0xFF8-0xFFF end of chain;
# 1 and 0xFF0-0xFF6 are reserved and never part of a chain.
_FREE = 0x000
_BAD = 0xFF7
_END = 0xFF8
_DIR_ENTRY_SIZE = 32
_ATTR_VOLUME = 0x08
_ATTR_DIRECTORY = 0x10
_ATTR_LONG_NAME = 0x0F


class FatError(Exception):
    """The image cannot be read as FAT12 here; the message says why."""


@dataclass(frozen=True)
class BiosParameterBlock:
    """The geometry fields at the start of a FAT boot sector (offsets 3-61)."""

    oem_name: str
    bytes_per_sector: int
    sectors_per_cluster: int
    reserved_sectors: int
    fat_count: int
    root_entries: int
    total_sectors: int
    media: int
    sectors_per_fat: int
    sectors_per_track: int
    heads: int
    # The extended boot signature 0x29 means label and type fields follow.
    extended_signature: int
    volume_label: str
    fs_type: str

    @classmethod
    def from_boot_sector(cls, sector: bytes) -> BiosParameterBlock:
        if len(sector) < 62:
            raise FatError("the boot sector is cut short")
        (bps, spc, reserved, fats, roots, total16, media, spf, spt, heads, _hidden,
         total32) = struct.unpack_from("<HBHBHHBHHHII", sector, 11)
        extended = sector[38]
        return cls(
            oem_name=sector[3:11].decode("cp437").strip(),
            bytes_per_sector=bps,
            sectors_per_cluster=spc,
            reserved_sectors=reserved,
            fat_count=fats,
            root_entries=roots,
            # A 16-bit count of 0 means the 32-bit count holds the total.
            total_sectors=total16 if total16 else total32,
            media=media,
            sectors_per_fat=spf,
            sectors_per_track=spt,
            heads=heads,
            extended_signature=extended,
            volume_label=sector[43:54].decode("cp437").strip() if extended == 0x29 else "",
            fs_type=sector[54:62].decode("cp437").strip() if extended == 0x29 else "",
        )


@dataclass(frozen=True)
class DirEntry:
    """One short-name entry of a FAT folder."""

    name: str  # "NTDETECT.COM": the 8.3 name with its dot, as stored
    attributes: int
    first_cluster: int
    size: int

    @property
    def is_directory(self) -> bool:
        return bool(self.attributes & _ATTR_DIRECTORY)

    @property
    def hidden(self) -> bool:
        return bool(self.attributes & 0x02)


@dataclass(frozen=True)
class FileData:
    """A file's bytes, and any harmless oddity met while reading it."""

    data: bytes
    notes: tuple[str, ...] = ()


class Fat12Volume:
    """A FAT12 file system held in memory, read defensively."""

    def __init__(self, image: bytes) -> None:
        self.image = image
        if len(image) < SECTOR_SIZE:
            raise FatError(f"the image holds only {len(image)} bytes, less than one sector")
        self.bpb = bpb = BiosParameterBlock.from_boot_sector(image[:SECTOR_SIZE])
        bps = bpb.bytes_per_sector
        if bps not in (512, 1024, 2048, 4096):
            raise FatError(f"the boot sector gives {bps} bytes per sector "
                           "(FAT allows 512, 1024, 2048 or 4096)")
        spc = bpb.sectors_per_cluster
        if spc == 0 or spc & (spc - 1) or spc > 128:
            raise FatError(f"the boot sector gives {spc} sectors per cluster "
                           "(FAT allows a power of two up to 128)")
        if bpb.reserved_sectors == 0:
            raise FatError("the boot sector gives 0 reserved sectors (at least 1 is needed)")
        if bpb.fat_count == 0:
            raise FatError("the boot sector gives 0 FAT copies")
        if bpb.sectors_per_fat == 0:
            raise FatError("the boot sector gives 0 sectors per FAT (not FAT12)")
        if bpb.root_entries == 0:
            raise FatError("the boot sector gives a root folder of 0 entries (not FAT12)")
        self.fat_offset = bpb.reserved_sectors * bps
        fat_bytes = bpb.sectors_per_fat * bps
        self.root_offset = self.fat_offset + bpb.fat_count * fat_bytes
        root_bytes = bpb.root_entries * _DIR_ENTRY_SIZE
        root_sectors = -(-root_bytes // bps)
        data_sector = (self.root_offset // bps) + root_sectors
        if data_sector >= bpb.total_sectors:
            raise FatError(f"the boot sector's {bpb.total_sectors} sectors leave no room "
                           "for data after the FATs and the root folder")
        clusters = (bpb.total_sectors - data_sector) // spc
        if clusters > _FAT12_MAX_CLUSTERS:
            raise FatError(f"the volume has {clusters} clusters: too many for FAT12")
        if clusters == 0:
            raise FatError("the volume has no data clusters")
        # Each FAT12 entry takes 12 bits; clusters 0 and 1 are reserved.
        if (fat_bytes * 2) // 3 < clusters + 2:
            raise FatError(f"the FAT ({bpb.sectors_per_fat} sectors) is too small "
                           f"for {clusters} clusters")
        if self.root_offset + root_bytes > len(image):
            raise FatError("the image ends before the FATs and the root folder")
        self.fat = image[self.fat_offset : self.fat_offset + fat_bytes]
        self.root_bytes = root_bytes
        self.data_offset = data_sector * bps
        self.cluster_size = spc * bps
        self.clusters = clusters
        self.max_cluster = clusters + 1

    def fat_entry(self, cluster: int) -> int:
        """The 12-bit FAT entry of ``cluster`` (callers keep it in range)."""
        offset = cluster + cluster // 2
        pair = self.fat[offset] | (self.fat[offset + 1] << 8)
        return pair >> 4 if cluster & 1 else pair & 0x0FFF

    def root_folder(self) -> list[DirEntry]:
        """The root folder's short-name entries (no labels, long names, deleted)."""
        found: list[DirEntry] = []
        region = self.image[self.root_offset : self.root_offset + self.root_bytes]
        for start in range(0, len(region) - _DIR_ENTRY_SIZE + 1, _DIR_ENTRY_SIZE):
            raw = region[start : start + _DIR_ENTRY_SIZE]
            first = raw[0]
            if first == 0x00:  # no entry follows the first never-used one
                break
            if first == 0xE5:  # deleted
                continue
            attributes = raw[11]
            if attributes & _ATTR_LONG_NAME == _ATTR_LONG_NAME or attributes & _ATTR_VOLUME:
                continue
            # 0x05 stands for a real first byte 0xE5 (a Kanji lead byte).
            name_bytes = (b"\xe5" if first == 0x05 else raw[:1]) + raw[1:8]
            base = name_bytes.decode("cp437").rstrip(" ")
            ext = raw[8:11].decode("cp437").rstrip(" ")
            cluster, size = struct.unpack_from("<H", raw, 26)[0], struct.unpack_from(
                "<I", raw, 28)[0]
            found.append(DirEntry(f"{base}.{ext}" if ext else base, attributes, cluster, size))
        return found

    def find(self, name: str) -> DirEntry | None:
        """The root folder entry called ``name`` (FAT names ignore case)."""
        wanted = name.upper()
        for entry in self.root_folder():
            if entry.name.upper() == wanted:
                return entry
        return None

    def read_file(self, entry: DirEntry) -> FileData:
        """The file's bytes, following its FAT chain; FatError names any break."""
        name = entry.name
        if entry.size == 0:
            return FileData(b"")
        capacity = self.clusters * self.cluster_size
        if entry.size > capacity:
            raise FatError(f"{name} claims {entry.size:,} bytes, more than the "
                           f"{capacity:,} bytes the floppy holds")
        needed = -(-entry.size // self.cluster_size)
        cluster = entry.first_cluster
        seen: set[int] = set()
        parts: list[bytes] = []
        notes: list[str] = []
        # At most `needed` steps, each on a cluster never visited before, so
        # a loop or a wild pointer ends the walk instead of extending it.
        for index in range(needed):
            if not 2 <= cluster <= self.max_cluster:
                where = "starts at" if index == 0 else "points to"
                raise FatError(f"the FAT chain of {name} {where} cluster {cluster}, "
                               f"outside the floppy's clusters 2-{self.max_cluster}")
            if cluster in seen:
                raise FatError(f"the FAT chain of {name} loops back to cluster {cluster}")
            seen.add(cluster)
            start = self.data_offset + (cluster - 2) * self.cluster_size
            chunk = self.image[start : start + self.cluster_size]
            if len(chunk) < self.cluster_size:
                raise FatError(f"cluster {cluster} of {name} lies beyond the end of the image")
            parts.append(chunk)
            value = self.fat_entry(cluster)
            last = index == needed - 1
            if value == _FREE:
                raise FatError(f"the FAT marks cluster {cluster} free, yet {name} uses it")
            if value == _BAD:
                raise FatError(f"the FAT marks cluster {cluster} of {name} as a bad cluster")
            if value >= _END:
                if not last:
                    raise FatError(f"the FAT chain of {name} ends after {index + 1} "
                                   f"clusters, but the file is {entry.size:,} bytes "
                                   f"({needed} clusters)")
                continue
            if value == 1 or value >= 0xFF0:
                raise FatError(f"the FAT chain of {name} meets the reserved value "
                               f"0x{value:03X} at cluster {cluster}")
            if last:
                notes.append(f"the FAT chain of {name} runs past the end of the file")
            cluster = value
        return FileData(b"".join(parts)[: entry.size], tuple(notes))

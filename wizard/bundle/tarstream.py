"""The tar wrapping of a bundle: one regular member, GNU format (BUNDLE-FORMAT.md 1.1).

The image streams through untouched; only the 512-byte header before it and
the padding and end-of-archive blocks after it are made here, so the tar
stream never exists as a file.
"""

from __future__ import annotations

import tarfile

BLOCK = tarfile.BLOCKSIZE          # 512
RECORD = tarfile.RECORDSIZE        # 10240: GNU tar pads archives to whole records


def header(name: str, size: int, mtime: int) -> bytes:
    """The member header (GNU long-name blocks included when the name needs them)."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.type = tarfile.REGTYPE
    return info.tobuf(format=tarfile.GNU_FORMAT, encoding="utf-8", errors="strict")


def trailer(header_size: int, size: int) -> bytes:
    """Padding of the member, two zero blocks, then zeros up to a whole record."""
    pad = -size % BLOCK
    written = header_size + size + pad + 2 * BLOCK
    return bytes(pad + 2 * BLOCK + (-written % RECORD))


def stream_size(name: str, size: int) -> int:
    """The exact length of the tar stream for an image of ``size`` bytes."""
    head = len(header(name, size, 0))
    return head + size + len(trailer(head, size))

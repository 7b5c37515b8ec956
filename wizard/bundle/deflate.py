"""One gzip member, compressed on every core (the pigz technique, with ISA-L).

The tar stream is cut into blocks that threads compress independently as
raw deflate, each ending in a sync flush (a byte-aligned empty stored
block), so their concatenation is one valid deflate stream. One gzip header
before, an empty final block and the CRC-32/ISIZE trailer after, make it a
single standard gzip member, as BUNDLE-FORMAT.md 1.3 requires (some old
readers stop after the first member). isal's compressor releases the GIL,
so the threads really run in parallel.
"""

from __future__ import annotations

import struct
import time

from isal import isal_zlib

# ISA-L level 2 is both its fastest and close to gzip -6's ratio on disk
# images (about 1.1x its size in tests/benchmarks/bench_bundle.py).
LEVEL = 2
# The end of a raw deflate stream: an empty final fixed-Huffman block.
FINAL_BLOCK = b"\x03\x00"


def gzip_header(mtime: int | None = None) -> bytes:
    """A minimal gzip header: deflate, no name, OS = Unix."""
    stamp = int(time.time() if mtime is None else mtime) & 0xFFFFFFFF
    return b"\x1f\x8b\x08\x00" + struct.pack("<I", stamp) + b"\x00\x03"


def compress_block(block: bytes | memoryview, level: int = LEVEL) -> bytes:
    """Raw deflate of one block, ending byte-aligned and not final."""
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    out: bytes = compressor.compress(block) + compressor.flush(isal_zlib.Z_SYNC_FLUSH)
    return out


def compress_pieces(pieces: tuple[bytes | memoryview, ...], level: int = LEVEL) -> bytes:
    """Raw deflate of pieces that follow each other in the stream, as one block."""
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    out = [compressor.compress(piece) for piece in pieces]
    out.append(compressor.flush(isal_zlib.Z_SYNC_FLUSH))
    return b"".join(out)


def gzip_trailer(crc: int, length: int) -> bytes:
    return FINAL_BLOCK + struct.pack("<II", crc & 0xFFFFFFFF, length & 0xFFFFFFFF)


def crc32(data: bytes | memoryview, value: int = 0) -> int:
    result: int = isal_zlib.crc32(data, value)
    return result

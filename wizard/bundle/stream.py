"""The one pass: image -> tar -> gzip (deflate on every core) -> AES-128-CBC -> parts.

Read the image in large blocks -> tar (header, data, trailer) -> SHA-1 of
the tar stream -> compress blocks in parallel (``deflate``) into one gzip
member -> AES-128-CBC -> ``PartWriter``. Memory stays bounded by the blocks
in flight (``_IN_FLIGHT``); holes of a sparse image are not read.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import stat
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from wizard.bundle import deflate, tarstream
from wizard.bundle.result import STEP
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, Sink, StepProgress, Throttle

if TYPE_CHECKING:
    from wizard.bundle.parts import PartWriter
    from wizard.bundle.request import BundleRequest

BLOCK_SIZE = 4 * 1024 * 1024      # big enough for fast I/O and deflate, small enough to overlap
_WORKERS = max(2, os.cpu_count() or 2)
_IN_FLIGHT = 2 * _WORKERS + 2     # blocks read but not yet written: bounds memory (~100 MiB)


def _data_ahead(fd: int, offset: int, size: int) -> int:
    """Where the next data at or after ``offset`` starts (``size`` if only holes follow).

    SEEK_DATA lets a sparse disk image's holes be skipped without reading
    them; where the file system cannot say, everything counts as data.
    """
    seek_data = getattr(os, "SEEK_DATA", None)
    if seek_data is None:
        return offset
    try:
        return os.lseek(fd, offset, seek_data)
    except OSError as exc:
        if exc.errno == errno.ENXIO:      # no data after offset: a hole to the end
            return size
        return offset                    # EINVAL and friends: no hole support


@functools.lru_cache(maxsize=4)
def _zeros(length: int) -> bytes:
    return bytes(length)


@functools.lru_cache(maxsize=4)
def _compressed_zeros(length: int) -> bytes:
    # Blocks are compressed independently, so a block of zeros always
    # compresses to the same bytes: a hole costs one hash, no deflate.
    return deflate.compress_block(_zeros(length))


def _compress(pieces: tuple[bytes | memoryview, ...]) -> bytes:
    if len(pieces) == 1 and pieces[0] is _zeros(len(pieces[0])):
        return _compressed_zeros(len(pieces[0]))
    return deflate.compress_pieces(pieces)


class _TarDigest:
    """SHA-1 and CRC-32 of the tar stream, fed in order by one thread of its own.

    SHA-1 is serial and the costliest step after deflate; on its own thread
    it overlaps with reading, deflate and AES instead of adding to them.
    """

    def __init__(self) -> None:
        self.sha1 = hashlib.sha1()  # noqa: S324 - the format's digest
        self.crc = 0
        self.length = 0

    def update(self, pieces: tuple[bytes | memoryview, ...]) -> None:
        for piece in pieces:
            self.sha1.update(piece)
            self.crc = deflate.crc32(piece, self.crc)
            self.length += len(piece)


def _changed(image: Path, how: str) -> WizardError:
    """The image was written to while it was read: the bundle would not match it."""
    return WizardError(f"the image {image} {how} while it was being bundled",
                       "shut down the VM that uses it and bundle again")


def stream_image(
    req: BundleRequest, size: int, key: bytes, iv: bytes, writer: PartWriter,
    sink: Sink, cancel: CancelFlag,
) -> str:
    """The one pass: returns the SHA-1 of the tar stream."""
    name = req.name
    with open(req.image, "rb", buffering=0) as image:
        fd = image.fileno()
        mtime = int(os.fstat(fd).st_mtime)
        head = tarstream.header(name, size, mtime)
        tail = tarstream.trailer(len(head), size)
        digest = _TarDigest()
        first = True
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        encrypted = 0
        # update_into with a reused buffer runs AES-NI at ~1.3 GB/s; plain
        # update() allocates per call and is several times slower.
        out = bytearray(BLOCK_SIZE * 2 + 64)
        # Read buffers are recycled: a fresh 4 MiB object per read costs more
        # in page faults than the read itself.
        free = [bytearray(BLOCK_SIZE) for _ in range(_IN_FLIGHT + 1)]
        progress = Throttle(sink)
        offset = 0
        next_data = 0

        def emit(data: bytes | memoryview) -> None:
            nonlocal encrypted
            encrypted += len(data)
            n = encryptor.update_into(data, out)
            writer.write(memoryview(out)[:n])

        pending: deque[tuple[Future[bytes], Future[None], bytearray | None]] = deque()

        def drain_one() -> None:
            compressed, hashed, buffer = pending.popleft()
            emit(compressed.result())
            hashed.result()
            if buffer is not None:
                free.append(buffer)

        with ThreadPoolExecutor(_WORKERS, thread_name_prefix="deflate") as pool, \
                ThreadPoolExecutor(1, thread_name_prefix="digest") as hasher:
            emit(deflate.gzip_header(mtime))
            while True:
                cancel.check()
                length = min(BLOCK_SIZE, size - offset)
                if next_data < offset:
                    next_data = _data_ahead(fd, offset, size)
                buffer: bytearray | None = None
                block: bytes | memoryview
                if next_data >= offset + length:
                    block = _zeros(length)        # a hole: nothing to read
                else:
                    buffer = free.pop()
                    got = os.preadv(fd, [memoryview(buffer)[:length]], offset)
                    if got < length:
                        raise _changed(req.image, "shrank")
                    block = memoryview(buffer)[:length]
                offset += length
                pieces: tuple[bytes | memoryview, ...] = (block,)
                if first:
                    pieces = (head, *pieces)
                    first = False
                last = offset >= size
                if last:
                    if os.pread(fd, 1, offset):
                        raise _changed(req.image, "grew")
                    # Holes are not read (SEEK_DATA), so a short read cannot
                    # catch a file cut short behind them: past its new end
                    # SEEK_DATA says "no more data", which looks like a hole.
                    now = os.fstat(fd)
                    if stat.S_ISREG(now.st_mode) and now.st_size < size:
                        raise _changed(req.image, "shrank")
                    pieces = (*pieces, tail)
                pending.append(
                    (pool.submit(_compress, pieces), hasher.submit(digest.update, pieces), buffer)
                )
                while pending and (len(pending) >= _IN_FLIGHT or pending[0][0].done()):
                    drain_one()
                    progress(StepProgress(STEP, offset, size, len(writer.parts), None))
                if last:
                    break
            while pending:
                cancel.check()
                drain_one()
        emit(deflate.gzip_trailer(digest.crc, digest.length))
        # PKCS#7: always 1 to 16 bytes, each holding the count.
        pad = 16 - encrypted % 16
        emit(bytes([pad]) * pad)
        writer.write(encryptor.finalize())
        writer.finish()
        progress(StepProgress(STEP, size, size, len(writer.parts), len(writer.parts)))
        return digest.sha1.hexdigest()

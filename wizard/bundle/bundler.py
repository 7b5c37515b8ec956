"""Make a bundle from an image file in one streaming pass, on every core.

Read the image in large blocks -> tar (header, data, trailer) -> SHA-1 of
the tar stream -> compress blocks in parallel (``deflate``) into one gzip
member -> AES-128-CBC -> parts of exactly ``PART_SIZE`` bytes, each hashed
as it is written -> the signed manifest, written last and atomically.
Nothing but the parts and the manifest touches the disk, and memory stays
bounded by the blocks in flight (see ``_IN_FLIGHT``).

A failure (bad input, a full disk, a cancel) removes every part this run
wrote, and the folders it created if they are empty, so nothing half-done
is left that could be mistaken for a bundle; nothing another run or the
operator put there is ever removed. A second run of the same bundle name
into the same folder is refused while the first holds its lock (``lock``),
and a bundle is reported only once every part is checked to be there as
written.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import shlex
import shutil
import stat
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from wizard.bundle import deflate, tarstream
from wizard.bundle.check import check_bundle
from wizard.bundle.keys import BundleKeys, sign, verify, wrap
from wizard.bundle.lock import BundleLock
from wizard.bundle.manifest import (
    ARCHITECTURES,
    IMAGE_TYPES,
    Manifest,
    Part,
    manifest_name,
    part_name,
    read_manifest,
    render,
    signed_text,
)
from wizard.core.dirs import make_dirs, remove_created
from wizard.core.errors import WizardError
from wizard.core.events import (
    CancelFlag,
    Sink,
    StepFinished,
    StepProgress,
    StepStarted,
    Throttle,
    discard,
    run_reported,
)
from wizard.core.files import write_atomic
from wizard.core.logs import get_logger

STEP = "bundle"
log = get_logger(__name__)
PART_SIZE = 10 * 1024 * 1024      # BUNDLE-FORMAT.md 1.5: exactly 10,485,760 bytes
BLOCK_SIZE = 4 * 1024 * 1024      # big enough for fast I/O and deflate, small enough to overlap
_WORKERS = max(2, os.cpu_count() or 2)
_IN_FLIGHT = 2 * _WORKERS + 2     # blocks read but not yet written: bounds memory (~100 MiB)
_ACCOUNT_RE = re.compile(r"^\d{12}$")


def normalise_account(account: str) -> str:
    """The 12-digit account id; dashes (1234-5678-9012) are stripped."""
    digits = account.strip().replace("-", "")
    if not _ACCOUNT_RE.match(digits):
        raise WizardError(
            f"the account {account!r} is not a 12-digit account id",
            "give your account number with -u (12 digits, e.g. 123456789012; "
            "it is EC2_USER_ID or EC2_ACCOUNT_NUMBER in your eucarc)",
        )
    return digits


@dataclass(frozen=True)
class BundleRequest:
    """What to bundle and how: everything ``bundle_image`` needs, checked."""

    image: Path
    destination: Path
    keys: BundleKeys
    user: str
    prefix: str | None = None
    arch: str = "x86_64"
    image_type: str = "machine"
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    part_size: int = PART_SIZE
    block_device_mapping: tuple[tuple[str, str], ...] = ()
    product_codes: tuple[str, ...] = ()
    # The destination was made new and empty for this request (the default
    # folder, see ``request.bundle_request``): a failure removes it if empty.
    fresh_destination: bool = False

    @property
    def name(self) -> str:
        return self.prefix or self.image.name

    @property
    def manifest_kernel_id(self) -> str | None:
        # BUNDLE-FORMAT.md 2: a kernel bundle says kernel_id true (Eucalyptus 1.x/2.x).
        return self.kernel_id or ("true" if self.image_type == "kernel" else None)

    @property
    def manifest_ramdisk_id(self) -> str | None:
        return self.ramdisk_id or ("true" if self.image_type == "ramdisk" else None)


@dataclass(frozen=True)
class Bundle:
    """A finished bundle: its manifest and part files."""

    manifest_path: Path
    manifest: Manifest
    part_paths: tuple[Path, ...]
    warnings: tuple[str, ...] = field(default=())
    reused: bool = False      # found finished in the destination, not made by this call

    def outputs(self) -> dict[str, Any]:
        """What ``StepFinished`` carries, for a session's state and event log."""
        return {"manifest": str(self.manifest_path), "parts": len(self.part_paths),
                "bundled_size": self.manifest.bundled_size, "digest": self.manifest.digest,
                "reused": self.reused}


def check_request(req: BundleRequest) -> int:
    """Refuse bad input before anything is written; returns the image size."""
    image = Path(req.image)
    fix = "give the raw disk image (or memdisk, or floppy image) with -i"
    try:
        info = image.stat()
    except FileNotFoundError:
        raise WizardError(f"the image {image} does not exist", fix) from None
    except OSError as exc:
        raise WizardError(f"cannot read the image {image} ({exc.strerror})", fix) from exc
    if stat.S_ISDIR(info.st_mode):
        raise WizardError(f"the image {image} is a folder, not a file", fix)
    if not stat.S_ISREG(info.st_mode) and not stat.S_ISBLK(info.st_mode):
        raise WizardError(f"the image {image} is not a regular file", fix)
    if not os.access(image, os.R_OK):
        raise WizardError(f"cannot read the image {image} (permission denied)",
                          "run as a user who can read it, or fix its permissions")
    size = info.st_size
    if stat.S_ISBLK(info.st_mode):
        # A block device (an LVM volume, a loop device) reports st_size 0;
        # its size is where a seek to the end lands.
        try:
            fd = os.open(image, os.O_RDONLY)
            try:
                size = os.lseek(fd, 0, os.SEEK_END)
            finally:
                os.close(fd)
        except OSError as exc:
            raise WizardError(f"cannot read the image {image} ({exc.strerror})", fix) from exc
    if size == 0:
        raise WizardError(f"the image {image} is empty", fix)
    if req.arch not in ARCHITECTURES:
        raise WizardError(f"unknown architecture {req.arch!r}",
                          "use -r i386 or -r x86_64")
    if req.image_type not in IMAGE_TYPES:
        raise WizardError(f"unknown image type {req.image_type!r}",
                          "use --image-type machine, kernel or ramdisk")
    if req.image_type != "machine" and (req.kernel_id or req.ramdisk_id):
        raise WizardError("--kernel and --ramdisk apply to machine images only",
                          "leave them out when bundling a kernel or a ramdisk")
    check_name(req.name, given=req.prefix is not None)
    normalise_account(req.user)
    if req.part_size <= 0 or req.part_size % 16:
        raise WizardError("the part size must be a positive multiple of 16 bytes",
                          "leave the part size at its default (10 MiB)")
    return size


# XML 1.0 allows no control characters but tab, LF and CR, and a manifest
# holding any of these (even escaped) is refused by every parser; the name
# also stands in a one-line "Wrote manifest PATH", so no line breaks at all.
_UNUSABLE_RE = re.compile(r"[\x00-\x1f\x7f]")
_MAX_NAME = 200  # bytes: room left for ".manifest.xml" and ".part.NNN" in a 255-byte file name


def check_name(name: str, given: bool = True) -> None:
    """Refuse a bundle name that cannot stand in file names and the manifest.

    ``given`` says whether the operator typed it (-p) or it came from the
    image's file name, so the message says where to change it.
    """
    source = f"the bundle name {name!r}" if given else f"the image's file name {name!r}"
    fix = "give a plain name with -p, e.g. -p windows-xp.img"
    if not name or name in (".", ".."):
        raise WizardError(f"{source} is not a usable bundle name", fix)
    if "/" in name:
        raise WizardError(f"{source} holds a slash, which a file name cannot", fix)
    if _UNUSABLE_RE.search(name):
        raise WizardError(f"{source} holds a control character (a line break, a tab, …), "
                          "which a manifest cannot carry", fix)
    try:
        length = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        # A file name with bytes that are not UTF-8 (surrogate escapes).
        raise WizardError(f"{source} is not valid UTF-8 text, which a manifest must be",
                          fix) from None
    if length > _MAX_NAME:
        raise WizardError(f"{source} is {length} bytes long; a bundle name may have at most "
                          f"{_MAX_NAME}", fix)


def _max_bundle_size(name: str, size: int) -> int:
    # Worst case (incompressible data): stored blocks add 5 bytes per 64 KiB,
    # each parallel block ends with a 5-byte sync flush, plus gzip framing
    # and at most 16 bytes of padding.
    tar = tarstream.stream_size(name, size)
    return tar + 5 * (tar // 65535 + 1) + 5 * (tar // BLOCK_SIZE + 1) + 64


def _check_space(destination: Path, image: Path, name: str, size: int) -> None:
    # Zero runs compress to almost nothing, so a sparse image's allocated
    # blocks bound what can be incompressible; a non-sparse image needs room
    # for its whole size in the worst case.
    allocated = min(size, image.stat().st_blocks * 512) or size
    need = _max_bundle_size(name, allocated)
    free = shutil.disk_usage(destination).free
    if free < need:
        raise WizardError(
            f"the destination {destination} has {_mib(free)} free but the bundle may need "
            f"up to {_mib(need)}",
            "free some space there or choose another folder with -d",
        )


def _mib(n: int) -> str:
    return f"{n / 1048576:,.0f} MiB"


def _identity(info: os.stat_result) -> tuple[int, ...]:
    """What tells the file written from any other: its inode, size and times.

    An inode number is reused at once by a file created after another is
    removed, so the inode alone would take a replacement for the part; the
    change time is set by the kernel on every write and cannot be set back.
    """
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class _PartWriter:
    """Cut the ciphertext into parts of exactly ``part_size`` bytes as it flows."""

    def __init__(self, folder: Path, prefix: str, part_size: int, max_parts: int) -> None:
        self.folder = folder
        self.prefix = prefix
        self.part_size = part_size
        self.max_parts = max_parts
        self.parts: list[Part] = []
        # Only files this run created, each with its identity when written:
        # clean-up and the final check touch these and nothing else.
        self.paths: list[Path] = []
        self._ids: list[tuple[int, ...]] = []
        # The part being opened: a signal (Ctrl+C) can land between the
        # create and the line that records it, and a file created but not
        # recorded would be left behind. It is this run's unless the create
        # said it exists; under the bundle's lock no other run of the tool
        # writes parts of this name.
        self._opening: Path | None = None
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha1()  # noqa: S324 - the format's part digest
        self._filled = 0
        self.total = 0

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            if self._file is None:
                self._open()
            room = self.part_size - self._filled
            chunk = view[:room]
            assert self._file is not None
            self._file.write(chunk)
            self._hash.update(chunk)
            self._filled += len(chunk)
            self.total += len(chunk)
            view = view[len(chunk):]
            if self._filled == self.part_size:
                # Close a full part at once: a ciphertext that ends exactly
                # here must not leave an empty last part (section 1.5).
                self._close()

    def _open(self) -> None:
        index = len(self.parts)
        path = self.folder / part_name(self.prefix, index, self.max_parts)
        self._opening = path
        try:
            # Exclusive: never another's file, never through a planted link.
            self._file = open(path, "xb")  # noqa: SIM115 - closed in _close
        except FileExistsError:
            self._opening = None
            raise WizardError(
                f"the part {path} appeared while this bundle was being made (another program "
                "writes bundles of that name into that folder)",
                "stop the other program, or choose another folder with -d") from None
        # Recorded only once created: a path this run did not create is
        # never this run's to remove.
        self.paths.append(path)
        self._opening = None
        self._hash = hashlib.sha1()  # noqa: S324
        self._filled = 0

    def _close_file(self) -> None:
        """Close the open part, keeping its identity (taken while it is held open)."""
        assert self._file is not None
        self._file.flush()
        self._ids.append(_identity(os.fstat(self._file.fileno())))
        self._file.close()
        self._file = None

    def _close(self) -> None:
        if self._file is None:
            return
        self._close_file()
        self.parts.append(Part(len(self.parts), self.paths[-1].name, self._hash.hexdigest()))
        log.debug("wrote part %s (%d bytes, SHA-1 %s)", self.paths[-1], self._filled,
                  self.parts[-1].sha1)

    def finish(self) -> None:
        self._close()

    def _ours(self, index: int) -> bool:
        """Whether the file at the path of part ``index`` is still the one written."""
        try:
            info = os.lstat(self.paths[index])
        except FileNotFoundError:
            return False
        return stat.S_ISREG(info.st_mode) and _identity(info) == self._ids[index]

    def check(self) -> None:
        """Every part there, the very file written, unchanged: before a manifest names them.

        Each part's SHA-1 was taken from the bytes written into that file;
        the same file, with the size and change time it had when closed, still
        holds them, without reading the whole bundle a second time.
        """
        for index, path in enumerate(self.paths):
            if not self._ours(index):
                raise WizardError(
                    f"the part {path} was removed or replaced while this bundle was being made; "
                    "the bundle is not whole",
                    f"make sure no other program works in {self.folder}, then bundle again")

    def abort(self) -> None:
        removed = 0
        if self._file is not None:
            # The part still open: its inode cannot be another file's while
            # it is held, so it is removed by that (a full disk may fail the
            # flush that closing would do first).
            held = os.fstat(self._file.fileno())
            with contextlib.suppress(OSError):
                info = os.lstat(self.paths[-1])
                if (info.st_dev, info.st_ino) == (held.st_dev, held.st_ino):
                    os.unlink(self.paths[-1])
                    removed += 1
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        if self._opening is not None and self._opening not in self.paths:
            with contextlib.suppress(FileNotFoundError):
                self._opening.unlink()
                removed += 1
        for index in range(len(self._ids)):
            if not self._ours(index):
                continue  # gone, or another's file now: not this run's to remove
            with contextlib.suppress(FileNotFoundError):
                self.paths[index].unlink()
                removed += 1
        if removed:
            log.info("removed the %d part file(s) of the unfinished bundle", removed)


def _refuse_existing(destination: Path, name: str) -> None:
    """Never overwrite or mix with another bundle of the same name."""
    manifest = destination / manifest_name(name)
    if manifest.exists():
        raise WizardError(
            f"the destination {destination} already holds a bundle named {name} "
            f"({manifest.name})",
            "choose another folder with -d or another name with -p, or remove the old bundle",
        )
    parts = sorted(destination.glob(f"{glob_escape(name)}.part.*"))
    if parts:
        # No manifest: a build that was killed (kill -9, a power cut) before
        # it could clean up. Its parts are of no use; a new build needs new ones.
        raise WizardError(
            f"the destination {destination} holds {len(parts)} part file(s) of an unfinished "
            f"bundle named {name} (no manifest), e.g. {parts[0].name}",
            f"remove them (rm -- {shlex.quote(str(destination / name))}.part.*) or choose "
            "another folder with -d",
        )


def finished_bundle(
    req: BundleRequest, sink: Sink = discard, cancel: CancelFlag | None = None,
) -> Bundle | None:
    """The finished bundle of ``req`` in its destination, checked whole; None if none is there.

    "Finished" is a manifest beside every part it lists, each matching its
    SHA-1, the manifest signed by the request's key and saying what the
    request asks (name, account, type, architecture, kernel and ramdisk,
    the image's size), and the image not changed since. Anything else with
    that manifest name raises ``WizardError``: it is not this request's
    bundle, and overwriting it is the operator's call.
    """
    manifest_path = Path(req.destination) / manifest_name(req.name)
    if not manifest_path.is_file():
        return None
    fix = (f"remove the old bundle ({manifest_path.name} and its parts) or choose another "
           "folder with -d")
    # ctime too: a file moved or copied over the image (mv, cp -p) may carry
    # an old mtime, but its inode's change time is when that happened.
    image = req.image.stat()
    if stat.S_ISBLK(image.st_mode):
        # Writes to a volume (a VM running on LVM) leave the device node's
        # times alone: nothing cheap tells whether it changed since.
        raise WizardError(f"the destination already holds a bundle of the volume {req.image} "
                          f"({manifest_path.name}), and whether the volume changed since "
                          "cannot be told", fix)
    if max(image.st_mtime, image.st_ctime) > manifest_path.stat().st_mtime:
        raise WizardError(f"the image {req.image} changed after the bundle {manifest_path} "
                          "was made", fix)
    # What it was made for and who signed it first: cheap, and no progress
    # shown for a bundle that is refused anyway. Then every part's SHA-1.
    manifest = read_manifest(manifest_path)
    expected = {
        "name": req.name, "user": normalise_account(req.user), "image_type": req.image_type,
        "arch": req.arch, "size": check_request(req),
        "kernel_id": req.manifest_kernel_id, "ramdisk_id": req.manifest_ramdisk_id,
        "block_device_mapping": req.block_device_mapping, "product_codes": req.product_codes,
    }
    for key, want in expected.items():
        have = getattr(manifest, key)
        if have != want:
            raise WizardError(f"the bundle {manifest_path} was made with {key} {have!r}, "
                              f"not {want!r}", fix)
    public = req.keys.private_key.public_key()
    if not (manifest.signed_text and verify(public, manifest.signed_text, manifest.signature)):
        raise WizardError(f"the bundle {manifest_path} is not signed with your key, or its "
                          "manifest was edited after bundling", fix)
    sink(StepStarted(STEP, f"Checking the finished bundle {manifest_path.name}"))
    manifest, paths = check_bundle(manifest_path, sink, cancel, STEP)
    log.info("reusing the finished bundle %s: %d parts intact", manifest_path, len(paths))
    bundle = Bundle(manifest_path, manifest, tuple(paths), req.keys.warnings, reused=True)
    sink(StepFinished(STEP, bundle.outputs()))
    return bundle


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def bundle_image(
    req: BundleRequest, sink: Sink | None = None, cancel: CancelFlag | None = None,
    reuse: bool = False,
) -> Bundle:
    """Bundle ``req.image`` into ``req.destination``; see the module docstring.

    With ``reuse``, a finished bundle of the same request already in the
    destination is checked (``finished_bundle``) and returned instead of
    made again: a rebuild would draw a new key and change every part. Once
    ``StepStarted`` is sent the step ends in ``StepFinished`` or ``StepFailed``.
    """
    flag = cancel or CancelFlag()
    return run_reported(STEP, sink or discard,
                        lambda watched: _bundle_image(req, watched, flag, reuse))


def _bundle_image(req: BundleRequest, sink: Sink, cancel: CancelFlag, reuse: bool) -> Bundle:
    size = check_request(req)
    if reuse:
        found = finished_bundle(req, sink, cancel)
        if found is not None:
            return found
    name = req.name
    user = normalise_account(req.user)
    destination = Path(req.destination)
    # The folders this call creates (-d may name several new levels; the
    # default folder is new): a failure removes them if they are empty, so
    # no empty folders are left behind, and never one another run uses.
    try:
        created = make_dirs(destination)
    except OSError as exc:
        raise WizardError(f"cannot create the destination {destination} ({exc.strerror})",
                          "choose a folder you can write with -d") from exc
    if req.fresh_destination and not created:
        created = [destination.absolute()]
    if not destination.is_dir():
        raise WizardError(f"the destination {destination} is not a folder",
                          "choose a folder with -d")
    try:
        with BundleLock(destination, name):
            manifest, manifest_path, writer, tar_sha1 = _make_bundle(
                req, size, user, destination, sink, cancel)
    except OSError as exc:
        remove_created(created)
        if exc.errno == errno.ENOSPC:
            raise WizardError(f"the destination {destination} ran out of space while bundling; "
                              "the partial bundle was removed",
                              "free some space there or choose another folder with -d") from exc
        raise WizardError(f"bundling failed: {exc.strerror or exc} ({exc.filename or destination})",
                          "check the image and the destination folder") from exc
    except BaseException:
        remove_created(created)
        raise
    log.info("wrote manifest %s: %d parts, %d bytes, tar SHA-1 %s",
             manifest_path, len(writer.parts), writer.total, tar_sha1)
    bundle = Bundle(manifest_path, manifest, tuple(writer.paths), req.keys.warnings)
    sink(StepFinished(STEP, bundle.outputs()))
    return bundle


def _make_bundle(
    req: BundleRequest, size: int, user: str, destination: Path, sink: Sink,
    cancel: CancelFlag,
) -> tuple[Manifest, Path, _PartWriter, str]:
    """Parts then manifest, under the bundle's lock; a failure removes this run's parts."""
    name = req.name
    _refuse_existing(destination, name)
    _check_space(destination, req.image, name, size)
    log.info("bundling %s (%d bytes) as %s into %s: type %s, arch %s, account %s",
             req.image, size, name, destination, req.image_type, req.arch, user)
    sink(StepStarted(STEP, f"Bundling {req.image.name}"))
    key, iv = os.urandom(16), os.urandom(16)
    max_parts = -(-_max_bundle_size(name, size) // req.part_size)
    writer = _PartWriter(destination, name, req.part_size, max_parts)
    try:
        tar_sha1 = _stream(req, size, key, iv, writer, sink, cancel)
        manifest = Manifest(
            name=name, user=user, image_type=req.image_type, arch=req.arch,
            digest=tar_sha1, size=size, bundled_size=writer.total,
            ec2_encrypted_key=wrap(req.keys.cloud_cert, key),
            user_encrypted_key=wrap(req.keys.user_cert, key),
            ec2_encrypted_iv=wrap(req.keys.cloud_cert, iv),
            user_encrypted_iv=wrap(req.keys.user_cert, iv),
            parts=tuple(writer.parts),
            kernel_id=req.manifest_kernel_id, ramdisk_id=req.manifest_ramdisk_id,
            block_device_mapping=req.block_device_mapping,
            product_codes=req.product_codes,
        )
        text = signed_text(manifest)
        manifest = _with_signature(manifest, sign(req.keys.private_key, text), text)
        manifest_path = destination / manifest_name(name)
        # Last, right before the manifest: a bundle is never written, nor
        # reported, with a part missing.
        writer.check()
        write_atomic(manifest_path, render(manifest))
    except BaseException:
        writer.abort()
        raise
    return manifest, manifest_path, writer, tar_sha1


def _with_signature(m: Manifest, signature: str, text: bytes) -> Manifest:
    from dataclasses import replace

    return replace(m, signature=signature, signed_text=text)


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


def _stream(
    req: BundleRequest, size: int, key: bytes, iv: bytes, writer: _PartWriter,
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

"""Turn a bundle back into its image, checking everything the cloud checks.

The key is unwrapped with whichever of the user's or the cloud's wrapping
the given private key opens. Part files are found, then each is read whole,
its SHA-1 checked against the manifest, and only then decrypted; the
plaintext is inflated (one gzip member or several, as other tools write),
the tar stream hashed against the manifest's digest, and the first member
written to a temporary file renamed into place only when every check passed
(``landing``: inside the destination folder only, under a plain name).
Runs of zeros are written as holes, so a sparse disk stays sparse.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from isal import isal_zlib

from wizard.bundle.check import check_parts, part_paths
from wizard.bundle.keys import load_private_key, unwrap, verify
from wizard.bundle.landing import Landing, check_destination, refuse_taken
from wizard.bundle.manifest import Manifest, read_manifest
from wizard.core.errors import WizardError
from wizard.core.events import (
    CancelFlag,
    Sink,
    StepFinished,
    StepProgress,
    StepStarted,
    StepWarning,
    Throttle,
    discard,
    run_reported,
)
from wizard.core.logs import get_logger
from wizard.core.names import plain_name_problem, shown

STEP = "unbundle"
log = get_logger(__name__)
# isal ships no type for its error class; name it once, typed.
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)
_CHUNK = 1 << 20
_ZERO = bytes(_CHUNK)
# The start of the first part read ahead to name the image before the step
# starts: the tar header (with a GNU long name) sits in its first blocks.
_PEEK = 64 * 1024


@dataclass(frozen=True)
class Unbundled:
    image: Path
    manifest: Manifest
    opened_with: str          # "user" or "cloud": whose wrapping the key opened
    signature_checked: bool


def open_key(manifest: Manifest, key_path: Path) -> tuple[bytes, bytes, str]:
    """The AES key and IV, from the user's or the cloud's wrapping."""
    key = load_private_key(key_path)
    for who, wrapped_key, wrapped_iv in (
        ("user", manifest.user_encrypted_key, manifest.user_encrypted_iv),
        ("cloud", manifest.ec2_encrypted_key, manifest.ec2_encrypted_iv),
    ):
        aes_key = unwrap(key, wrapped_key)
        aes_iv = unwrap(key, wrapped_iv)
        if aes_key is not None and aes_iv is not None:
            return aes_key, aes_iv, who
    raise WizardError(
        f"the private key {key_path} cannot open this bundle (it was made for another "
        "user's or cloud's certificate)",
        "give the private key that matches the certificate used to bundle it",
        key="cloud.private_key",
    )


def _ciphertext(paths: list[Path], cancel: CancelFlag) -> Iterator[bytes]:
    # Streamed in blocks: a part is never held whole, whatever size a
    # manifest claims for it. A part changed after check_parts shows up as
    # a digest mismatch of the archive.
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                cancel.check()
                yield chunk


def _plaintext(blocks: Iterator[bytes], key: bytes, iv: bytes) -> Iterator[bytes]:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    held = b""
    for block in blocks:
        data = held + decryptor.update(block)
        # Keep the last 16 bytes back: they hold the PKCS#7 padding.
        held, data = data[-16:], data[:-16]
        if data:
            yield data
    try:
        held += decryptor.finalize()
    except ValueError:
        # Ciphertext that is not whole 16-byte blocks: a part was cut short.
        held = b""
    pad = held[-1] if held else 0
    if not 1 <= pad <= 16 or held[-pad:] != bytes([pad]) * pad:
        raise WizardError(
            "the bundle does not decrypt to valid data (wrong key, or the parts are damaged)",
            "check the private key and the parts",
        )
    if held[:-pad]:
        yield held[:-pad]


def _inflate(blocks: Iterator[bytes]) -> Iterator[bytes]:
    decompressor = isal_zlib.decompressobj(31)
    for block in blocks:
        data = block
        while data:
            out = decompressor.decompress(data)
            if out:
                yield out
            if decompressor.eof:
                # Another gzip member follows (concatenated output of some tools).
                data = decompressor.unused_data
                decompressor = isal_zlib.decompressobj(31)
            else:
                data = b""
    tail = decompressor.flush()
    if tail:
        yield tail


class _TarReader:
    """A read()-able view of the tar stream that hashes every byte it passes on."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self.sha1 = hashlib.sha1()  # noqa: S324 - the format's digest
        self.length = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.sha1.update(data)
        self.length += len(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


def _peek_member(first_part: Path, key: bytes, iv: bytes) -> str | None:
    """The tar member's name from the first part's first blocks, None if unreadable.

    Read before the parts are checked: whatever cannot be read here (a
    damaged part, another layout) is left to the full pass, which says why.
    """
    try:
        with open(first_part, "rb") as handle:
            head = handle.read(_PEEK)
        head = head[: len(head) - len(head) % 16]
        compressed = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(head)
        plain = isal_zlib.decompressobj(31).decompress(compressed, 4 * _PEEK)
        member = tarfile.open(fileobj=io.BytesIO(plain), mode="r|").next()  # noqa: SIM115
    except (OSError, ValueError, EOFError, tarfile.TarError, _INFLATE_ERROR):
        return None
    return member.name if member is not None and member.isfile() else None


def image_name(member_name: str) -> str:
    """The image's file name from its tar member's name: a plain name, or refused.

    A member may sit in a folder (``./xp.img``, ``disk/xp.img``: its last
    component is taken); an absolute name, a ``..`` step, or a last component
    that is not a plain name means a crafted archive.
    """
    components = member_name.split("/")
    problem = plain_name_problem(components[-1])
    if member_name.startswith("/"):
        problem = "is an absolute path"
    elif ".." in components:
        problem = "has a '..' step"
    if problem:
        raise WizardError(
            f"the bundle's archive names its image {shown(member_name)}, which {problem}: "
            "not a plain file name",
            "unbundle only bundles made by a bundling tool; this one was crafted or damaged",
            key="build.manifest",
        )
    return components[-1]


def _check_manifest_name(manifest: Manifest, manifest_path: Path) -> None:
    problem = plain_name_problem(manifest.name)
    if problem:
        raise WizardError(
            f"the manifest {manifest_path} names its image {shown(manifest.name)}, which "
            f"{problem}: not a plain file name",
            "use the manifest that bundling wrote, or bundle the image again",
            key="build.manifest",
        )


def unbundle(
    manifest_path: Path,
    private_key: Path,
    source: Path | None = None,
    destination: Path | None = None,
    sink: Sink = discard,
    cancel: CancelFlag | None = None,
    force: bool = False,
) -> Unbundled:
    """Rebuild the image of a bundle into ``destination`` (default: the current folder).

    The image is written inside ``destination`` only (created, 0700, if
    missing), under its archive member's plain name; an existing file of
    that name is refused unless ``force``. Once ``StepStarted`` is sent the
    step ends in ``StepFinished`` or ``StepFailed``.
    """
    flag = cancel or CancelFlag()
    return run_reported(STEP, sink, lambda watched: _unbundle(
        manifest_path, private_key, source, destination, watched, flag, force))


def _unbundle(
    manifest_path: Path, private_key: Path, source: Path | None, destination: Path | None,
    sink: Sink, cancel: CancelFlag, force: bool,
) -> Unbundled:
    manifest_path = Path(manifest_path)
    manifest = read_manifest(manifest_path)
    _check_manifest_name(manifest, manifest_path)
    source = Path(source) if source else manifest_path.parent
    destination = Path(destination) if destination else Path.cwd()
    check_destination(destination)
    paths = part_paths(manifest, source)
    aes_key, aes_iv, who = open_key(manifest, private_key)
    # Refused before any work: an image name that is no plain name, or one
    # taken in the destination (both checked again when the image is written).
    ahead = _peek_member(paths[0], aes_key, aes_iv)
    if ahead is not None:
        refuse_taken(destination, image_name(ahead), force)
    log.info("unbundling %s (%d parts) into %s; the key opened the %s's wrapping",
             manifest_path, len(paths), destination, who)
    checked = False
    if who == "user" and manifest.signed_text and manifest.signature:
        public = load_private_key(private_key).public_key()
        checked = verify(public, manifest.signed_text, manifest.signature)
        if not checked:
            # A warning, not a refusal (documented): tools re-sign or drop
            # signatures. Nothing a manifest says can move the output anyway.
            sink(StepWarning(STEP, "the manifest's signature does not verify with this key: "
                             "it was edited after bundling, or signed by someone else"))
    sink(StepStarted(STEP, f"Checking the parts of {manifest.name}"))
    check_parts(manifest, paths, sink, cancel, STEP)
    sink(StepStarted(STEP, f"Unbundling {manifest.name}"))
    progress = Throttle(sink)
    reader = _TarReader(_inflate(_plaintext(_ciphertext(paths, cancel), aes_key, aes_iv)))
    landing: Landing | None = None
    try:
        try:
            archive = tarfile.open(fileobj=reader, mode="r|")  # type: ignore[call-overload]  # noqa: SIM115
            member = archive.next()
        except tarfile.TarError as exc:
            raise WizardError("the bundle does not hold a tar archive",
                              "check that the bundle was made by a bundling tool") from exc
        if member is None or not member.isfile():
            raise WizardError("the bundle's archive holds no image file",
                              "check that the bundle was made by a bundling tool")
        name = image_name(member.name)
        landing = Landing(destination, name, force)
        landing.refuse_existing()   # before a byte is decrypted to disk
        extracted = archive.extractfile(member)
        assert extracted is not None
        with os.fdopen(landing.create(), "wb") as out:
            written = 0
            while True:
                cancel.check()
                chunk = extracted.read(_CHUNK)
                if not chunk:
                    break
                if chunk == _ZERO[: len(chunk)]:
                    out.seek(len(chunk), os.SEEK_CUR)   # leave a hole
                else:
                    out.write(chunk)
                written += len(chunk)
                progress(StepProgress(STEP, written, member.size))
            out.truncate(written)
            out.flush()
            os.fsync(out.fileno())
        reader.drain()
        if written != member.size:
            raise WizardError("the bundle's image is shorter than its archive says",
                              "bundle the image again")
        if reader.sha1.hexdigest() != manifest.digest:
            raise WizardError(
                "the unbundled archive's SHA-1 digest does not match the manifest",
                "the bundle is damaged or its manifest belongs to another bundle: bundle again",
            )
        landing.place()
        target = landing.target
    except _INFLATE_ERROR as exc:
        raise WizardError(f"the bundle's data does not inflate ({exc})",
                          "the parts are damaged or the key is wrong: bundle the image again",
                          ) from exc
    except tarfile.TarError as exc:
        # The archive ends inside the image, or is garbled after its header.
        raise WizardError(f"the bundle's archive is damaged ({exc})",
                          "the parts are damaged or incomplete: bundle the image again") from exc
    except OSError as exc:
        # A full disk or an unwritable destination is the operator's to fix,
        # not a bug: say so on one line (the partial image is removed below).
        if exc.errno == errno.ENOSPC:
            raise WizardError(f"the destination {destination} ran out of space while "
                              "unbundling; the partial image was removed",
                              "free some space there or choose another folder for the image",
                              key="build.output") from exc
        where = destination / exc.filename if exc.filename else destination
        raise WizardError(f"unbundling failed: {exc.strerror or exc} ({where})",
                          "check the parts and the destination folder") from exc
    finally:
        if landing is not None:
            landing.close()
    log.info("wrote image %s (%d bytes); tar SHA-1 %s matches the manifest",
             target, written, manifest.digest)
    sink(StepFinished(STEP, {"image": str(target), "size": written}))
    return Unbundled(target, manifest, who, checked)

"""Make a bundle from an image file in one streaming pass, on every core.

The steps, each in a module of its own: the request and its checks
(``request``, ``inputs``), a finished bundle reused or another refused
(``reuse``), room for it (``space``), one run per bundle name and folder
(``lock``), the one pass (``stream``) into the part files (``parts``), then
the signed manifest, written last and atomically, once every part is
checked to be there as written. Nothing but the parts, the manifest and the
lock file touches the disk.

A failure (bad input, a full disk, a cancel) removes every part this run
wrote, and the folders it created if they are empty, so nothing half-done
is left that could be mistaken for a bundle; nothing another run or the
operator put there is ever removed.

The public names stay importable from here: ``bundle_image``,
``BundleRequest``, ``Bundle``, ``finished_bundle``, ``check_request``,
``check_name``, ``normalise_account``, ``PART_SIZE``, ``BLOCK_SIZE``.
"""

from __future__ import annotations

import errno
import os
from dataclasses import replace
from pathlib import Path

from wizard.bundle.inputs import check_name
from wizard.bundle.keys import sign, wrap
from wizard.bundle.lock import BundleLock
from wizard.bundle.manifest import Manifest, manifest_name, render, signed_text
from wizard.bundle.parts import PartWriter
from wizard.bundle.request import PART_SIZE, BundleRequest, check_request
from wizard.bundle.result import STEP, Bundle
from wizard.bundle.reuse import finished_bundle, glob_escape, refuse_existing
from wizard.bundle.space import check_space, max_bundle_size
from wizard.bundle.stream import BLOCK_SIZE, stream_image
from wizard.core.account import normalise_account
from wizard.core.dirs import make_dirs, remove_created
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, Sink, StepFinished, StepStarted, discard, run_reported
from wizard.core.files import write_atomic
from wizard.core.logs import get_logger

__all__ = [
    "BLOCK_SIZE",
    "PART_SIZE",
    "STEP",
    "Bundle",
    "BundleRequest",
    "bundle_image",
    "check_name",
    "check_request",
    "finished_bundle",
    "glob_escape",
    "normalise_account",
]

log = get_logger(__name__)


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
                          "choose a folder you can write for the bundle",
                          key="build.folder") from exc
    if req.fresh_destination and not created:
        created = [destination.absolute()]
    if not destination.is_dir():
        raise WizardError(f"the destination {destination} is not a folder",
                          "choose a folder for the bundle", key="build.folder")
    try:
        with BundleLock(destination, name):
            manifest, manifest_path, writer, tar_sha1 = _make_bundle(
                req, size, user, destination, sink, cancel)
    except OSError as exc:
        remove_created(created)
        if exc.errno == errno.ENOSPC:
            raise WizardError(f"the destination {destination} ran out of space while bundling; "
                              "the partial bundle was removed",
                              "free some space there or choose another folder for the bundle",
                              key="build.folder") from exc
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
) -> tuple[Manifest, Path, PartWriter, str]:
    """Parts then manifest, under the bundle's lock; a failure removes this run's parts."""
    name = req.name
    refuse_existing(destination, name)
    check_space(destination, req.image, name, size)
    log.info("bundling %s (%d bytes) as %s into %s: type %s, arch %s, account %s",
             req.image, size, name, destination, req.image_type, req.arch, user)
    sink(StepStarted(STEP, f"Bundling {req.image.name}"))
    key, iv = os.urandom(16), os.urandom(16)
    max_parts = -(-max_bundle_size(name, size) // req.part_size)
    writer = PartWriter(destination, name, req.part_size, max_parts)
    try:
        tar_sha1 = stream_image(req, size, key, iv, writer, sink, cancel)
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
    return replace(m, signature=signature, signed_text=text)

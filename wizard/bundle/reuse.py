"""A bundle already in the destination: reused when it is this request's, whole; else refused.

A rebuild would draw a new key and change every part, so the same request
again finds its finished bundle and checks it whole (``finished_bundle``);
anything else under that name, a manifest or the parts of a run that was
killed, is refused rather than overwritten or mixed with (``refuse_existing``).
"""

from __future__ import annotations

import re
import shlex
import stat
from pathlib import Path

from wizard.bundle.check import check_bundle
from wizard.bundle.keys import verify
from wizard.bundle.manifest import manifest_name, read_manifest
from wizard.bundle.request import BundleRequest, check_request
from wizard.bundle.result import STEP, Bundle
from wizard.core.account import normalise_account
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, Sink, StepFinished, StepStarted, discard
from wizard.core.logs import get_logger

log = get_logger(__name__)


def refuse_existing(destination: Path, name: str) -> None:
    """Never overwrite or mix with another bundle of the same name."""
    manifest = destination / manifest_name(name)
    if manifest.exists():
        raise WizardError(
            f"the destination {destination} already holds a bundle named {name} "
            f"({manifest.name})",
            "remove the old bundle, or choose another name for the bundle or another folder",
            key="build.folder",
        )
    parts = sorted(destination.glob(f"{glob_escape(name)}.part.*"))
    if parts:
        # No manifest: a build that was killed (kill -9, a power cut) before
        # it could clean up. Its parts are of no use; a new build needs new ones.
        raise WizardError(
            f"the destination {destination} holds {len(parts)} part file(s) of an unfinished "
            f"bundle named {name} (no manifest), e.g. {parts[0].name}",
            f"remove them (rm -- {shlex.quote(str(destination / name))}.part.*) or choose "
            "another folder for the bundle", key="build.folder",
        )


# What each compared field is, in the operator's words (never Python's).
_WHAT = {
    "name": "the name", "user": "the account", "image_type": "the image type",
    "arch": "the architecture", "size": "an image of", "kernel_id": "the kernel id",
    "ramdisk_id": "the ramdisk id", "block_device_mapping": "the block device mapping",
    "product_codes": "the product codes",
}


def _shown(value: object) -> str:
    """A manifest value as said to the operator: none, a size, a list, the text."""
    if value is None or value == ():
        return "none"
    if isinstance(value, int):
        return f"{value:,} bytes"
    if isinstance(value, tuple):
        return ", ".join("=".join(v) if isinstance(v, tuple) else str(v) for v in value)
    return str(value)


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
           "folder for the bundle")
    # ctime too: a file moved or copied over the image (mv, cp -p) may carry
    # an old mtime, but its inode's change time is when that happened.
    image = req.image.stat()
    if stat.S_ISBLK(image.st_mode):
        # Writes to a volume (a VM running on LVM) leave the device node's
        # times alone: nothing cheap tells whether it changed since.
        raise WizardError(f"the destination already holds a bundle of the volume {req.image} "
                          f"({manifest_path.name}), and whether the volume changed since "
                          "cannot be told", fix, key="build.folder")
    if max(image.st_mtime, image.st_ctime) > manifest_path.stat().st_mtime:
        raise WizardError(f"the image {req.image} changed after the bundle {manifest_path} "
                          "was made", fix, key="build.folder")
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
            raise WizardError(f"the bundle {manifest_path} was made with {_WHAT[key]} "
                              f"{_shown(have)}, not {_shown(want)}", fix, key="build.folder")
    public = req.keys.private_key.public_key()
    if not (manifest.signed_text and verify(public, manifest.signed_text, manifest.signature)):
        raise WizardError(f"the bundle {manifest_path} is not signed with your key, or its "
                          "manifest was edited after bundling", fix, key="build.folder")
    sink(StepStarted(STEP, f"Checking the finished bundle {manifest_path.name}"))
    manifest, paths = check_bundle(manifest_path, sink, cancel, STEP)
    log.info("reusing the finished bundle %s: %d parts intact", manifest_path, len(paths))
    bundle = Bundle(manifest_path, manifest, tuple(paths), req.keys.warnings, reused=True)
    sink(StepFinished(STEP, bundle.outputs()))
    return bundle


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)

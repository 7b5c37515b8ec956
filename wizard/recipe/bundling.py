"""The bundle step of a kernel, a ramdisk or the disk image (``kernel.bundle``, ...).

The request is built by the engine's ``bundle_request`` as the ``bundle``
command builds it; the bundle goes to the session's own folder for that
role (``StepContext.bundle_folder``), the same every run. So:

- a finished bundle of this very request is reused, never rebuilt (a
  rebuild draws a new key and every part changes): ``finished_bundle``
  checks it whole first, under each generation's name found in the folder
  (the latest first: a start over has no state file to count them);
- parts left behind by a bundle that was killed (no manifest) are removed
  by the step itself before it bundles again: the folder is the session's,
  and nothing in it is anyone else's;
- a bundle there that is not this request's any more (the image changed,
  other kernel ids) is removed and made again, and the step says so.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wizard.bundle.bundler import Bundle, BundleRequest, bundle_image, finished_bundle
from wizard.bundle.manifest import read_manifest
from wizard.bundle.request import bundle_request
from wizard.cloud.calls import DEFAULT_RETRIES
from wizard.cloud.upload import parse_destination, registered_from
from wizard.core.dirs import private_dir
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import CancelFlag, LogLine, Sink, StepWarning
from wizard.recipe.context import StepContext
from wizard.recipe.fingerprint import fingerprint
from wizard.recipe.held import held_in_cloud
from wizard.recipe.inputs import keyed
from wizard.recipe.steps import Outputs, Step, step_sink

# role -> (the bundle's image type, where its file comes from, the answer key)
_IMAGE_TYPES = {"kernel": "kernel", "ramdisk": "ramdisk", "image": "machine"}


def bundle_name(session: str, role: str, generation: int = 1) -> str:
    """The bundle's name (and the registered image's): one per session, role and generation.

    Two sessions never share a name, so one's upload never replaces the
    other's parts in a shared bucket; a bundle made again (the disk image
    changed) is ``winxp-image-2``, so it never replaces the parts an image
    registered earlier was made from (a cloud keeps serving that image from
    them, and its nodes cache it by its id).
    """
    return f"{session}-{role}" + (f"-{generation}" if generation > 1 else "")


class BundleStep(Step):
    """Bundle the file of ``role``: memdisk (kernel), the floppy (ramdisk), the disk (image)."""

    def __init__(self, role: str, title: str, with_ids: bool = False) -> None:
        super().__init__(f"{role}.bundle", title)
        self.role = role
        self.with_ids = with_ids  # the memdisk recipe's image carries the kernel and ramdisk

    def source(self, ctx: StepContext) -> tuple[Path, str, str]:
        """The file to bundle, what it is, and the answer key it comes from."""
        if self.role == "kernel":
            return Path(ctx.output("memdisk", "path")), "the memdisk file", (
                "build.memdisk" if ctx.answers.build.memdisk else "build.syslinux_source")
        if self.role == "ramdisk":
            return Path(ctx.output("floppy", "path")), "the floppy image", "build.floppy"
        return ctx.answers.build.disk, "the disk image", "build.disk"

    def ids(self, ctx: StepContext) -> tuple[str | None, str | None]:
        if not self.with_ids:
            return None, None
        return (str(ctx.output("kernel.register", "image_id")),
                str(ctx.output("ramdisk.register", "image_id")))

    def inputs(self, ctx: StepContext) -> dict[str, Any]:
        path, what, key = self.source(ctx)
        kernel_id, ramdisk_id = self.ids(ctx)
        return {"image": fingerprint(path, what, key),
                "arch": ctx.answers.build.arch, "image_type": _IMAGE_TYPES[self.role],
                "kernel_id": kernel_id, "ramdisk_id": ramdisk_id}

    def done(self, ctx: StepContext, recorded: Mapping[str, Any]) -> bool:
        """The manifest recorded is there with its digest, and every part it lists is too
        (sizes only: the upload checks each part's SHA-1 before sending it)."""
        try:
            manifest_path = Path(recorded["manifest"])
            manifest = read_manifest(manifest_path)
        except (KeyError, WizardError, OSError):
            return False
        if manifest.digest != recorded.get("digest"):
            return False
        return all((manifest_path.parent / part.filename).is_file() for part in manifest.parts)

    def held_elsewhere(self, ctx: StepContext, recorded: Mapping[str, Any]) -> str | None:
        """The bundle's folder was removed, but its image is registered from it, as
        recorded: bundling it again would register a duplicate image."""
        return held_in_cloud(ctx, self.role, recorded.get("digest"))

    def request(self, ctx: StepContext, name: str) -> BundleRequest:
        """The engine's bundle request for this role's file, under the bundle name ``name``."""
        path, _, _ = self.source(ctx)
        kernel_id, ramdisk_id = self.ids(ctx)
        try:
            request, _ = bundle_request(
                path, destination=ctx.bundle_folder(self.role), prefix=name,
                arch=ctx.answers.build.arch, image_type=_IMAGE_TYPES[self.role],
                kernel_id=kernel_id, ramdisk_id=ramdisk_id, credentials=ctx.credentials)
        except WizardError as exc:
            raise keyed(exc, None) from None
        return request

    def free_generation(self, ctx: StepContext, generation: int, sink: Sink,
                        cancel: CancelFlag) -> int:
        """The first generation from ``generation`` whose name no image is registered from.

        A new bundle under the name of a registered image would replace, in
        the store, the bundle that image is made of (the same session name
        from another state folder or machine): it takes the next name
        instead, and is registered as a new image.
        """
        destination = parse_destination(ctx.answers.build.bucket)
        try:
            cloud = ctx.cloud()
        except WizardError:
            return generation  # the upload refuses it, if it comes to that
        while True:
            name = bundle_name(ctx.session, self.role, generation)
            location = destination.location(f"{name}.manifest.xml")
            try:
                # Strict: "could not ask" must not pass for "free", or the upload
                # finds the name taken only after the whole bundle is made.
                images = registered_from(cloud, location, cancel, strict=True,
                                         policy=DEFAULT_RETRIES)
            except Cancelled:
                raise
            except WizardError as exc:
                raise WizardError(f"cannot check whether {location} is registered "
                                  f"({exc.message}); nothing was bundled",
                                  "run the same command again when the cloud answers",
                                  exc.key) from None
            taken = [image_id for image_id, state in images if state != "failed"]
            if not taken:
                return generation
            generation += 1
            sink(StepWarning(self.id, f"{location} is registered as {taken[0]} from another "
                             f"bundle (a session of the same name, from another state "
                             f"folder?): bundling as "
                             f"{bundle_name(ctx.session, self.role, generation)} instead, "
                             "to register it as a new image"))

    def generations_present(self, ctx: StepContext, folder: Path) -> list[int]:
        """The generations of this role's bundle with a manifest in ``folder``."""
        pattern = re.compile(re.escape(bundle_name(ctx.session, self.role))
                             + r"(?:-([2-9]|[1-9][0-9]{1,5}))?\.manifest\.xml")
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        found = [pattern.fullmatch(name) for name in names]
        return [int(match.group(1) or 1) for match in found if match]

    def run(self, ctx: StepContext, sink: Sink, cancel: CancelFlag) -> Outputs:
        _, _, key = self.source(ctx)
        folder = ctx.bundle_folder(self.role)
        generation = ctx.generation(self.id)
        request = self.request(ctx, bundle_name(ctx.session, self.role, generation))
        relay = step_sink(self.id, sink)
        for text in request.keys.warnings:
            sink(StepWarning(self.id, text))
        # Every generation with a manifest here, the latest first: a start over
        # (the state file, and the generations it counted, set aside) finds the
        # bundle an image was last registered from, not only the first name.
        for present in sorted(set(self.generations_present(ctx, folder)) | {generation},
                              reverse=True):
            tried = request if present == generation else self.request(
                ctx, bundle_name(ctx.session, self.role, present))
            found: Bundle | None = None
            try:
                found = finished_bundle(tried, relay, cancel)
            except Cancelled:
                raise
            except WizardError as exc:
                # The image changed, other ids, another key, a part missing or
                # damaged: that bundle is of no use to this request.
                sink(StepWarning(self.id, f"the bundle {tried.name} in {folder} is not this "
                                 f"build's any more ({exc.message}): bundling again"))
            if found is not None:
                ctx.generations[self.id] = present
                sink(LogLine(self.id, f"reusing the finished bundle {found.manifest_path} "
                             f"({len(found.part_paths)} parts intact)"))
                return found.outputs()
        free = self.free_generation(ctx, generation, sink, cancel)
        if free != generation:
            ctx.generations[self.id] = free
            request = self.request(ctx, bundle_name(ctx.session, self.role, free))
        # 0700 at every level below the session's folder.
        private_dir(private_dir(folder.parent) / folder.name)
        cleared = clear_folder(folder)
        if cleared:
            sink(LogLine(self.id, f"removed {cleared} file(s) of an unfinished or stale bundle "
                         f"from {folder}"))
        try:
            bundle = bundle_image(request, relay, cancel, reuse=False)
        except WizardError as exc:
            raise keyed(exc, key) from None
        return bundle.outputs()


def clear_folder(folder: Path) -> int:
    """Remove the files in the session's bundle folder ``folder``; returns how many.

    Only plain files directly inside (never a link's target, never a
    sub-folder): the folder is the session's own, written by its bundles.
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.is_file(follow_symlinks=False) or entry.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed


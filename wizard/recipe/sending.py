"""The upload and register steps of a kernel, a ramdisk or the disk image.

``X.upload`` sends the bundle that ``X.bundle`` made (``upload_bundle``:
parts the store holds with the right MD5 are not sent again, the manifest
goes last). ``X.register`` registers the location that ``X.upload`` gave,
once: an image already registered from that manifest location is found
(``find_registered``) and its id returned. Each takes its inputs by the
output names of the step before it (``manifest``, ``location``), so a step
that bundles and uploads in one stream can stand in for the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wizard.cloud.register import ImageRequest, find_registered, register_image
from wizard.cloud.upload import upload_bundle, uploaded_location
from wizard.cloud.wait import wait_until_available as wait_for_image
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, LogLine, Sink
from wizard.recipe.context import StepContext
from wizard.recipe.held import held_in_cloud
from wizard.recipe.inputs import keyed
from wizard.recipe.steps import Outputs, Step, step_sink


class UploadStep(Step):
    """Send the bundle of ``role`` to the answers' bucket."""

    def __init__(self, role: str, title: str, bundled_by: str | None = None) -> None:
        super().__init__(f"{role}.upload", title)
        self.role = role
        self.bundled_by = bundled_by or f"{role}.bundle"

    def inputs(self, ctx: StepContext) -> dict[str, Any]:
        return {"manifest": ctx.output(self.bundled_by, "manifest"),
                "digest": ctx.output(self.bundled_by, "digest"),
                "bucket": ctx.answers.build.bucket}

    def done(self, ctx: StepContext, recorded: Mapping[str, Any]) -> bool:
        try:
            held = uploaded_location(ctx.output(self.bundled_by, "manifest"),
                                     ctx.answers.build.bucket, ctx.cloud())
        except (WizardError, OSError):
            return False
        return held is not None and held == recorded.get("location")

    def held_elsewhere(self, ctx: StepContext, recorded: Mapping[str, Any]) -> str | None:
        """The bundle's local files are gone (its folder removed to free space), but the
        image registered from what this step sent is still there, as recorded."""
        return held_in_cloud(ctx, self.role, ctx.outputs.get(self.bundled_by, {}).get("digest"))

    def run(self, ctx: StepContext, sink: Sink, cancel: CancelFlag) -> Outputs:
        try:
            result = upload_bundle(ctx.output(self.bundled_by, "manifest"),
                                   ctx.answers.build.bucket, ctx.cloud(),
                                   step_sink(self.id, sink), cancel)
        except WizardError as exc:
            raise keyed(exc, "build.bucket" if "bucket" in exc.message else None) from None
        return {"location": result.location, "parts_sent": result.parts_sent,
                "parts_skipped": result.parts_skipped, "bytes_sent": result.bytes_sent}


class RegisterStep(Step):
    """Register the uploaded bundle of ``role`` (a kernel, a ramdisk, the machine image)."""

    def __init__(self, role: str, title: str, *, with_ids: bool = False,
                 native: bool = False, uploaded_by: str | None = None) -> None:
        super().__init__(f"{role}.register", title)
        self.role = role
        self.with_ids = with_ids
        self.native = native
        self.uploaded_by = uploaded_by or f"{role}.upload"

    def request(self, ctx: StepContext) -> ImageRequest:
        kernel_id = ramdisk_id = None
        if self.with_ids:
            kernel_id = str(ctx.output("kernel.register", "image_id"))
            ramdisk_id = str(ctx.output("ramdisk.register", "image_id"))
        location = str(ctx.output(self.uploaded_by, "location"))
        return ImageRequest(
            # The bundle's name ("winxp-image", "winxp-image-2"): unique per session.
            location=location, name=location.rsplit("/", 1)[-1].removesuffix(".manifest.xml"),
            arch=ctx.answers.build.arch,
            kernel_id=kernel_id, ramdisk_id=ramdisk_id,
            # BUNDLE-FORMAT.md section 4: Eucalyptus 3.x/4.x boot Windows natively.
            platform="windows" if self.native else None,
            virtualization_type="hvm" if self.native else None,
            description=f"euca-windows-wizard session {ctx.session}",
        )

    def inputs(self, ctx: StepContext) -> dict[str, Any]:
        req = self.request(ctx)
        bundled = self.uploaded_by.replace(".upload", ".bundle")
        return {"location": req.location, "name": req.name, "arch": req.arch,
                "kernel_id": req.kernel_id, "ramdisk_id": req.ramdisk_id,
                "platform": req.platform, "virtualization_type": req.virtualization_type,
                "digest": ctx.outputs.get(bundled, {}).get("digest")}

    def done(self, ctx: StepContext, recorded: Mapping[str, Any]) -> bool:
        try:
            found = find_registered(ctx.cloud(), self.request(ctx))
        except WizardError:
            return False
        return found is not None and found == recorded.get("image_id")

    def run(self, ctx: StepContext, sink: Sink, cancel: CancelFlag) -> Outputs:
        cloud = ctx.cloud()
        req = self.request(ctx)
        relay = step_sink(self.id, sink)
        result = register_image(cloud, req, relay, cancel)
        wait_until_available(ctx, result.image_id, relay, cancel)
        earlier = ctx.previous.get(self.id, {}).get("image_id")
        if earlier and earlier != result.image_id:
            sink(LogLine(self.id, f"the image registered before, {earlier}, stays registered "
                         "(from its own bundle): deregister it once nothing uses it"))
        return {"image_id": result.image_id, "already_registered": result.already_registered}


def wait_until_available(ctx: StepContext, image_id: str, sink: Sink,
                         cancel: CancelFlag) -> None:
    """Wait for the image to become available after registering: the one place for it.

    The engine's wait (``wizard.cloud.wait``, issue 11): a StepPhase
    "waiting for available", live lines, a timeout; a failed image (the
    cloud could not open its bundle) is a WizardError with the reason.
    """
    wait_for_image(ctx.cloud(), image_id, sink, cancel)

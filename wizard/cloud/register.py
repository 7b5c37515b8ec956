"""Register an uploaded bundle as an image (kernel, ramdisk or machine), once.

As ``euca-register`` does (BUNDLE-FORMAT.md section 4): ``RegisterImage``
with the manifest's location, a name, the architecture and, for the memdisk
recipe's machine image, the kernel and ramdisk ids; ``Platform=windows`` and
``VirtualizationType=hvm`` for the native recipe. Two safety checks first:
the manifest must be in the store (registering a missing or half-uploaded
bundle only fails later, on the node), and a manifest already registered is
not registered again: its image id is returned (DESIGN.md, idempotent steps),
unless that image failed (the cloud could not open its bundle): a failed
image is deregistered and the manifest registered afresh. Waiting for the
new image to become available is ``wait.wait_until_available``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore import exceptions as bx

from wizard.bundle.manifest import read_bounded
from wizard.cloud.calls import (
    DEFAULT_RETRIES,
    RetryPolicy,
    call,
    error_code,
    explain,
    is_transient,
    pause_for,
)
from wizard.cloud.endpoints import Cloud
from wizard.cloud.roles import check_linked_images, check_platform
from wizard.core.choices import ARCHITECTURES
from wizard.core.errors import WizardError
from wizard.core.events import (
    CancelFlag,
    LogLine,
    Sink,
    StepFinished,
    StepStarted,
    StepWarning,
    discard,
    run_reported,
)
from wizard.core.logs import get_logger

log = get_logger(__name__)

STEP = "register"
VIRTUALIZATION_TYPES = ("hvm", "paravirtual")
_IMAGE_ID = re.compile(r"^[a-z]{3}-[0-9a-fA-F]{8,17}$")
_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")


@dataclass(frozen=True)
class ImageRequest:
    """What to register: the manifest's location in the store, and how to describe it."""

    location: str  # BUCKET/[PREFIX/]NAME.manifest.xml
    name: str
    arch: str | None = None  # None: the manifest's own <architecture>
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    platform: str | None = None  # "windows" (Eucalyptus 4.0+ native Windows)
    virtualization_type: str | None = None
    description: str | None = None

    @property
    def bucket(self) -> str:
        return self.location.split("/", 1)[0]

    @property
    def key(self) -> str:
        return self.location.split("/", 1)[1]


@dataclass(frozen=True)
class Registration:
    image_id: str
    already_registered: bool


def check_registration(req: ImageRequest) -> None:
    """Refuse a request the cloud would refuse, before any call."""
    loc = req.location
    if loc.startswith(("s3://", "http://", "https://")) or "/" not in loc.strip("/") \
            or not loc.endswith(".manifest.xml") or loc.startswith("/"):
        raise WizardError(
            f"{loc!r} is not a manifest location",
            "give BUCKET/[PREFIX/]NAME.manifest.xml as the upload printed it "
            "(e.g. windows/xp.img.manifest.xml)", key="build.location",
        )
    if not _NAME.match(req.name):
        raise WizardError(
            f"the image name {req.name!r} is not allowed",
            "use 3 to 128 letters, digits, spaces and ( ) [ ] . / - ' @ _", key="build.name",
        )
    if req.arch is not None and req.arch not in ARCHITECTURES:
        raise WizardError(f"the architecture {req.arch!r} is not known",
                          "choose i386 (32-bit Windows) or x86_64", key="build.arch")
    for what, value, example in (("kernel", req.kernel_id, "eki-1A2B3C4D"),
                                 ("ramdisk", req.ramdisk_id, "eri-1A2B3C4D")):
        if value is not None and not _IMAGE_ID.match(value):
            raise WizardError(f"{value!r} is not a {what} image id",
                              f"give the id that registering the {what} printed, e.g. {example}",
                              key=f"build.{what}")
    if req.platform is not None and req.platform != "windows":
        raise WizardError(f"the platform {req.platform!r} is not known", "choose windows",
                          key="build.platform")
    if req.virtualization_type is not None and req.virtualization_type not in VIRTUALIZATION_TYPES:
        raise WizardError(f"the virtualization type {req.virtualization_type!r} is not known",
                          "choose hvm or paravirtual", key="build.virtualization")
    check_platform(req)  # ids of the right kind; native Windows alone and HVM (roles.py)


def _manifest_architecture(text: bytes) -> str | None:
    match = re.search(rb"<architecture>\s*(i386|x86_64)\s*</architecture>", text)
    return match.group(1).decode() if match else None


def fetch_manifest(cloud: Cloud, req: ImageRequest, cancel: CancelFlag | None = None,
                   policy: RetryPolicy = DEFAULT_RETRIES) -> bytes:
    """The manifest object's bytes; a clear error when the store does not hold it."""
    s3 = cloud.s3_client()
    endpoint = cloud.s3
    assert endpoint is not None

    def missing(exc: BaseException) -> bool:
        return error_code(exc) in ("NoSuchKey", "NoSuchBucket", "404")

    try:
        answer = call(lambda: s3.get_object(Bucket=req.bucket, Key=req.key),
                      what=f"read the manifest {req.location}", endpoint=endpoint,
                      cancel=cancel, policy=policy, key_source=cloud.key_source,
                      secret_source=cloud.secret_source,
                      passthrough=missing)
    except bx.ClientError as exc:
        place = "bucket" if error_code(exc) == "NoSuchBucket" else "manifest"
        raise WizardError(
            f"the {place} of {req.location} is not in the store at {endpoint.url}",
            "upload the bundle first and register the location the upload prints",
            key="build.location",
        ) from None
    # Bounded: a store (or something posing as one) may answer with anything.
    return read_bounded(answer["Body"], req.location)


def find_registered(cloud: Cloud, req: ImageRequest, cancel: CancelFlag | None = None,
                    policy: RetryPolicy = DEFAULT_RETRIES) -> str | None:
    """The id of an image of ours already registered from this manifest, if any.

    A failed image (the cloud could not open its bundle) does not count: the
    manifest is to be registered again (``register_image`` replaces it).
    """
    image = registered_image(cloud, req, cancel, policy)
    if image is None or image.get("State") == "failed":
        return None
    return str(image["ImageId"])


def is_deregistered(image: Mapping[str, Any]) -> bool:
    """An image DescribeImages still lists after DeregisterImage (Eucalyptus does)."""
    return str(image.get("State") or "").lower() == "deregistered"


def registered_image(cloud: Cloud, req: ImageRequest, cancel: CancelFlag | None = None,
                     policy: RetryPolicy = DEFAULT_RETRIES) -> dict[str, Any] | None:
    """DescribeImages' entry of our image registered from this manifest, if any.

    The ``manifest-location`` filter is missing from moto and from some
    Eucalyptus releases, so our own images are listed and matched here.
    A cloud that does not report locations is matched by the name, which
    RegisterImage keeps unique per account. Deregistered images are left
    out; of several from the manifest, an available or pending one is
    preferred to a failed one.
    """
    ec2 = cloud.ec2_client()
    endpoint = cloud.ec2
    assert endpoint is not None
    answer = call(lambda: ec2.describe_images(Owners=["self"]),
                  what="list your registered images", endpoint=endpoint, cancel=cancel,
                  policy=policy, key_source=cloud.key_source,
                  secret_source=cloud.secret_source)
    # Eucalyptus lists a deregistered image for a while: it is gone all the same.
    images: list[dict[str, Any]] = [dict(i) for i in answer.get("Images", [])
                                    if not is_deregistered(i)]
    here = [i for i in images
            if (i.get("ImageLocation") or "").lstrip("/") == req.location]
    if here:
        # Several (a failed one not yet replaced): the one that works counts.
        return min(here, key=lambda i: i.get("State") == "failed")
    for image in images:
        if image.get("Name") != req.name:
            continue
        location = image.get("ImageLocation")
        if not location:
            return image
        raise WizardError(
            f"an image named {req.name!r} is already registered ({image['ImageId']}, from "
            f"{location})",
            "choose another name for the image, or deregister that image first",
            key="build.name",
        )
    return None


def _deregister_failed(cloud: Cloud, image: dict[str, Any], sink: Sink,
                       cancel: CancelFlag | None, policy: RetryPolicy) -> None:
    """A failed image of this manifest is useless: it makes way for the new registration."""
    ec2 = cloud.ec2_client()
    endpoint = cloud.ec2
    assert endpoint is not None
    image_id = str(image["ImageId"])
    reason = (image.get("StateReason") or {}).get("Message") or "no reason given"
    note = (f"{image_id} was registered from this manifest but failed ({reason}); "
            "deregistering it and registering the manifest again")
    log.info("%s", note)
    sink(LogLine(STEP, note))
    call(lambda: ec2.deregister_image(ImageId=image_id), what=f"deregister {image_id}",
         endpoint=endpoint, cancel=cancel, policy=policy, key_source=cloud.key_source,
         secret_source=cloud.secret_source)


def register_image(
    cloud: Cloud,
    req: ImageRequest,
    sink: Sink = discard,
    cancel: CancelFlag | None = None,
    policy: RetryPolicy = DEFAULT_RETRIES,
) -> Registration:
    """Register ``req`` unless it already is; returns the image id.

    Once started, the step ends in StepFinished or StepFailed, whatever happens.
    """
    check_registration(req)
    return run_reported(STEP, sink, lambda watched: _register(cloud, req, watched, cancel,
                                                             policy))


def _register(cloud: Cloud, req: ImageRequest, sink: Sink, cancel: CancelFlag | None,
              policy: RetryPolicy) -> Registration:
    sink(StepStarted(STEP, f"Registering {req.location}"))
    for text in cloud.warnings:  # e.g. HTTPS unchecked: said on every run, by every face
        sink(StepWarning(STEP, text))
    manifest = fetch_manifest(cloud, req, cancel, policy)
    check_linked_images(cloud, req, manifest, cancel, policy)  # before RegisterImage
    arch = req.arch or _manifest_architecture(manifest)
    endpoint = cloud.ec2
    assert endpoint is not None
    ec2 = cloud.ec2_client()
    params: dict[str, Any] = {"ImageLocation": req.location, "Name": req.name}
    if arch:
        params["Architecture"] = arch
    for name, value in (("KernelId", req.kernel_id), ("RamdiskId", req.ramdisk_id),
                        ("Description", req.description),
                        ("VirtualizationType", req.virtualization_type)):
        if value:
            params[name] = value
    if req.platform:
        # Not in EC2's RegisterImage model, so botocore cannot send it as a
        # field; Eucalyptus 4.x reads Platform from the query.
        _add_query_param(ec2, "Platform", req.platform)
    attempts = 0
    while True:
        attempts += 1
        found = registered_image(cloud, req, cancel, policy)
        if found is not None and found.get("State") == "failed":
            _deregister_failed(cloud, found, sink, cancel, policy)
            found = None
        existing = str(found["ImageId"]) if found is not None else None
        if existing is not None:
            note = (f"{req.location} is already registered as {existing}; "
                    "not registering it again")
            log.info("%s", note)
            sink(LogLine(STEP, note))
            sink(StepFinished(STEP, {"image_id": existing, "already_registered": True}))
            return Registration(existing, True)
        try:
            answer = ec2.register_image(**params)
            break
        except bx.ParamValidationError as exc:
            raise WizardError(f"the request cannot be sent: {exc}",
                              "check the options given to register") from None
        except Exception as exc:
            if is_transient(exc) and attempts < policy.attempts:
                # The cloud may have registered it before failing to answer:
                # look again before trying again, never register twice.
                log.info("registering failed (%s); checking before trying again", exc)
                pause_for(policy.delay(attempts), cancel)
                continue
            raise _register_error(exc, cloud, req) from exc
    image_id = str(answer["ImageId"])
    log.info("registered %s as %s", req.location, image_id)
    sink(StepFinished(STEP, {"image_id": image_id, "already_registered": False}))
    return Registration(image_id, False)


def _add_query_param(client: Any, name: str, value: str) -> None:
    def add(params: dict[str, Any], **_: Any) -> None:
        body = params.get("body")
        if isinstance(body, dict):
            body[name] = value

    client.meta.events.register_first("before-call.ec2.RegisterImage", add,
                                      unique_id=f"wizard-{name}")


def _register_error(exc: BaseException, cloud: Cloud, req: ImageRequest) -> WizardError:
    endpoint = cloud.ec2
    assert endpoint is not None
    code = error_code(exc) or ""
    message = ""
    if isinstance(exc, bx.ClientError):
        message = str(exc.response.get("Error", {}).get("Message") or "")
    lowered = message.lower()
    detail = f"{code}: {message}" if message else code
    if code.startswith("InvalidManifest") or ("manifest" in lowered and code != "AuthFailure"):
        return WizardError(
            f"the cloud cannot use the manifest {req.location} ({detail})",
            "bundle again with this cloud's certificate (EUCALYPTUS_CERT) and your own "
            "account id, upload, then register again",
        )
    if "admin" in lowered or (code in ("NotAuthorized", "UnauthorizedOperation")
                              and (req.kernel_id is None and req.ramdisk_id is None)):
        return WizardError(
            f"the cloud refused to register {req.location} ({detail}); only the cloud's "
            "administrators may register kernels and ramdisks",
            "register the memdisk kernel and the floppy ramdisk with the administrator's "
            "eucarc, or ask an administrator to register them", key="cloud.eucarc",
        )
    if code.startswith("InvalidAMIName"):
        return WizardError(f"the image name {req.name!r} is not accepted ({detail})",
                           "choose another name for the image", key="build.name")
    if code in ("InvalidKernelId.NotFound", "InvalidKernelId.Malformed") or "kernel" in lowered:
        return WizardError(f"the kernel {req.kernel_id} is not usable ({detail})",
                           "give the eki- id that registering the memdisk kernel printed",
                           key="build.kernel")
    if code in ("InvalidRamdiskId.NotFound", "InvalidRamdiskId.Malformed") or "ramdisk" in lowered:
        return WizardError(f"the ramdisk {req.ramdisk_id} is not usable ({detail})",
                           "give the eri- id that registering the floppy ramdisk printed",
                           key="build.ramdisk")
    return explain(exc, endpoint, f"register {req.location}", cloud.key_source,
                   secret_source=cloud.secret_source)

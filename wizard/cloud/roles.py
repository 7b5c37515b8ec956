"""What a registration links: the kernel must be a kernel, the ramdisk a ramdisk.

A machine image of the memdisk recipe boots with the kernel (memdisk, eki-)
and the ramdisk (the floppy, eri-) it names; a native Windows image
(platform windows, Eucalyptus 4) boots alone, as HVM. Swapped ids, a machine
id given as the kernel, a kernel other than the one the manifest was bundled
for: the cloud may take each of them and leave an image that never boots.
They are refused here before RegisterImage is sent (issue 10), the ids
looked up with DescribeImages.
"""

from __future__ import annotations

from typing import Any

from botocore import exceptions as bx

from wizard.bundle.manifest import parse_manifest
from wizard.cloud.calls import DEFAULT_RETRIES, RetryPolicy, call, error_code
from wizard.cloud.endpoints import Cloud
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag

# The image types an id's prefix stands for, on Eucalyptus (e..-) and AWS (a..-).
_PREFIX_TYPES = {"eki": "kernel", "aki": "kernel", "eri": "ramdisk", "ari": "ramdisk",
                 "emi": "machine", "ami": "machine"}
_KEYS = {"kernel": "build.kernel", "ramdisk": "build.ramdisk"}
_MADE_BY = {"kernel": "registering memdisk as the kernel (eki-)",
            "ramdisk": "registering the floppy as the ramdisk (eri-)"}


def _linked(req: Any) -> list[tuple[str, str]]:
    return [(role, value) for role, value in (("kernel", req.kernel_id),
                                              ("ramdisk", req.ramdisk_id)) if value]


def _unusable(role: str, image_id: str, why: str, fix: str | None = None) -> WizardError:
    return WizardError(f"the {role} {image_id} is not usable: {why}",
                       fix or f"give the id that {_MADE_BY[role]} printed", key=_KEYS[role])


def check_platform(req: Any) -> None:
    """Before any call: ids of the right kind, and a native Windows image alone and HVM.

    ``req`` is a ``wizard.cloud.register.ImageRequest``.
    """
    for role, image_id in _linked(req):
        kind = _PREFIX_TYPES.get(image_id.split("-", 1)[0].lower())
        if kind is not None and kind != role:
            swapped = " (the kernel and ramdisk ids look swapped)" if kind in _KEYS else ""
            raise _unusable(role, image_id, f"it is the id of a {kind} image, not of a "
                            f"{role}{swapped}")
    if req.platform == "windows":
        if req.kernel_id or req.ramdisk_id:
            raise WizardError(
                "a native Windows image (platform windows) boots without a kernel or ramdisk",
                "leave out the kernel and the ramdisk (they are the memdisk recipe's), or "
                "leave out the platform to register a memdisk recipe image",
                key="build.kernel" if req.kernel_id else "build.ramdisk")
        if req.virtualization_type != "hvm":
            given = req.virtualization_type or "none given"
            raise WizardError(
                f"a native Windows image (platform windows) must be HVM, not {given}",
                "register it with the virtualization type hvm", key="build.virtualization")


def check_linked_images(cloud: Cloud, req: Any, manifest_data: bytes,
                        cancel: CancelFlag | None = None,
                        policy: RetryPolicy = DEFAULT_RETRIES) -> None:
    """The manifest's own kernel and ramdisk agree with the request's; each is what it says.

    ``manifest_data`` is the stored manifest, as ``fetch_manifest`` read it.
    """
    manifest = parse_manifest(manifest_data, req.location)
    if manifest.image_type != "machine" and (req.kernel_id or req.ramdisk_id):
        raise WizardError(
            f"{req.location} is a {manifest.image_type} bundle: only a machine image boots "
            "with a kernel and a ramdisk",
            "leave out the kernel and the ramdisk when registering a kernel or a ramdisk",
            key="build.kernel" if req.kernel_id else "build.ramdisk")
    bundled = {"kernel": manifest.kernel_id, "ramdisk": manifest.ramdisk_id}
    wanted: dict[str, str] = {}
    for role in ("kernel", "ramdisk"):
        given: str | None = getattr(req, f"{role}_id")
        # A kernel's or ramdisk's own manifest says "true" here, not an id.
        inside = bundled[role] if bundled[role] not in (None, "", "true", "false") else None
        if given and inside and given != inside:
            raise WizardError(
                f"the manifest {req.location} was bundled for the {role} {inside}, "
                f"not {given}",
                f"register it with the {role} it was bundled for ({inside}), or bundle the "
                f"disk image again with {given}", key=_KEYS[role])
        if given or inside:
            wanted[role] = str(given or inside)
    for role, image_id in wanted.items():
        image = _describe(cloud, image_id, cancel, policy)
        if image is None:
            raise _unusable(role, image_id, "this cloud has no image of that id",
                            f"register {'memdisk' if role == 'kernel' else 'the floppy'} as "
                            f"the {role} first, and give the id it prints")
        kind = image.get("ImageType") or ""
        if kind and kind != role:
            raise _unusable(role, image_id, f"it is a {kind} image, not a {role}")
        if image.get("State") == "failed":
            reason = (image.get("StateReason") or {}).get("Message") or "no reason given"
            raise _unusable(role, image_id, f"it failed ({reason})",
                            f"register the {role} again and give its new id")


def _describe(cloud: Cloud, image_id: str, cancel: CancelFlag | None,
              policy: RetryPolicy) -> dict[str, Any] | None:
    """DescribeImages' entry for ``image_id`` (kernels are often the administrator's), or None."""
    ec2 = cloud.ec2_client()
    endpoint = cloud.ec2
    assert endpoint is not None

    def unknown(exc: BaseException) -> bool:
        return (error_code(exc) or "").startswith("InvalidAMIID")

    try:
        answer = call(lambda: ec2.describe_images(ImageIds=[image_id]),
                      what=f"look up the image {image_id}", endpoint=endpoint, cancel=cancel,
                      policy=policy, key_source=cloud.key_source,
                      secret_source=cloud.secret_source, passthrough=unknown)
    except bx.ClientError:
        return None
    images = [dict(i) for i in answer.get("Images", []) if i.get("ImageId") == image_id]
    return images[0] if images else None

"""The sandbox's answers to EC2's image calls, as Eucalyptus gives them.

The path proxy hands every signed EC2 query call to ``ImageFront.answer``
first; the image calls are answered here from the sandbox's image table
(``imagetable.py``), in EC2's XML as botocore parses it, and everything else
goes on to moto (``None``):

- RegisterImage reads the manifest from the store (refused as Eucalyptus
  refuses it when it is not there), takes the image type from it (kernel,
  ramdisk, machine: ``eki-``/``eri-``/``emi-``), keeps the location,
  architecture, kernel and ramdisk ids (checked to be a registered kernel
  and ramdisk; the manifest's own are used when the call names none),
  platform, virtualization type, name and description, and hands the image
  to the bundle checker: it is ``pending`` until the check is done.
- DescribeImages: by id, owner and the filters the wizard and euca2ools use
  (image-id, owner-id, name, manifest-location, image-type, state,
  architecture, kernel-id, ramdisk-id, platform), with the state and, for a
  failed image, the state reason.
- DeregisterImage, DescribeImageAttribute.
- RunInstances is checked (the image must exist and be available, as on a
  cloud) and then goes on to moto, which keeps instances.
- GetConsoleOutput gives moto's (a Linux sample text) under a first line
  saying that the sandbox boots nothing: a boot test against the sandbox
  must not pass for a Windows that started.

The sandbox's account is an administrator, as a Eucalyptus cloud's own
account is: it may register kernels and ramdisks.
"""

from __future__ import annotations

import base64
import datetime
import fnmatch
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from wizard.bundle.manifest import parse_manifest
from wizard.cloud.imagetable import ImageTable, SandboxImage
from wizard.core.choices import ARCHITECTURES
from wizard.core.errors import WizardError
from wizard.core.logs import get_logger

log = get_logger(__name__)

NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
IMAGE_ACTIONS = frozenset({"RegisterImage", "DescribeImages", "DeregisterImage",
                           "DescribeImageAttribute"})
SANDBOX_CONSOLE = ("euca-windows-wizard SANDBOX: this cloud boots nothing; the instance is a "
                   "record only, and below is moto's sample console text, not Windows.\n")

Answer = tuple[int, bytes]
# (bucket, key) -> the manifest object's bytes, at most the manifest bound + 1
# (parse_manifest refuses more), or None when the store does not hold it.
ReadObject = Callable[[str, str], "bytes | None"]


class Refusal(Exception):
    """An EC2 error answer: status, code and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class ImageFront:
    """Answers the image calls of ``account`` from ``table``; reads manifests with ``read``."""

    table: ImageTable
    read: ReadObject
    account: str
    # Called with each new image's id: the bundle check starts there.
    on_register: Callable[[str], None] = lambda image_id: None
    # Instance id -> moto's console text (raises Refusal for an unknown one); None: moto's own.
    console: Callable[[str], str] | None = None

    def answer(self, form: dict[str, str]) -> Answer | None:
        """The answer to an image call; None for calls that go on to moto."""
        action = form.get("Action", "")
        handlers: dict[str, Callable[[dict[str, str]], str]] = {
            "RegisterImage": self._register, "DescribeImages": self._describe,
            "DeregisterImage": self._deregister, "DescribeImageAttribute": self._attribute}
        if self.console is not None:
            handlers["GetConsoleOutput"] = self._console
        try:
            if action == "RunInstances":
                self._check_launch(form)
                return None
            if action not in handlers:
                return None
            body = handlers[action](form)
        except Refusal as refusal:
            return refusal.status, error_xml(refusal.code, refusal.message)
        request_id = str(uuid.uuid4())
        text = (f'<?xml version="1.0" encoding="UTF-8"?><{action}Response xmlns="{NAMESPACE}">'
                f"<requestId>{request_id}</requestId>{body}</{action}Response>")
        return 200, text.encode("utf-8")

    # --- RegisterImage ------------------------------------------------------

    def _register(self, form: dict[str, str]) -> str:
        location = form.get("ImageLocation", "").strip().lstrip("/")
        name = form.get("Name", "").strip()
        if not location:
            raise Refusal("MissingParameter", "The request must contain the parameter "
                          "ImageLocation (the sandbox registers bundles, not snapshots)")
        if not name:
            raise Refusal("MissingParameter", "The request must contain the parameter Name")
        bucket, _, key = location.partition("/")
        data = self.read(bucket, key) if bucket and key else None
        if data is None:
            raise Refusal("InvalidManifest", f"Failed to read manifest file: {location} "
                          "(it is not in the store)")
        try:
            manifest = parse_manifest(data, location)
        except WizardError as exc:
            raise Refusal("InvalidManifest", f"Cannot parse manifest {location}: "
                          f"{exc.message}") from None
        image_type = manifest.image_type if manifest.image_type in (
            "kernel", "ramdisk", "machine") else "machine"
        taken = [i for i in self.table.all() if i.owner == self.account and i.name == name]
        if taken:
            raise Refusal("InvalidAMIName.Duplicate",
                          f"AMI name {name} is already in use by AMI {taken[0].image_id}")
        arch = form.get("Architecture") or manifest.arch or "i386"
        if arch not in ARCHITECTURES:
            raise Refusal("InvalidParameterValue", f"Invalid value '{arch}' for architecture")
        kernel_id = ramdisk_id = None
        if image_type == "machine":
            kernel_id = self._linked(form.get("KernelId") or _named(manifest.kernel_id),
                                     "kernel")
            ramdisk_id = self._linked(form.get("RamdiskId") or _named(manifest.ramdisk_id),
                                      "ramdisk")
        image = self.table.add(
            image_type, location=location, owner=self.account, name=name,
            architecture=arch, description=form.get("Description") or None,
            kernel_id=kernel_id, ramdisk_id=ramdisk_id,
            platform=form.get("Platform") or None,
            virtualization_type=form.get("VirtualizationType") or (
                "hvm" if form.get("Platform") == "windows" else "paravirtual"),
        )
        log.info("sandbox: registered %s as %s (%s), pending its bundle check", location,
                 image.image_id, image_type)
        self.on_register(image.image_id)
        return f"<imageId>{image.image_id}</imageId>"

    def _linked(self, image_id: str | None, image_type: str) -> str | None:
        """A kernel or ramdisk id given for a machine image: it must be one, registered."""
        if not image_id:
            return None
        image = self.table.get(image_id)
        code = f"Invalid{image_type.capitalize()}Id.NotFound"
        if image is None:
            raise Refusal(code, f"The {image_type} image id '{image_id}' does not exist")
        if image.image_type != image_type:
            raise Refusal(code, f"The image {image_id} is a {image.image_type} image, "
                          f"not a {image_type}")
        if image.state == "failed":
            raise Refusal(code, f"The {image_type} {image_id} failed: {image.state_reason}")
        return image_id

    # --- DescribeImages -----------------------------------------------------

    def _describe(self, form: dict[str, str]) -> str:
        ids = _members(form, "ImageId")
        owners = _members(form, "Owner")
        filters = _filters(form)
        images = self.table.all()
        if ids:
            known = {i.image_id for i in images}
            unknown = [i for i in ids if i not in known]
            if unknown:
                raise Refusal("InvalidAMIID.NotFound",
                              f"The image id '[{', '.join(unknown)}]' does not exist")
            images = [i for i in images if i.image_id in ids]
        if owners:
            wanted = {self.account if o == "self" else o for o in owners}
            images = [i for i in images if i.owner in wanted]
        images = [i for i in images if all(_matches(i, n, v) for n, v in filters)]
        return "<imagesSet>" + "".join(_image_xml(i) for i in images) + "</imagesSet>"

    # --- DeregisterImage, DescribeImageAttribute, RunInstances ---------------

    def _own(self, form: dict[str, str]) -> SandboxImage:
        image_id = form.get("ImageId", "")
        image = self.table.get(image_id)
        if image is None or image.owner != self.account:
            raise Refusal("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
        return image

    def _deregister(self, form: dict[str, str]) -> str:
        image = self._own(form)
        self.table.remove(image.image_id)
        log.info("sandbox: deregistered %s", image.image_id)
        return "<return>true</return>"

    def _attribute(self, form: dict[str, str]) -> str:
        image = self._own(form)
        attribute = form.get("Attribute", "")
        values = {"description": image.description, "kernel": image.kernel_id,
                  "ramdisk": image.ramdisk_id}
        out = f"<imageId>{image.image_id}</imageId>"
        if attribute in values:
            value = values[attribute]
            inner = f"<value>{escape(value)}</value>" if value else ""
            return out + f"<{attribute}>{inner}</{attribute}>"
        if attribute in ("launchPermission", "productCodes", "blockDeviceMapping"):
            return out + f"<{attribute}/>"
        raise Refusal("InvalidParameterValue", f"Invalid attribute '{attribute}'")

    def _console(self, form: dict[str, str]) -> str:
        assert self.console is not None
        instance_id = form.get("InstanceId", "")
        text = SANDBOX_CONSOLE + self.console(instance_id)
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return (f"<instanceId>{escape(instance_id)}</instanceId><timestamp>{now}</timestamp>"
                f"<output>{base64.b64encode(text.encode()).decode()}</output>")

    def _check_launch(self, form: dict[str, str]) -> None:
        image_id = form.get("ImageId", "")
        image = self.table.get(image_id)
        if image is None:
            raise Refusal("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
        if image.image_type != "machine":
            raise Refusal("InvalidParameterValue", f"{image_id} is a {image.image_type} image; "
                          "instances run machine images")
        if image.state != "available":
            raise Refusal("InvalidAMIID.Unavailable",
                          f"The image {image_id} is {image.state}, not available"
                          + (f": {image.state_reason}" if image.state_reason else ""))


def _named(value: str | None) -> str | None:
    # A kernel or ramdisk bundle says "true" there (Eucalyptus 1.x/2.x): not an id.
    return value if value and value.lower() != "true" else None


def _members(form: dict[str, str], prefix: str) -> list[str]:
    """``Prefix.1``, ``Prefix.2``…: the values of a query list, in order."""
    found = []
    for name, value in form.items():
        head, _, index = name.partition(".")
        if head == prefix and index.isdigit():
            found.append((int(index), value))
    return [value for _, value in sorted(found)]


def _filters(form: dict[str, str]) -> list[tuple[str, list[str]]]:
    numbers = sorted({int(k.split(".")[1]) for k in form
                      if k.startswith("Filter.") and k.count(".") >= 2
                      and k.split(".")[1].isdigit()})
    out = []
    for n in numbers:
        name = form.get(f"Filter.{n}.Name", "")
        values = _members({k[len(f"Filter.{n}."):]: v for k, v in form.items()
                           if k.startswith(f"Filter.{n}.Value.")}, "Value")
        if name:
            out.append((name, values))
    return out


_FILTERED: dict[str, Callable[[SandboxImage], str | None]] = {
    "image-id": lambda i: i.image_id,
    "owner-id": lambda i: i.owner,
    "name": lambda i: i.name,
    "manifest-location": lambda i: i.location,
    "image-type": lambda i: i.image_type,
    "state": lambda i: i.state,
    "architecture": lambda i: i.architecture,
    "kernel-id": lambda i: i.kernel_id,
    "ramdisk-id": lambda i: i.ramdisk_id,
    "platform": lambda i: i.platform,
    "description": lambda i: i.description,
    "virtualization-type": lambda i: i.virtualization_type,
}


def _matches(image: SandboxImage, name: str, values: list[str]) -> bool:
    if name not in _FILTERED:
        raise Refusal("InvalidParameterValue", f"The filter '{name}' is invalid")
    have = _FILTERED[name](image)
    if have is None:
        return False
    # EC2 filters take * and ? as wildcards; a leading slash on a location is the same place.
    if name == "manifest-location":
        have = have.lstrip("/")
        values = [v.lstrip("/") for v in values]
    return any(fnmatch.fnmatchcase(have, value) for value in values)


def _image_xml(image: SandboxImage) -> str:
    created = datetime.datetime.fromtimestamp(image.created, datetime.timezone.utc)
    fields = [
        ("imageId", image.image_id),
        ("imageLocation", image.location),
        ("imageState", image.state),
        ("imageOwnerId", image.owner),
        ("creationDate", created.strftime("%Y-%m-%dT%H:%M:%S.000Z")),
        ("isPublic", "false"),
        ("architecture", image.architecture),
        ("imageType", image.image_type),
        ("kernelId", image.kernel_id),
        ("ramdiskId", image.ramdisk_id),
        ("platform", image.platform),
        ("name", image.name),
        ("description", image.description),
        ("rootDeviceType", "instance-store"),
        ("virtualizationType", image.virtualization_type),
        ("hypervisor", "kvm"),
    ]
    text = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in fields if value)
    if image.state == "failed":
        text += (f"<stateReason><code>Client.InvalidManifest</code>"
                 f"<message>{escape(image.state_reason)}</message></stateReason>")
    return f"<item>{text}</item>"


def error_xml(code: str, message: str) -> bytes:
    return (f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error>"
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{uuid.uuid4()}</RequestID></Response>").encode()

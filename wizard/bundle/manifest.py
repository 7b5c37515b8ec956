"""The bundle manifest (version 2007-10-10): written to the byte, read with care.

Writing follows BUNDLE-FORMAT.md section 2: an XML declaration, no
whitespace between elements, attributes in single quotes, elements in the
order EC2's parser expects. The signature covers the exact text of
``<machine_configuration>…</machine_configuration>`` followed by
``<image>…</image>``; the clouds find both with indexOf, so nothing may
re-format the file after signing.

Reading accepts what other tools write (double quotes, whitespace,
single-digit part names) and parses untrusted XML with defusedxml, after
bounding it: at most ``MAX_MANIFEST_BYTES`` are ever read and a manifest
past the byte, element or part bound is refused before it is parsed (an
element tree costs many times its text: 600 MiB of XML took 1.3 GB).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from wizard import PROGRAM, __version__
from wizard.core.errors import WizardError

VERSION = "2007-10-10"
# Bounds on untrusted manifests, generous: a 2 TiB image in 10 MiB parts has
# 209,716 parts, its manifest about 35 MiB (82 MiB with 243-character names
# and other tools' indentation; parsed in about 5 s and 300 MB).
MAX_PARTS = 262_144                         # 2.5 TiB in 10 MiB parts
MAX_MANIFEST_BYTES = 128 * 1024 * 1024
# A part is six tags (<part>, <filename>, <digest> and their ends) and two
# attributes (index, algorithm); the rest of a manifest about forty tags and
# ten attributes. Bounds the element tree whatever the byte count (128 MiB
# of hostile XML within these bounds parses in at most about 600 MB).
MAX_TAGS = 6 * MAX_PARTS + 1024
MAX_ATTRIBUTES = 2 * MAX_PARTS + 1024
_PART_TAG = re.compile(rb"<part[\s/>]")
IMAGE_TYPES = ("machine", "kernel", "ramdisk")


@dataclass(frozen=True)
class Part:
    """One encrypted part file of a bundle."""

    index: int
    filename: str
    sha1: str


@dataclass(frozen=True)
class Manifest:
    """Everything a manifest says about its bundle."""

    name: str
    user: str
    image_type: str
    arch: str
    digest: str
    size: int
    bundled_size: int
    ec2_encrypted_key: str = field(repr=False)
    user_encrypted_key: str = field(repr=False)
    ec2_encrypted_iv: str = field(repr=False)
    user_encrypted_iv: str = field(repr=False)
    parts: tuple[Part, ...]
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    block_device_mapping: tuple[tuple[str, str], ...] = ()
    product_codes: tuple[str, ...] = ()
    signature: str = field(default="", repr=False)
    bundler: tuple[str, str, str] = (PROGRAM, __version__, "0")
    # The exact signed text as found in the file (set when read or rendered).
    signed_text: bytes = field(default=b"", compare=False, repr=False)


def _element(tag: str, text: str, attrs: str = "") -> str:
    return f"<{tag}{attrs}>{escape(text)}</{tag}>"


def machine_configuration_xml(m: Manifest) -> str:
    inner = _element("architecture", m.arch)
    if m.block_device_mapping:
        inner += "<block_device_mapping>" + "".join(
            "<mapping>" + _element("virtual", v) + _element("device", d) + "</mapping>"
            for v, d in m.block_device_mapping
        ) + "</block_device_mapping>"
    if m.product_codes:
        inner += "<product_codes>" + "".join(
            _element("product_code", c) for c in m.product_codes
        ) + "</product_codes>"
    # kernel_id/ramdisk_id come after mappings and product codes (section 2).
    if m.kernel_id:
        inner += _element("kernel_id", m.kernel_id)
    if m.ramdisk_id:
        inner += _element("ramdisk_id", m.ramdisk_id)
    return f"<machine_configuration>{inner}</machine_configuration>"


def image_xml(m: Manifest) -> str:
    parts = "".join(
        f"<part index='{p.index}'>{_element('filename', p.filename)}"
        f"{_element('digest', p.sha1, attrs=' algorithm=' + chr(39) + 'SHA1' + chr(39))}</part>"
        for p in m.parts
    )
    aes = " algorithm='AES-128-CBC'"
    return (
        "<image>"
        + _element("name", m.name)
        + _element("user", m.user)
        + _element("type", m.image_type)
        + _element("digest", m.digest, " algorithm='SHA1'")
        + _element("size", str(m.size))
        + _element("bundled_size", str(m.bundled_size))
        + _element("ec2_encrypted_key", m.ec2_encrypted_key, aes)
        + _element("user_encrypted_key", m.user_encrypted_key, aes)
        + _element("ec2_encrypted_iv", m.ec2_encrypted_iv)
        + _element("user_encrypted_iv", m.user_encrypted_iv)
        + f"<parts count='{len(m.parts)}'>{parts}</parts>"
        + "</image>"
    )


def signed_text(m: Manifest) -> bytes:
    """The bytes the signature covers, as the clouds cut them from the file."""
    return (machine_configuration_xml(m) + image_xml(m)).encode("utf-8")


def render(m: Manifest) -> bytes:
    """The manifest file's bytes; ``m.signature`` must be over ``signed_text(m)``."""
    name, version, release = m.bundler
    bundler = ("<bundler>" + _element("name", name) + _element("version", version)
               + _element("release", release) + "</bundler>")
    body = (
        "<?xml version='1.0'?><manifest>"
        + _element("version", VERSION)
        + bundler
        + machine_configuration_xml(m)
        + image_xml(m)
        + _element("signature", m.signature)
        + "</manifest>"
    )
    return body.encode("utf-8")


# --- reading ---------------------------------------------------------------

_SIGNED_RE = re.compile(
    rb"<machine_configuration>.*?</machine_configuration>", re.DOTALL
)
_IMAGE_RE = re.compile(rb"<image>.*?</image>", re.DOTALL)


def _not_manifest(path: Path | str, why: str) -> WizardError:
    return WizardError(
        f"{path} is not a bundle manifest ({why})",
        "give the .manifest.xml file that bundling wrote beside the .part files",
    )


def _text(root: Element, path: str, source: Path | str, required: bool = True) -> str:
    node = root.find(path)
    if node is None or node.text is None:
        if required:
            raise _not_manifest(source, f"no {path.split('/')[-1]} element")
        return ""
    return node.text.strip()


def _too_big(source: Path | str, what: str) -> WizardError:
    return WizardError(
        f"{source} is not a bundle manifest: {what}",
        "give the .manifest.xml file that bundling wrote (an image of up to 2.5 TiB "
        "in 10 MiB parts fits)",
        key="build.manifest",
    )


def check_bounds(data: bytes, source: Path | str = "the manifest") -> None:
    """Refuse, before parsing, a manifest past the byte, tag or part bound."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise _too_big(source, f"it is larger than {MAX_MANIFEST_BYTES // 2**20} MiB")
    tags = data.count(b"<")
    if tags > MAX_TAGS:
        raise _too_big(source, f"it holds {tags} tags, more than a manifest of "
                       f"{MAX_PARTS} parts has")
    # Attributes are entries of a dict each: bounded as tags are (a part has two).
    attributes = data.count(b"=")
    if attributes > MAX_ATTRIBUTES:
        raise _too_big(source, f"it holds {attributes} attributes, more than a manifest of "
                       f"{MAX_PARTS} parts has")
    parts = sum(1 for _ in _PART_TAG.finditer(data))
    if parts > MAX_PARTS:
        raise _too_big(source, f"it lists {parts} parts, more than {MAX_PARTS}")


class Readable(Protocol):
    """A file, or an object store's answer body."""

    def read(self, size: int, /) -> bytes: ...


def read_bounded(stream: Readable, source: Path | str) -> bytes:
    """At most ``MAX_MANIFEST_BYTES`` from ``stream``; refused if there is more."""
    data = stream.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise _too_big(source, f"it is larger than {MAX_MANIFEST_BYTES // 2**20} MiB")
    return bytes(data)


def check_size(path: Path) -> None:
    """Refuse a manifest file past the byte bound from its size alone (before a step starts)."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        return  # reading it says what is wrong
    if size > MAX_MANIFEST_BYTES:
        raise _too_big(path, f"it is larger than {MAX_MANIFEST_BYTES // 2**20} MiB")


def parse_manifest(data: bytes, source: Path | str = "the manifest") -> Manifest:
    """A ``Manifest`` from untrusted bytes (bounded first); a clear error for anything else."""
    check_bounds(data, source)
    try:
        root = SafeET.fromstring(data)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise _not_manifest(source, f"not well-formed XML: {exc}") from exc
    if root.tag != "manifest":
        raise _not_manifest(source, f"its root element is <{root.tag}>, not <manifest>")
    try:
        parts = []
        for node in root.findall("image/parts/part"):
            index = int(node.get("index", ""))
            filename = _text(node, "filename", source)
            if "/" in filename or "\\" in filename or filename in ("", ".", ".."):
                raise _not_manifest(source, f"part file name {filename!r} is not a plain name")
            parts.append(Part(index, filename, _text(node, "digest", source).lower()))
        parts.sort(key=lambda p: p.index)
        if not parts:
            raise _not_manifest(source, "it lists no parts")
        if [p.index for p in parts] != list(range(len(parts))):
            raise _not_manifest(source, "its part indexes are not 0, 1, 2, …")
        mappings = tuple(
            (_text(n, "virtual", source), _text(n, "device", source))
            for n in root.findall("machine_configuration/block_device_mapping/mapping")
        )
        codes = tuple(
            (n.text or "").strip()
            for n in root.findall("machine_configuration/product_codes/product_code")
        )
        bundler_node = root.find("bundler")
        bundler = ("", "", "")
        if bundler_node is not None:
            name, version, release = (_text(bundler_node, tag, source, False)
                                      for tag in ("name", "version", "release"))
            bundler = (name, version, release)
        match_mc = _SIGNED_RE.search(data)
        match_image = _IMAGE_RE.search(data)
        signed = (match_mc.group(0) + match_image.group(0)) if match_mc and match_image else b""
        return Manifest(
            name=_text(root, "image/name", source),
            user=_text(root, "image/user", source, False),
            image_type=_text(root, "image/type", source, False) or "machine",
            arch=_text(root, "machine_configuration/architecture", source, False),
            digest=_text(root, "image/digest", source).lower(),
            size=int(_text(root, "image/size", source)),
            bundled_size=int(_text(root, "image/bundled_size", source, False) or 0),
            ec2_encrypted_key=_text(root, "image/ec2_encrypted_key", source),
            user_encrypted_key=_text(root, "image/user_encrypted_key", source),
            ec2_encrypted_iv=_text(root, "image/ec2_encrypted_iv", source),
            user_encrypted_iv=_text(root, "image/user_encrypted_iv", source),
            parts=tuple(parts),
            kernel_id=_text(root, "machine_configuration/kernel_id", source, False) or None,
            ramdisk_id=_text(root, "machine_configuration/ramdisk_id", source, False) or None,
            block_device_mapping=mappings,
            product_codes=codes,
            signature=_text(root, "signature", source, False),
            bundler=bundler,
            signed_text=signed,
        )
    except ValueError as exc:  # int() of a garbled number
        raise _not_manifest(source, f"a number in it is not a number: {exc}") from exc


def read_manifest(path: Path) -> Manifest:
    """Read and parse a manifest file."""
    path = Path(path)
    if not path.is_file():
        raise WizardError(
            f"the manifest {path} does not exist" if not path.exists()
            else f"the manifest {path} is not a file",
            "give the .manifest.xml file that bundling wrote",
        )
    try:
        with open(path, "rb") as handle:
            data = read_bounded(handle, path)
    except OSError as exc:
        raise WizardError(f"cannot read the manifest {path} ({exc.strerror})",
                          "check the file's permissions") from exc
    return parse_manifest(data, path)


def part_name(prefix: str, index: int, count: int) -> str:
    """``PREFIX.part.NN``: at least two digits, enough that lexical order is index order."""
    width = max(2, len(str(count - 1)))
    return f"{prefix}.part.{index:0{width}d}"


def manifest_name(prefix: str) -> str:
    return f"{prefix}.manifest.xml"

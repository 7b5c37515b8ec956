"""The bundle request from the operator's inputs, one way for every face.

The ``bundle`` subcommand, a session's bundle steps and the TUI all turn the
same inputs (image, destination or none, name, architecture, image type,
kernel and ramdisk ids, the loaded credentials) into a ``BundleRequest``
here, so a bundle is made the same way whoever asks for it, and the default
destination is chosen in one place.

``BundleRequest`` itself is here too: what to bundle and how, with the
manifest's kernel and ramdisk ids it implies; ``inputs`` checks it.

The credentials are taken as loaded (``wizard.credentials.Credentials``) but
typed by what is used of them, so the bundle package does not import the
credentials package (the step packages stay independent of each other).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from wizard.bundle.inputs import (
    check_image,
    check_kind,
    check_name,
    check_part_size,
)
from wizard.bundle.keys import BundleKeys
from wizard.bundle.roles import check_role
from wizard.core.account import normalise_account
from wizard.core.errors import WizardError

PART_SIZE = 10 * 1024 * 1024      # BUNDLE-FORMAT.md 1.5: exactly 10,485,760 bytes


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
    # How ``arch`` was chosen when the operator gave none (``choose_architecture``).
    arch_reason: str = ""

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


def check_request(req: BundleRequest) -> int:
    """Refuse bad input before anything is written; returns the image size."""
    size = check_image(req.image)
    check_kind(req.arch, req.image_type, req.kernel_id, req.ramdisk_id)
    check_name(req.name, given=req.prefix is not None)
    normalise_account(req.user)
    check_part_size(req.part_size)
    check_role(req.image, req.image_type, size)  # the right file for the role (roles.py)
    return size


class _Setting(Protocol):
    @property
    def value(self) -> str: ...


class LoadedCredentials(Protocol):
    """What bundling needs of ``Credentials``: each value, or an error saying how to set it."""

    def require(self, name: str) -> _Setting: ...


def default_bundle_base() -> Path:
    """The folder default bundle folders are made in: $TMPDIR, else /var/tmp (else /tmp)."""
    # /var/tmp is on disk and survives a reboot; /tmp is often a small tmpfs.
    fallback = "/var/tmp" if Path("/var/tmp").is_dir() else "/tmp"  # noqa: S108
    return Path(os.environ.get("TMPDIR") or fallback)


def default_destination(name: str) -> Path:
    """A new, empty, private folder on disk (not a RAM-backed /tmp) for a bundle of ``name``.

    Made here and now, exclusively (mkdtemp: never a folder or a link that
    is already there, a name nobody can guess, mode 0700). A predictable
    name (date and pid) let anyone who can write $TMPDIR plant a folder or
    a link there beforehand and receive the parts and the manifest.
    """
    base = default_bundle_base()
    # The readable part says what and when; mkdtemp adds the random part.
    prefix = f"bundle-{name}-{time.strftime('%Y%m%d-%H%M%S')}-"
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    except OSError as exc:
        raise WizardError(f"cannot create a bundle folder in {base} ({exc.strerror})",
                          "set TMPDIR to a folder you can write, or choose a folder for "
                          "the bundle", key="build.folder") from exc


# When the image does not tell: the architecture bundles had before it was read.
DEFAULT_ARCH = "x86_64"


def choose_architecture(image: Path, image_type: str) -> tuple[str, str]:
    """The architecture for a bundle of ``image`` given none, and why it was chosen.

    A machine image is a Windows disk: its own files say (a 64-bit Windows
    has \\WINDOWS\\SysWOW64; ``wizard.disk.windows``). Most XP and 2003
    images are 32-bit, so the old fixed x86_64 was usually wrong. A kernel
    (memdisk) or ramdisk (floppy) has no Windows to read.
    """
    if image_type != "machine":
        return DEFAULT_ARCH, (f"the default for a {image_type}; give the architecture of the "
                              "Windows disk it boots")
    from wizard.disk.windows import windows_architecture

    check_image(image)  # a FIFO or a folder is refused here, never opened
    found = windows_architecture(image)
    if found.arch is not None:
        return found.arch, f"read from the image: {found.why}"
    return DEFAULT_ARCH, (f"the default: the image's Windows could not be read ({found.why}); "
                          "give i386 for a 32-bit Windows")


def bundle_request(
    image: Path, *, destination: Path | None, prefix: str | None, arch: str | None,
    image_type: str, kernel_id: str | None, ramdisk_id: str | None,
    credentials: LoadedCredentials,
) -> tuple[BundleRequest, bool]:
    """The request for bundling ``image``, and whether its destination was chosen by default.

    ``arch`` None reads it from the image (``choose_architecture``); the
    request's ``arch_reason`` then says which was chosen and why.

    ``destination`` None creates a new folder under $TMPDIR (else /var/tmp)
    with ``default_destination``, once the inputs are checked; the request
    says so (``fresh_destination``), and a bundle that fails removes it.
    The keys are loaded and checked here (``BundleKeys.load``): a missing or
    unreadable certificate or key is a ``WizardError`` before anything is
    written. ``request.keys.warnings`` says what the caller should show
    (e.g. an expired certificate).
    """
    keys = BundleKeys.load(
        Path(credentials.require("cert").value),
        Path(credentials.require("private_key").value),
        Path(credentials.require("cloud_cert").value),
    )
    image = Path(image)
    arch_reason = ""
    if arch is None:
        arch, arch_reason = choose_architecture(image, image_type)
    request = BundleRequest(
        image=image, destination=Path(destination) if destination is not None else Path(),
        keys=keys, user=credentials.require("user").value,
        prefix=prefix, arch=arch, image_type=image_type,
        kernel_id=kernel_id, ramdisk_id=ramdisk_id, arch_reason=arch_reason,
    )
    if destination is not None:
        return request, False
    # Checked before the default folder is made: a mistyped image or name
    # must not leave an empty folder behind.
    check_request(request)
    folder = default_destination(request.name)
    return replace(request, destination=folder, fresh_destination=True), True

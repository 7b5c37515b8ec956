"""The bundle request from the operator's inputs, one way for every face.

The ``bundle`` subcommand, a session's bundle steps and the TUI all turn the
same inputs (image, destination or none, name, architecture, image type,
kernel and ramdisk ids, the loaded credentials) into a ``BundleRequest``
here, so a bundle is made the same way whoever asks for it, and the default
destination is chosen in one place.

The credentials are taken as loaded (``wizard.credentials.Credentials``) but
typed by what is used of them, so the bundle package does not import the
credentials package (the step packages stay independent of each other).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Protocol

from wizard.bundle.bundler import BundleRequest
from wizard.bundle.keys import BundleKeys


class _Setting(Protocol):
    @property
    def value(self) -> str: ...


class LoadedCredentials(Protocol):
    """What bundling needs of ``Credentials``: each value, or an error saying how to set it."""

    def require(self, name: str) -> _Setting: ...


def default_destination(name: str) -> Path:
    """A new folder on disk (not a RAM-backed /tmp) for a bundle of ``name``."""
    # /var/tmp is on disk and survives a reboot; /tmp is often a small tmpfs.
    fallback = "/var/tmp" if Path("/var/tmp").is_dir() else "/tmp"  # noqa: S108
    base = Path(os.environ.get("TMPDIR") or fallback)
    return base / f"bundle-{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def bundle_request(
    image: Path, *, destination: Path | None, prefix: str | None, arch: str,
    image_type: str, kernel_id: str | None, ramdisk_id: str | None,
    credentials: LoadedCredentials,
) -> tuple[BundleRequest, bool]:
    """The request for bundling ``image``, and whether its destination was chosen by default.

    ``destination`` None picks a new folder under $TMPDIR (else /var/tmp).
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
    chosen = destination is None
    folder = default_destination(prefix or image.name) if destination is None else Path(destination)
    request = BundleRequest(
        image=image, destination=folder, keys=keys, user=credentials.require("user").value,
        prefix=prefix, arch=arch, image_type=image_type,
        kernel_id=kernel_id, ramdisk_id=ramdisk_id,
    )
    return request, chosen

"""The sandbox's registered images, kept as Eucalyptus keeps them (moto keeps none of it).

moto's RegisterImage forgets the location, the kernel and ramdisk ids and
the image type, and names every image ``ami-…``. The sandbox answers the
image calls itself (``imageapi.py``) from this table: ``eki-``, ``eri-`` or
``emi-`` and 8 hex digits by the manifest's image type, what RegisterImage
was given, the owner, and the state the bundle check (``imagecheck.py``)
sets: ``pending``, then ``available`` or ``failed`` with the reason.

The table lives in the sandbox's folder as JSON, rewritten atomically on
every change, so a sandbox started again with the same folder still knows
its images. Thread-safe: the proxy's handler threads and the checker share it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from wizard.core.files import write_atomic
from wizard.core.logs import get_logger

log = get_logger(__name__)

# The image type (the manifest's <type>) -> Eucalyptus' id prefix.
PREFIXES = {"kernel": "eki", "ramdisk": "eri", "machine": "emi"}
STATES = ("pending", "available", "failed")
_VERSION = 1


@dataclass(frozen=True)
class SandboxImage:
    """One registered image, with everything DescribeImages tells about it."""

    image_id: str
    location: str  # bucket/[prefix/]NAME.manifest.xml, as registered
    image_type: str  # kernel, ramdisk or machine
    owner: str
    name: str
    created: float  # time.time() of the registration
    state: str = "pending"
    state_reason: str = ""  # why it failed (empty otherwise)
    architecture: str = "i386"
    description: str | None = None
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    platform: str | None = None
    virtualization_type: str | None = None


class ImageTable:
    """Registered images by id; persisted to ``path`` when one is given."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._images: dict[str, SandboxImage] = {}
        if path is not None and path.exists():
            self._images = _load(path)

    def add(self, image_type: str, **details: Any) -> SandboxImage:
        """Register a new image (state pending) under a fresh id for its type."""
        with self._lock:
            while True:
                image_id = f"{PREFIXES[image_type]}-{secrets.token_hex(4).upper()}"
                if image_id not in self._images:
                    break
            image = SandboxImage(image_id=image_id, image_type=image_type,
                                 created=time.time(), **details)
            self._images[image_id] = image
            self._save()
        return image

    def get(self, image_id: str) -> SandboxImage | None:
        with self._lock:
            return self._images.get(image_id)

    def all(self) -> list[SandboxImage]:
        with self._lock:
            return sorted(self._images.values(), key=lambda i: i.created)

    def by_location(self, location: str) -> list[SandboxImage]:
        """Images registered from this manifest location (leading slashes ignored)."""
        wanted = location.lstrip("/")
        return [i for i in self.all() if i.location.lstrip("/") == wanted]

    def set_state(self, image_id: str, state: str, reason: str = "") -> SandboxImage | None:
        """Record what the bundle check found; None when the image is gone meanwhile."""
        assert state in STATES
        with self._lock:
            image = self._images.get(image_id)
            if image is None:
                return None
            image = replace(image, state=state, state_reason=reason)
            self._images[image_id] = image
            self._save()
        return image

    def remove(self, image_id: str) -> bool:
        with self._lock:
            gone = self._images.pop(image_id, None) is not None
            if gone:
                self._save()
        return gone

    def clear(self) -> None:
        with self._lock:
            self._images.clear()
            self._save()

    def _save(self) -> None:
        # Called with the lock held: one writer at a time, each write whole.
        if self.path is None:
            return
        data = {"version": _VERSION, "images": [asdict(i) for i in self._images.values()]}
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True).encode(), mode=0o600)


def _load(path: Path) -> dict[str, SandboxImage]:
    """The images of a table file; a damaged file is set aside, not trusted."""
    known = {f.name for f in fields(SandboxImage)}
    try:
        data = json.loads(path.read_text())
        images = {}
        for item in data["images"]:
            image = SandboxImage(**{k: v for k, v in item.items() if k in known})
            if image.image_type not in PREFIXES or image.state not in STATES:
                raise ValueError(f"image {image.image_id}: unknown type or state")
            images[image.image_id] = image
        return images
    except (OSError, ValueError, KeyError, TypeError) as exc:
        aside = path.with_name(path.name + ".damaged")
        log.warning("the sandbox's image table %s cannot be read (%s); moved to %s, "
                    "starting with no images", path, exc, aside)
        path.replace(aside)
        return {}

"""What the operator chose so far, and where on which screen each answer is asked.

The screens fill one ``Choices``; the Build screen turns it into an answers
file (the same TOML an operator writes for ``run --answers``), so a build
started from the wizard is checked exactly as an unattended one, and can be
replayed. ``FIELDS`` maps an answer key (the ``key`` a ``WizardError`` or a
``StepFailed`` names, e.g. ``build.disk``) to the screen and the field that
asks for it, so the error screen can send the operator straight there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# The screens in recipe order (subiquity's plain list). The native recipe has
# no memdisk kernel and no floppy ramdisk.
SCREENS: dict[str, tuple[str, ...]] = {
    "memdisk": ("start", "prerequisites", "credentials", "disk", "memdisk", "floppy",
                "build", "done"),
    "native": ("start", "prerequisites", "credentials", "disk", "build", "done"),
}

# Answer key -> (screen, id of the field that asks for it).
FIELDS: dict[str, tuple[str, str]] = {
    "build.mode": ("start", "recipe"),
    "cloud.eucarc": ("credentials", "eucarc"),
    "cloud.region": ("credentials", "region"),
    "cloud": ("credentials", "eucarc"),
    "build.disk": ("disk", "disk-path"),
    "build.memdisk": ("memdisk", "memdisk-path"),
    "build.syslinux_source": ("memdisk", "memdisk-path"),
    "build.floppy": ("floppy", "floppy-path"),
    "build.vm": ("floppy", "vm"),
    "build.name": ("build", "name"),
    "build.bucket": ("build", "bucket"),
    "build.arch": ("build", "arch"),
}


def field_for(key: str | None) -> tuple[str, str] | None:
    """The (screen, field id) asking for ``key``; a cloud.* key not listed goes
    to the credentials screen, as does any key whose section alone is known."""
    if not key:
        return None
    if key in FIELDS:
        return FIELDS[key]
    section = key.split(".", 1)[0]
    return FIELDS.get(section)


@dataclass
class Choices:
    """The build's inputs as the screens collect them (paths as typed)."""

    mode: str = "memdisk"
    # Where credentials come from: "eucarc", "ini" (~/.euca/*.ini) or "environment".
    source: str = "eucarc"
    eucarc: str = ""
    region: str = ""
    disk: str = ""
    memdisk: str = ""
    # A syslinux tarball or folder to compile memdisk from (instead of memdisk).
    syslinux_source: str = ""
    floppy: str = ""
    vm: str = ""
    name: str = ""
    bucket: str = ""
    arch: str = "i386"
    # Why ``arch`` is what it is when the Disk screen read it from the image.
    arch_reason: str = ""

    def screens(self) -> tuple[str, ...]:
        return SCREENS[self.mode]

    def default_name(self) -> str:
        """The session's name if none is typed: the disk image's file name, as ``run`` does."""
        stem = Path(self.disk).name.split(".")[0] if self.disk else ""
        return stem or "windows"

    def to_toml(self) -> str:
        """The answers file (issue 10's format) for these choices.

        Strings are written as JSON strings, which are valid TOML basic
        strings (the same escapes), so no path can break the file.
        """
        def q(text: str) -> str:
            return json.dumps(text)

        cloud: list[str] = ["[cloud]"]
        if self.source == "eucarc" and self.eucarc:
            cloud.append(f"eucarc = {q(self.eucarc)}")
        elif self.source == "ini" and self.region:
            cloud.append(f"region = {q(self.region)}")
        build = ["[build]", f"name = {q(self.name or self.default_name())}",
                 f"bucket = {q(self.bucket or self.default_name() + '-images')}",
                 f"arch = {q(self.arch)}", f"mode = {q(self.mode)}",
                 f"disk = {q(self.disk)}"]
        if self.mode == "memdisk":
            build.append(f"floppy = {q(self.floppy)}")
            if self.syslinux_source and not self.memdisk:
                build.append(f"syslinux_source = {q(self.syslinux_source)}")
            else:
                build.append(f"memdisk = {q(self.memdisk)}")
        return "\n".join(cloud) + "\n\n" + "\n".join(build) + "\n"

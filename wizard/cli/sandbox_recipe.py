"""The memdisk recipe against a running sandbox, as commands an operator types.

``euca-windows-wizard sandbox`` prints it (and writes it beside the samples as
``recipe.sh``): verify the floppy against the disk, then bundle, upload and
register the memdisk (kernel), the floppy (ramdisk) and the disk (the
machine image carrying both). The ids that registering prints go from step
to step in shell variables, so the lines run as printed. Relative to the
sandbox's folder, and no line wider than 80 columns.
"""

from __future__ import annotations

import shlex
from pathlib import Path

PROGRAM = "euca-windows-wizard"
BUCKET = "sandbox"
# register prints IMAGE<TAB>id on stdout (its progress goes to stderr).
_ID = "| cut -f2)"


def recipe_lines(memdisk: Path, disk: str = "sample-disk.img",
                 floppy: str = "sample-floppy.img") -> list[str]:
    """The recipe's commands, continuation lines ending in a backslash."""
    rc = "--eucarc eucarc"
    memdisk_word, disk, floppy = (shlex.quote(str(memdisk)), shlex.quote(disk),
                                  shlex.quote(floppy))
    lines = [f"{PROGRAM} floppy verify {floppy} --disk {disk}"]
    for var, role, image, prefix, kind in (
        ("KERNEL", "kernel", memdisk_word, "memdisk", "kernel"),
        ("RAMDISK", "ramdisk", floppy, "floppy", "ramdisk"),
    ):
        location = f"{BUCKET}/{role}/{prefix}.manifest.xml"
        lines += [
            f"{PROGRAM} bundle {rc} -i {image} \\",
            f"    -p {prefix} --image-type {kind} -r i386 -d {role}",
            f"{PROGRAM} upload {rc} -b {BUCKET}/{role} \\",
            f"    -m {role}/{prefix}.manifest.xml",
            f"{var}=$({PROGRAM} register {rc} \\",
            f"    {location} -n sandbox-{prefix} {_ID}",
        ]
    ids = '--kernel "$KERNEL" --ramdisk "$RAMDISK"'
    lines += [
        f"{PROGRAM} bundle {rc} -i {disk} -p windows-xp \\",
        f"    -r i386 {ids} -d image",
        f"{PROGRAM} upload {rc} -b {BUCKET}/image \\",
        "    -m image/windows-xp.manifest.xml",
        f"{PROGRAM} register {rc} \\",
        f"    {BUCKET}/image/windows-xp.manifest.xml -n sandbox-windows-xp \\",
        f"    {ids}",
    ]
    return lines


def recipe_script(lines: list[str]) -> str:
    """``recipe.sh``: the same commands, stopping at the first that fails."""
    head = ["#!/bin/bash",
            "# The memdisk recipe against the euca-windows-wizard SANDBOX, step by step.",
            "# Run it in this folder while `euca-windows-wizard sandbox` serves:",
            "# bash recipe.sh",
            "set -eo pipefail  # pipefail: a register that fails stops the recipe"]
    return "\n".join(head + lines) + "\n"

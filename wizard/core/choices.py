"""The fixed choices a build is made of: its recipe and its architecture.

Listed once: the answers file, the CLI's choices, the checks, the bundle
(the manifest's <architecture>), registration and the sandbox all take them
from here (STYLE.md, one definition for one idea).
"""

from __future__ import annotations

# memdisk: memdisk as the kernel, the floppy as the ramdisk, then the disk
# image (any Eucalyptus); native: the disk image alone as an HVM Windows
# image (Eucalyptus 3.x/4.x). DESIGN.md "The job".
RECIPES: tuple[str, ...] = ("memdisk", "native")
# What the manifest and RegisterImage take (BUNDLE-FORMAT.md section 2).
ARCHITECTURES: tuple[str, ...] = ("i386", "x86_64")

"""A small syslinux-shaped source tree: ``memdisk/Makefile`` assembling with nasm.

The assembled file carries what a real memdisk carries: 0x55AA at 0x1FE,
``HdrS`` at 0x202, boot protocol 2.10 at 0x206, and a kernel_version pointer
to ``MEMDISK 6.04 20260101``.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

GOOD_ASM = r"""
bits 16
org 0
    times 0x1f1-($-$$) db 0
setup_sects:    db 1
root_flags:     dw 0
syssize:        dd 0
ram_size:       dw 0
vid_mode:       dw 0
root_dev:       dw 0
boot_flag:      dw 0xAA55
; 0x200: the Linux boot protocol header
    jmp short start
header:         db "HdrS"
version:        dw 0x020A
realmode_swtch: dd 0
start_sys_seg:  dw 0
kernel_version: dw version_string - 0x200
start:
    hlt
version_string: db "MEMDISK 6.04 20260101", 0
    times 1024-($-$$) db 0
"""

BROKEN_ASM = GOOD_ASM.replace("hlt", "this_is_not_an_instruction eax, [")

MAKEFILE = """\
all: memdisk

memdisk: memdisk.asm
\t@echo "  NASM    memdisk"
\tnasm -f bin -o $@ $<
\t@echo "  DONE    memdisk"
"""

SLOW_MAKEFILE = """\
all:
\t@echo "  starting a long step"
\tsleep 60
"""


def make_tree(root: Path, asm: str = GOOD_ASM, makefile: str = MAKEFILE,
              top: str = "syslinux-6.04") -> Path:
    """Write a release tree under ``root``; returns its top folder."""
    memdisk = root / top / "memdisk"
    memdisk.mkdir(parents=True)
    (memdisk / "Makefile").write_text(makefile)
    (memdisk / "memdisk.asm").write_text(asm)
    (root / top / "README").write_text("SYSLINUX, a test tree\n")
    return root / top


def make_tarball(tree: Path, tarball: Path) -> Path:
    """``tree`` as a gzipped release tarball with its top folder inside."""
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(tree, arcname=tree.name)
    return tarball

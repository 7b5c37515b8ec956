"""``Next: COMMAND``: after a step that leads to another, the command for it.

The recipe's order (README "The recipe it automates"): check, memdisk, the
floppy, then bundle, upload and register for the kernel, the ramdisk and the
disk. Each command that finishes a step prints the next one, with its own
paths filled in and quoted as a shell needs them, so it can be copied.

Where a command's stdout is for scripts (``memdisk find``'s path, ``Wrote
manifest``, ``Uploaded``, ``IMAGE``) the line goes to stderr, so stdout's
last line keeps its form; elsewhere it is the last line of the output.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TextIO

from wizard import PROGRAM


def command(*words: str | Path) -> str:
    """``euca-windows-wizard WORDS``, each word quoted as a shell would need it."""
    return " ".join([PROGRAM, *(shlex.quote(str(word)) for word in words)])


def eucarc_words(eucarc: str | None) -> tuple[str, ...]:
    """``--eucarc FILE`` when the operator gave one, so the next command finds it too."""
    return ("--eucarc", eucarc) if eucarc else ()


def say_next(line: str, stream: TextIO | None = None) -> None:
    """Print ``Next: LINE`` (stdout unless another stream is given)."""
    print(f"Next: {line}", file=stream or sys.stdout, flush=True)

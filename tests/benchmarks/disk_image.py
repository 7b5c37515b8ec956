"""A raw disk image with the content of a real OS disk, for benchmarks.

Binaries, libraries, text and Python/Perl sources taken from this machine's
/usr, laid out 4 KiB-aligned as a file system would, with runs of zeros
between them (unused clusters). The same seed gives the same image on the
same machine.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

# Man pages and most of /usr/share/doc are gzipped already: a Windows disk's
# compressed share is small, so they are left out (only uncompressed docs).
SOURCES = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/bin",
           "/usr/share/doc", "/usr/lib/python3", "/usr/share/perl")


def os_files() -> list[Path]:
    found: list[Path] = []
    for root in SOURCES:
        for folder, _dirs, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                if path.suffix in (".gz", ".xz", ".bz2", ".zip"):
                    continue
                if path.is_file() and not path.is_symlink():
                    found.append(path)
    found.sort()
    return found


def make_disk_image(path: Path, size: int, seed: int = 7) -> Path:
    """Write ``size`` bytes of disk-like content to ``path``."""
    rng = random.Random(seed)
    files = os_files()
    rng.shuffle(files)
    written = 0
    index = 0
    with open(path, "wb") as out:
        while written < size:
            if rng.random() < 0.08:
                data = bytes(min(rng.randrange(1, 32) * 65536, size - written))
            else:
                try:
                    data = files[index % len(files)].read_bytes()[: size - written]
                except OSError:
                    data = b""
                index += 1
                pad = -len(data) % 4096
                data += bytes(min(pad, size - written - len(data)))
            out.write(data)
            written += len(data)
    return path

"""Room for a bundle: its largest possible size, and the destination's free space."""

from __future__ import annotations

import shutil
from pathlib import Path

from wizard.bundle import tarstream
from wizard.bundle.stream import BLOCK_SIZE
from wizard.core.errors import WizardError


def max_bundle_size(name: str, size: int) -> int:
    # Worst case (incompressible data): stored blocks add 5 bytes per 64 KiB,
    # each parallel block ends with a 5-byte sync flush, plus gzip framing
    # and at most 16 bytes of padding.
    tar = tarstream.stream_size(name, size)
    return tar + 5 * (tar // 65535 + 1) + 5 * (tar // BLOCK_SIZE + 1) + 64


def check_space(destination: Path, image: Path, name: str, size: int) -> None:
    # Zero runs compress to almost nothing, so a sparse image's allocated
    # blocks bound what can be incompressible; a non-sparse image needs room
    # for its whole size in the worst case.
    allocated = min(size, image.stat().st_blocks * 512) or size
    need = max_bundle_size(name, allocated)
    free = shutil.disk_usage(destination).free
    if free < need:
        raise WizardError(
            f"the destination {destination} has {_mib(free)} free but the bundle may need "
            f"up to {_mib(need)}",
            "free some space there or choose another folder for the bundle",
            key="build.folder",
        )


def _mib(n: int) -> str:
    return f"{n / 1048576:,.0f} MiB"

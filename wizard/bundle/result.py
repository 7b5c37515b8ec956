"""A finished bundle: what ``bundle_image`` and ``finished_bundle`` return."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.bundle.manifest import Manifest

STEP = "bundle"  # the step name in events


@dataclass(frozen=True)
class Bundle:
    """A finished bundle: its manifest and part files."""

    manifest_path: Path
    manifest: Manifest
    part_paths: tuple[Path, ...]
    warnings: tuple[str, ...] = field(default=())
    reused: bool = False      # found finished in the destination, not made by this call

    def outputs(self) -> dict[str, Any]:
        """What ``StepFinished`` carries, for a session's state and event log."""
        return {"manifest": str(self.manifest_path), "parts": len(self.part_paths),
                "bundled_size": self.manifest.bundled_size, "digest": self.manifest.digest,
                "reused": self.reused}

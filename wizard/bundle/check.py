"""Is a bundle on disk whole? Its manifest, and every part it lists with its SHA-1.

The same check serves unbundling (before a byte is decrypted), a finished
bundle that a resumed build reuses instead of rebuilding (DESIGN.md: a
rebuild draws a new AES key and every part changes), and anyone who wants
to know that a bundle is intact before uploading it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from wizard.bundle.manifest import Manifest, read_manifest
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, Sink, StepProgress, Throttle, discard

_CHUNK = 1 << 20


def part_paths(manifest: Manifest, source: Path) -> list[Path]:
    """The part files the manifest lists, in index order; all must exist."""
    paths = [source / part.filename for part in manifest.parts]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise WizardError(
            f"the part {missing[0]}{more} of the bundle is missing from {source}",
            "copy every .part file listed in the manifest into that folder, or give the "
            "folder that holds them",
            key="build.parts",
        )
    return paths


def check_parts(
    manifest: Manifest, paths: list[Path], sink: Sink = discard,
    cancel: CancelFlag | None = None, step: str = "unbundle",
) -> None:
    """Every part's SHA-1 against the manifest; names the first damaged part.

    Progress goes to ``sink`` as ``step``'s bytes and parts checked.
    """
    cancel = cancel or CancelFlag()
    sizes = [path.stat().st_size for path in paths]
    total = sum(sizes)
    progress = Throttle(sink)
    done = 0
    for part, path, size in zip(manifest.parts, paths, sizes, strict=True):
        digest = hashlib.sha1()  # noqa: S324 - the format's digest
        end = done + size
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    cancel.check()
                    digest.update(chunk)
                    done += len(chunk)
                    # A part counts as checked once its last byte is read.
                    parts_done = part.index + (done >= end)
                    progress(StepProgress(step, done, total, parts_done, len(paths)))
        except OSError as exc:
            raise WizardError(f"cannot read the part {path} ({exc.strerror})",
                              "check the file's permissions") from exc
        if digest.hexdigest() != part.sha1:
            raise WizardError(
                f"the part {part.filename} is damaged: its SHA-1 digest does not match "
                "the manifest",
                "copy that part again from where the bundle was made, or bundle the image again",
            )


def check_bundle(
    manifest_path: Path, sink: Sink = discard, cancel: CancelFlag | None = None,
    step: str = "bundle",
) -> tuple[Manifest, list[Path]]:
    """Read a bundle's manifest and check every part beside it; returns both.

    Raises ``WizardError`` naming what is wrong: no manifest, not a
    manifest, a part missing, a part whose size or SHA-1 is not the
    manifest's.
    """
    manifest = read_manifest(Path(manifest_path))
    paths = part_paths(manifest, Path(manifest_path).parent)
    total = sum(path.stat().st_size for path in paths)
    if manifest.bundled_size and total != manifest.bundled_size:
        raise WizardError(
            f"the parts of {manifest.name} hold {total:,} bytes but its manifest says "
            f"{manifest.bundled_size:,}: a part was cut short or changed",
            "bundle the image again",
        )
    check_parts(manifest, paths, sink, cancel, step)
    return manifest, paths

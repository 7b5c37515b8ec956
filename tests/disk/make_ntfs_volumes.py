"""Remake tests/disk/ntfs-volumes.tar.xz from ``VOLUMES`` (maintainers only).

    python -m tests.disk.make_ntfs_volumes

Needs ntfs-3g (mkntfs, ntfscp) and, for volumes with folders, root and
/dev/fuse to mount the volume with ntfs-3g: ntfscp cannot make a folder.
The tests themselves never run these tools; they read the archive.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from tests.disk.images import ARCHIVE, NTFS_SIZE, START_SECTOR, VOLUMES, Files, files_digest


def _run(*argv: str) -> None:
    subprocess.run(list(argv), check=True, capture_output=True)


def make_volume(folder: Path, files: Files) -> Path:
    """mkntfs a partition-sized file and put ``files`` in it."""
    volume = folder / "ntfs.img"
    with open(volume, "wb") as handle:
        handle.truncate(NTFS_SIZE)
    _run("mkntfs", "-F", "-Q", "-q", "-s", "512", "-p", str(START_SECTOR), "-H", "255",
         "-S", "63", "-L", "WINXP", str(volume))
    if not any("/" in name for name in files):
        for number, (name, data) in enumerate(files.items()):
            local = folder / f"file-{number}"
            local.write_bytes(data)
            _run("ntfscp", "-q", str(volume), str(local), name)
        return volume
    mount = folder / "mnt"
    mount.mkdir()
    _run("ntfs-3g", str(volume), str(mount))
    try:
        for name, data in files.items():
            if name.endswith("/"):
                (mount / name).mkdir(parents=True, exist_ok=True)
            else:
                (mount / name).parent.mkdir(parents=True, exist_ok=True)
                (mount / name).write_bytes(data)
    finally:
        _run("umount", str(mount))
    return volume


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            tarfile.open(ARCHIVE, "w:xz", preset=9) as archive:
        for name, files in sorted(VOLUMES.items()):
            folder = Path(tmp) / name
            folder.mkdir()
            volume = make_volume(folder, files)
            _add(archive, f"{name}.sha256", files_digest(files).encode() + b"\n")
            _add(archive, f"{name}.ntfs", volume.read_bytes())
    print(f"wrote {ARCHIVE} ({ARCHIVE.stat().st_size} bytes, {len(VOLUMES)} volumes)")


if __name__ == "__main__":
    main()

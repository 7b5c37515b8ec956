"""Hostile inputs built from the format's description, and a watch on what is outside.

``crafted_bundle`` makes a bundle the way BUNDLE-FORMAT.md section 1 says
(a tar stream, ``gzip -9``, ``openssl enc -aes-128-cbc``, keys wrapped and
the manifest signed by openssl) but with whatever member name, manifest
name or signature an attacker chooses; the project's own bundler is never
asked to make something it would refuse. ``Outside`` records every file,
folder and link under a root (bytes and targets), except the folder the
operator named, so a test can show that nothing else changed.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tests.bundle.bundle_checks import ERROR_PREFIX, run
from tests.bundle.conftest import KeyFiles
from tests.bundle.os_bundle import _euca2ools_manifest


def tar_stream(member: str, data: bytes) -> bytes:
    """A one-member GNU tar stream whose member is named ``member``, verbatim."""
    info = tarfile.TarInfo(member)
    info.size = len(data)
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    head = info.tobuf(format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape")
    body = head + data + bytes(-len(data) % 512) + bytes(1024)
    return body + bytes(-len(body) % tarfile.RECORDSIZE)


@dataclass(frozen=True)
class Crafted:
    manifest: Path
    parts: tuple[Path, ...]


def crafted_bundle(folder: Path, key_files: KeyFiles, member: str, manifest_name: str,
                   data: bytes = b"crafted image bytes\n" * 64,
                   signature: str | None = None) -> Crafted:
    """A bundle of ``data`` under tar member ``member`` and manifest name
    ``manifest_name``; signed by the user's key unless ``signature`` is given."""
    folder.mkdir(parents=True)
    tar = tar_stream(member, data)
    gz = run(["gzip", "-9", "-c"], stdin=tar).stdout
    key_hex, iv_hex = os.urandom(16).hex(), os.urandom(16).hex()
    enc = run(["openssl", "enc", "-aes-128-cbc", "-K", key_hex, "-iv", iv_hex],
              stdin=gz).stdout
    part = folder / "crafted.part.00"
    part.write_bytes(enc)
    work = folder.parent / f"{folder.name}-work"
    work.mkdir()
    raw = _euca2ools_manifest(manifest_name, len(data), hashlib.sha1(tar).hexdigest(),
                              [part], key_hex, iv_hex, key_files, work)
    if signature is not None:
        start = raw.index(b"<signature>") + len(b"<signature>")
        end = raw.index(b"</signature>")
        raw = raw[:start] + signature.encode() + raw[end:]
    manifest = folder / "crafted.manifest.xml"
    manifest.write_bytes(raw)
    return Crafted(manifest, (part,))


def _entry(path: Path) -> tuple[str, bytes | str, int]:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path), 0)
    if stat.S_ISDIR(info.st_mode):
        return ("folder", "", stat.S_IMODE(info.st_mode))
    if stat.S_ISREG(info.st_mode):
        return ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return ("other", "", info.st_mode)


class Outside:
    """What is under ``root`` but not under ``allowed``: compared before and after."""

    def __init__(self, root: Path, *allowed: Path) -> None:
        self.root = root
        self.allowed = tuple(allowed)
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, tuple[str, bytes | str, int]]:
        seen: dict[str, tuple[str, bytes | str, int]] = {}
        for folder, dirs, files in os.walk(self.root):
            here = Path(folder)
            for name in [*dirs, *files]:
                path = here / name
                if any(path == a or a in path.parents for a in self.allowed):
                    continue
                seen[str(path.relative_to(self.root))] = _entry(path)
        return seen

    def assert_unchanged(self) -> None:
        after = self.snapshot()
        added = sorted(set(after) - set(self.before))
        removed = sorted(set(self.before) - set(after))
        changed = sorted(k for k in set(after) & set(self.before)
                         if after[k] != self.before[k])
        assert (added, removed, changed) == ([], [], []), (
            f"outside the named folder: added {added}, removed {removed}, changed {changed}")


def assert_refused(code: int, stderr: str, *needles: str) -> str:
    """Exit 1 and stderr exactly one line, the error with its fix; returns it."""
    assert code == 1, (code, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(ERROR_PREFIX), line
    assert ". Fix: " in line, line
    for needle in needles:
        assert needle in line, (needle, line)
    return line

"""``unbundle``: our own bundles, with either key, and bundles made by the OS tools.

Issue 3: the user's or the cloud's key, whichever unwraps; ec2-ami-tools
single-digit part names, euca2ools double quotes and whitespace, GNU sparse
tar members; the image written atomically, holes kept.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import CliResult, MadeBundle, file_sha1, run, run_cli
from tests.bundle.conftest import MIB, KeyFiles
from tests.bundle.os_bundle import OsBundle, build_with_os_tools
from wizard.bundle.unbundler import unbundle
from wizard.core.events import Event, StepFinished, StepProgress, StepStarted, StepWarning

Cli = Callable[..., CliResult]


@pytest.fixture(scope="module")
def sparse_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 MiB with 21 MiB of random data and holes between and after."""
    path = tmp_path_factory.mktemp("sparse") / "win.img"
    with open(path, "wb") as out:
        out.write(os.urandom(12 * MIB))
        out.seek(20 * MIB)
        out.write(os.urandom(9 * MIB) + b"end of data")
        out.truncate(40 * MIB)
    return path


@pytest.fixture(scope="module")
def os_bundle(sparse_image: Path, key_files: KeyFiles,
              tmp_path_factory: pytest.TempPathFactory) -> OsBundle:
    return build_with_os_tools(tmp_path_factory.mktemp("os-bundle") / "b", sparse_image,
                               key_files)


def _allocated(path: Path) -> int:
    return os.stat(path).st_blocks * 512


def test_os_tools_bundle_is_what_the_test_meant(os_bundle: OsBundle) -> None:
    """The fixture itself: single-digit names, a sparse member, double quotes."""
    assert [p.name for p in os_bundle.parts] == ["win.img.part.0", "win.img.part.1",
                                                 "win.img.part.2"]
    assert os_bundle.parts[0].stat().st_size == 10 * MIB
    raw = os_bundle.manifest.read_bytes()
    assert b"<part index=\"0\">\n" in raw
    assert b"'" not in raw


@pytest.mark.parametrize("who", ["user", "cloud"])
def test_unbundle_os_tools_bundle(cli: Cli, os_bundle: OsBundle, key_files: KeyFiles,
                                  tmp_path: Path, who: str) -> None:
    key = key_files.user_key if who == "user" else key_files.cloud_key
    out = tmp_path / "out"
    out.mkdir()
    result = cli("unbundle", "-m", os_bundle.manifest, "-k", key, "-d", out)
    assert result.code == 0, result.err
    assert result.out.strip().splitlines()[-1] == f"Wrote image {out / 'win.img'}"
    assert os.listdir(out) == ["win.img"]
    image = out / "win.img"
    assert image.stat().st_size == os_bundle.image.stat().st_size
    run(["cmp", str(os_bundle.image), str(image)])
    # The holes stay holes: far less allocated than the 40 MiB size.
    assert _allocated(image) < 25 * MIB
    if who == "user":
        assert "signature verifies" in result.err
    assert "warning" not in result.err


def test_unbundle_several_gzip_members(key_files: KeyFiles, tmp_path: Path) -> None:
    image = tmp_path / "src" / "memdisk"
    image.parent.mkdir()
    image.write_bytes(os.urandom(300_000) + b"syslinux" * 50_000)
    made = build_with_os_tools(tmp_path / "b", image, key_files, gzip_members=3)
    out = tmp_path / "out"
    out.mkdir()
    result = unbundle(made.manifest, key_files.user_key, destination=out)
    assert result.opened_with == "user"
    assert result.signature_checked
    assert (out / "memdisk").read_bytes() == image.read_bytes()


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("who", ["user", "cloud"])
def test_unbundle_own_disk_bundle(disk_bundle: MadeBundle, key_files: KeyFiles,
                                  tmp_path: Path, who: str) -> None:
    key = key_files.user_key if who == "user" else key_files.cloud_key
    events: list[Event] = []
    result = unbundle(disk_bundle.manifest_path, key, destination=tmp_path, sink=events.append)
    assert result.opened_with == who
    assert result.signature_checked is (who == "user")
    # The tar member is named by the prefix (windows-xp), not the source file's name.
    assert result.image == tmp_path / "windows-xp"
    assert _sha1(result.image) == _sha1(disk_bundle.image)
    assert _allocated(result.image) < disk_bundle.image.stat().st_size - 10 * MIB
    assert sorted(os.listdir(tmp_path)) == ["windows-xp"]

    assert isinstance(events[0], StepStarted)
    assert isinstance(events[-1], StepFinished)
    assert events[-1].outputs["image"] == str(result.image)
    # Two phases: every part checked first, then the image rebuilt.
    starts = [i for i, e in enumerate(events) if isinstance(e, StepStarted)]
    assert len(starts) == 2
    checking = [e for e in events[: starts[1]] if isinstance(e, StepProgress)]
    assert checking[-1].done == checking[-1].total == sum(
        (disk_bundle.manifest_path.parent / p.filename).stat().st_size
        for p in result.manifest.parts)
    progress = [e for e in events[starts[1]:] if isinstance(e, StepProgress)]
    assert progress
    done = [e.done for e in progress]
    assert done == sorted(done)
    assert done[-1] == progress[-1].total == disk_bundle.image.stat().st_size
    assert not any(isinstance(e, StepWarning) for e in events)


def test_unbundle_own_big_bundle_with_the_cloud_key(cli: Cli, big_bundle: MadeBundle,
                                                    key_files: KeyFiles, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI, the key from EC2_PRIVATE_KEY, the parts given with -s, the current folder."""
    monkeypatch.setenv("EC2_PRIVATE_KEY", str(key_files.cloud_key))
    manifest = tmp_path / "m" / "big.img.manifest.xml"
    manifest.parent.mkdir()
    manifest.write_bytes(big_bundle.manifest_path.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = cli("unbundle", "-m", manifest, "-s", big_bundle.folder)
    assert result.code == 0, result.err
    assert result.out.strip().splitlines()[-1] == f"Wrote image {tmp_path / 'big.img'}"
    assert file_sha1(tmp_path / "big.img") == file_sha1(big_bundle.image)


def test_unbundle_writes_atomically(disk_bundle: MadeBundle, key_files: KeyFiles,
                                    tmp_path: Path) -> None:
    """While the image is written only a temporary file exists; the final name
    appears when every check has passed."""
    seen: list[list[str]] = []
    started: list[StepStarted] = []

    def sink(event: Event) -> None:
        if isinstance(event, StepStarted):
            started.append(event)
        # The second phase writes the image (the first only checks the parts).
        if (len(started) == 2 and isinstance(event, StepProgress)
                and event.done < (event.total or 0)):
            seen.append(sorted(os.listdir(tmp_path)))

    result = unbundle(disk_bundle.manifest_path, key_files.user_key, destination=tmp_path,
                      sink=sink)
    assert seen, "no progress event came while writing"
    for names in seen:
        assert "windows-xp" not in names
        # Hidden, and under a name nobody can guess (so nobody can plant a link
        # there): two unbundles into one folder do not mix either.
        assert len(names) == 1 and re.fullmatch(r"\.windows-xp\.[0-9a-f]{16}\.unbundling",
                                                names[0]), names
    assert os.listdir(tmp_path) == [result.image.name]


def test_existing_image_is_replaced_only_when_done(disk_bundle: MadeBundle,
                                                   key_files: KeyFiles,
                                                   copy_bundle: Callable[[MadeBundle], Path],
                                                   tmp_path: Path) -> None:
    """A failed unbundle leaves an older file of the same name untouched (even
    with --force, which lets a finished image replace it)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "windows-xp").write_bytes(b"the previous image")
    manifest = copy_bundle(disk_bundle)
    last = sorted(manifest.parent.glob("windows-xp.part.*"))[-1]
    data = bytearray(last.read_bytes())
    data[-100] ^= 0xFF
    last.write_bytes(bytes(data))
    with pytest.raises(Exception, match="digest does not match"):
        unbundle(manifest, key_files.user_key, destination=out, force=True)
    assert os.listdir(out) == ["windows-xp"]
    assert (out / "windows-xp").read_bytes() == b"the previous image"


def test_edited_manifest_draws_a_signature_warning(cli: Cli, disk_bundle: MadeBundle,
                                                   key_files: KeyFiles,
                                                   copy_bundle: Callable[[MadeBundle], Path],
                                                   tmp_path: Path) -> None:
    manifest = copy_bundle(disk_bundle)
    raw = manifest.read_bytes()
    manifest.write_bytes(raw.replace(b"<architecture>i386<", b"<architecture>x86_64<"))
    out = tmp_path / "out"
    out.mkdir()
    result = cli("unbundle", "-m", manifest, "-k", key_files.user_key, "-d", out)
    assert result.code == 0, result.err
    assert re.search(r"warning: .*signature does not verify", result.err)
    assert "signature verifies with" not in result.err


def test_unbundle_plain_member_as_a_subprocess(key_files: KeyFiles, tmp_path: Path) -> None:
    """``python -m wizard unbundle`` on an OS-tools bundle with a plain (non-sparse) member."""
    image = tmp_path / "src" / "plain.img"
    image.parent.mkdir()
    image.write_bytes(os.urandom(MIB))
    made = build_with_os_tools(tmp_path / "b", image, key_files)
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("unbundle", "-m", str(made.manifest), "-k", str(key_files.cloud_key),
                     "-d", str(out), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"Wrote image {out / 'plain.img'}"
    assert (out / "plain.img").read_bytes() == image.read_bytes()


def test_unbundle_unpadded_part_names_past_ten(key_files: KeyFiles, tmp_path: Path) -> None:
    """.part.10 sorts before .part.2: the manifest's indexes give the order, not names."""
    image = tmp_path / "src" / "many.img"
    image.parent.mkdir()
    image.write_bytes(os.urandom(12 * MIB + 5))
    made = build_with_os_tools(tmp_path / "b", image, key_files, part_bytes="1m")
    names = [p.name for p in made.parts]
    assert len(names) == 13
    assert sorted(names) != names  # the lexical order is wrong on purpose
    out = tmp_path / "out"
    out.mkdir()
    result = unbundle(made.manifest, key_files.user_key, destination=out)
    assert result.signature_checked
    assert (out / "many.img").read_bytes() == image.read_bytes()

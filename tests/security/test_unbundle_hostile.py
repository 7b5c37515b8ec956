"""unbundle on hostile bundles: nothing lands outside ``-d`` (issue 9, items 1, 2, 7).

Crafted bundles (built from BUNDLE-FORMAT.md with openssl and gzip, or made
by the project's bundler and then edited) name their image ``x/``, ``.``,
``..``, an absolute path or a path with ``..``, in the tar member or the
manifest, with good and bad signatures; links are planted under the
temporary and the final names; the final name is taken; ``-d`` is missing;
the manifest is huge. Every CLI run is a real ``python -m wizard``
subprocess: exit 1 and one stderr line with the fix, and a victim file and
the listing of everything outside ``-d`` unchanged.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import (
    CREDENTIAL_VARS,
    ROOT,
    MadeBundle,
    assert_one_error_line,
    run_cli,
)
from tests.bundle.conftest import KeyFiles, make_bundle
from tests.security.crafted import Outside, assert_refused, crafted_bundle
from wizard.bundle.keys import BundleKeys
from wizard.bundle.manifest import (
    MAX_ATTRIBUTES,
    MAX_MANIFEST_BYTES,
    MAX_PARTS,
    MAX_TAGS,
    check_bounds,
    read_bounded,
)
from wizard.bundle.unbundler import unbundle
from wizard.core.errors import WizardError

VICTIM_BYTES = b"export PATH=/usr/bin  # the operator's own file\n"
IMAGE = b"crafted image bytes\n" * 64


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "home" / ".bashrc"
    path.parent.mkdir()
    path.write_bytes(VICTIM_BYTES)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "home" / "out"
    folder.mkdir(parents=True)
    return folder


def _unbundle_cli(manifest: Path, key: Path, out: Path, *extra: str,
                  home: Path) -> tuple[int, str, str]:
    # Run from HOME, outside -d: a name taken relative to the current folder
    # would land there, where the listing is watched.
    result = run_cli("unbundle", "-m", str(manifest), "-k", str(key), "-d", str(out), *extra,
                     home=home, cwd=home)
    return result.returncode, result.stdout, result.stderr


# Member names and manifest names an attacker would write; "{victim}" is the
# victim's absolute path, "{up}" the '..' steps from -d to it.
HOSTILE = [
    ("x/", "{victim}"),
    (".", "{victim}"),
    ("..", "{victim}"),
    ("{victim}", "{victim}"),
    ("x/", "{up}"),
    (".", "{up}"),
    ("{up}", "{up}"),
    ("sub/../../.bashrc", "crafted"),
    ("x/", "crafted"),
    ("..", "crafted"),
    ("/", "crafted"),
    ("", "crafted"),
    ("tab\there", "crafted"),
    ("esc\x1b]0;owned\x07", "crafted"),
    ("n" * 300, "crafted"),
    ("crafted.img", "{victim}"),
    ("crafted.img", "{up}"),
    ("crafted.img", "."),
]


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "bad-signature"])
@pytest.mark.parametrize(("member", "name"), HOSTILE)
def test_hostile_names_are_refused_and_nothing_outside_changes(
        key_files: KeyFiles, tmp_path: Path, victim: Path, out: Path,
        member: str, name: str, signed: bool) -> None:
    up = os.path.relpath(victim, out)
    member = member.format(victim=victim, up=up)
    name = name.format(victim=victim, up=up)
    made = crafted_bundle(tmp_path / "bundle", key_files, member, name, IMAGE,
                          signature=None if signed else "00" * 256)
    outside = Outside(tmp_path, out)
    code, stdout, stderr = _unbundle_cli(made.manifest, key_files.user_key, out,
                                         home=tmp_path / "home")
    assert_refused(code, stderr, "names its image", "not a plain file name")
    assert stdout == ""
    assert "\x1b" not in stderr and "\t" not in stderr
    assert victim.read_bytes() == VICTIM_BYTES
    assert os.listdir(out) == []
    outside.assert_unchanged()


def test_a_project_bundle_edited_to_name_an_absolute_path(
        key_files: KeyFiles, bundle_keys: BundleKeys,
        tmp_path: Path, victim: Path, out: Path) -> None:
    """A bundle of this tool whose manifest was edited (its signature then fails)."""
    image = tmp_path / "src" / "xp.img"
    image.parent.mkdir()
    image.write_bytes(IMAGE)
    made = make_bundle(image, tmp_path / "bundle", bundle_keys)
    raw = made.manifest_path.read_bytes()
    made.manifest_path.write_bytes(raw.replace(b"<name>xp.img</name>",
                                               f"<name>{victim}</name>".encode()))
    outside = Outside(tmp_path, out)
    code, _, stderr = _unbundle_cli(made.manifest_path, key_files.user_key, out,
                                    home=tmp_path / "home")
    assert_refused(code, stderr, "names its image", str(victim))
    assert victim.read_bytes() == VICTIM_BYTES
    assert os.listdir(out) == []
    outside.assert_unchanged()


def test_a_bad_signature_alone_is_a_warning_and_the_image_lands_in_d(
        key_files: KeyFiles, tmp_path: Path, out: Path) -> None:
    """As documented: a signature that does not verify warns; the output stays in -d."""
    made = crafted_bundle(tmp_path / "bundle", key_files, "crafted.img", "crafted",
                          IMAGE, signature="00" * 256)
    outside = Outside(tmp_path, out)
    code, stdout, stderr = _unbundle_cli(made.manifest, key_files.user_key, out,
                                         home=tmp_path / "home")
    assert code == 0, stderr
    assert "signature does not verify" in stderr
    assert stdout.strip() == f"Wrote image {out / 'crafted.img'}"
    assert (out / "crafted.img").read_bytes() == IMAGE
    assert os.listdir(out) == ["crafted.img"]
    outside.assert_unchanged()


def test_a_link_planted_under_the_old_temporary_name_is_not_followed(
        key_files: KeyFiles, tmp_path: Path, victim: Path, out: Path) -> None:
    """The temporary name was '.NAME.PID.unbundling', opened with O_TRUNC: a link
    planted there redirected the write. In-process, so the pid is known."""
    made = crafted_bundle(tmp_path / "bundle", key_files, "crafted.img", "crafted", IMAGE)
    planted = out / f".crafted.img.{os.getpid()}.unbundling"
    planted.symlink_to(victim)
    outside = Outside(tmp_path, out)
    result = unbundle(made.manifest, key_files.user_key, destination=out)
    assert result.image == out / "crafted.img"
    assert (out / "crafted.img").read_bytes() == IMAGE
    assert victim.read_bytes() == VICTIM_BYTES
    assert planted.is_symlink() and os.readlink(planted) == str(victim)
    assert sorted(os.listdir(out)) == sorted(["crafted.img", planted.name])
    outside.assert_unchanged()


def test_a_link_planted_under_the_final_name_is_refused_then_replaced_with_force(
        key_files: KeyFiles, tmp_path: Path, victim: Path, out: Path) -> None:
    made = crafted_bundle(tmp_path / "bundle", key_files, "crafted.img", "crafted", IMAGE)
    planted = out / "crafted.img"
    planted.symlink_to(victim)
    outside = Outside(tmp_path, out)
    code, stdout, stderr = _unbundle_cli(made.manifest, key_files.user_key, out,
                                         home=tmp_path / "home")
    assert_refused(code, stderr, "already exists", "--force")
    assert stdout == ""
    assert planted.is_symlink() and os.listdir(out) == ["crafted.img"]
    assert victim.read_bytes() == VICTIM_BYTES
    # --force replaces the link itself, never the file it points at.
    code, stdout, stderr = _unbundle_cli(made.manifest, key_files.user_key, out, "--force",
                                         home=tmp_path / "home")
    assert code == 0, stderr
    assert not planted.is_symlink()
    assert planted.read_bytes() == IMAGE
    assert victim.read_bytes() == VICTIM_BYTES
    assert os.listdir(out) == ["crafted.img"]
    outside.assert_unchanged()


def test_an_existing_image_is_refused_unless_force(
        key_files: KeyFiles, tmp_path: Path, out: Path) -> None:
    made = crafted_bundle(tmp_path / "bundle", key_files, "crafted.img", "crafted", IMAGE)
    existing = out / "crafted.img"
    existing.write_bytes(b"yesterday's image")
    outside = Outside(tmp_path, out)
    code, stdout, stderr = _unbundle_cli(made.manifest, key_files.user_key, out,
                                         home=tmp_path / "home")
    assert_refused(code, stderr, str(existing), "already exists", "--force")
    assert existing.read_bytes() == b"yesterday's image"
    assert os.listdir(out) == ["crafted.img"]
    code, stdout, stderr = _unbundle_cli(made.manifest, key_files.user_key, out, "--force",
                                         home=tmp_path / "home")
    assert code == 0, stderr
    assert stdout.strip() == f"Wrote image {existing}"
    assert existing.read_bytes() == IMAGE
    assert os.listdir(out) == ["crafted.img"]
    outside.assert_unchanged()


def test_a_folder_under_the_final_name_is_refused_even_with_force(
        key_files: KeyFiles, tmp_path: Path, out: Path) -> None:
    made = crafted_bundle(tmp_path / "bundle", key_files, "crafted.img", "crafted", IMAGE)
    (out / "crafted.img").mkdir()
    (out / "crafted.img" / "keep").write_bytes(b"keep")
    outside = Outside(tmp_path, out)
    code, _, stderr = _unbundle_cli(made.manifest, key_files.user_key, out, "--force",
                                    home=tmp_path / "home")
    assert_refused(code, stderr, "is a folder")
    assert (out / "crafted.img" / "keep").read_bytes() == b"keep"
    assert os.listdir(out) == ["crafted.img"]
    outside.assert_unchanged()


def test_a_missing_destination_is_created_0700_at_every_level(
        key_files: KeyFiles, tmp_path: Path) -> None:
    made = crafted_bundle(tmp_path / "bundle", key_files, "crafted.img", "crafted", IMAGE)
    base = tmp_path / "home"
    base.mkdir()
    dest = base / "new" / "deeper"
    outside = Outside(tmp_path, base / "new")
    code, stdout, stderr = _unbundle_cli(made.manifest, key_files.user_key, dest, home=base)
    assert code == 0, stderr
    assert stdout.strip() == f"Wrote image {dest / 'crafted.img'}"
    assert (dest / "crafted.img").read_bytes() == IMAGE
    for level in (base / "new", dest):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700, level
    outside.assert_unchanged()


# --- item 7: a huge manifest is refused before it is parsed ------------------

_HEAD = b"<?xml version='1.0'?><manifest><version>2007-10-10</version><image><name>x</name>"
# Address space for the whole CLI: room for Python, its imports and one bounded
# read of the manifest, not for reading a 2 GiB manifest whole.
_ADDRESS_SPACE = 512 * 1024 * 1024


def _sparse_manifest(path: Path, size: int) -> Path:
    with open(path, "wb") as handle:
        handle.write(_HEAD)
        handle.truncate(size)
    return path


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_ADDRESS_SPACE, _ADDRESS_SPACE))


def _cli_limited(*args: str, home: Path, env: dict[str, str] | None = None,
                 ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    full.update({"PYTHONPATH": str(ROOT), "HOME": str(home), **(env or {})})
    return subprocess.run([sys.executable, "-m", "wizard", *args], capture_output=True,
                          text=True, env=full, cwd=home, timeout=120, check=False,
                          preexec_fn=_limited)


def test_unbundle_refuses_a_2_gib_manifest_reading_only_its_bound(
        key_files: KeyFiles, tmp_path: Path, out: Path) -> None:
    manifest = _sparse_manifest(tmp_path / "huge.manifest.xml", 2 * 1024**3)
    outside = Outside(tmp_path, out)
    result = _cli_limited("unbundle", "-m", str(manifest), "-k", str(key_files.user_key),
                          "-d", str(out), home=tmp_path / "home")
    assert_refused(result.returncode, result.stderr, "larger than 128 MiB", "(-m)")
    assert os.listdir(out) == []
    outside.assert_unchanged()


def test_upload_refuses_a_2_gib_manifest_before_anything_is_sent(
        tmp_path: Path, out: Path) -> None:
    manifest = _sparse_manifest(tmp_path / "huge.manifest.xml", 2 * 1024**3)
    # Nothing listens there: a request sent would fail with another message.
    env = {"EC2_ACCESS_KEY": "AKIDEXAMPLE", "EC2_SECRET_KEY": "not-a-real-secret",
           "S3_URL": "http://127.0.0.1:9/services/objectstorage"}
    result = _cli_limited("upload", "-m", str(manifest), "-b", "bucket", home=tmp_path / "home",
                          env=env)
    assert_refused(result.returncode, result.stderr, "larger than 128 MiB")


def test_a_manifest_is_read_no_further_than_its_bound(tmp_path: Path) -> None:
    """What register does with a store's answer: a bounded read of the stream."""
    manifest = _sparse_manifest(tmp_path / "huge.manifest.xml", 2 * 1024**3)
    with open(manifest, "rb") as stream:
        with pytest.raises(WizardError) as caught:
            read_bounded(stream, "bucket/huge.manifest.xml")
        assert stream.tell() == MAX_MANIFEST_BYTES + 1
    assert "larger than 128 MiB" in caught.value.one_line()
    assert caught.value.key == "build.manifest"


def _many(tag: bytes, count: int) -> bytes:
    return _HEAD + tag * count + b"</image></manifest>"


@pytest.mark.parametrize(("body", "needle"), [
    (lambda: _many(b"<part index='0'/>", MAX_PARTS + 1), f"{MAX_PARTS + 1} parts"),
    (lambda: _many(b"<a/>", MAX_TAGS + 1), "tags, more than"),
    (lambda: _many(b"<a b='' c=''/>", MAX_ATTRIBUTES // 2 + 1), "attributes, more than"),
], ids=["parts", "tags", "attributes"])
def test_a_manifest_past_its_part_tag_or_attribute_bound_is_refused_before_parsing(
        key_files: KeyFiles, tmp_path: Path, out: Path, body: Callable[[], bytes],
        needle: str) -> None:
    manifest = tmp_path / "many.manifest.xml"
    manifest.write_bytes(body())
    assert manifest.stat().st_size <= MAX_MANIFEST_BYTES
    outside = Outside(tmp_path, out)
    result = _cli_limited("unbundle", "-m", str(manifest), "-k", str(key_files.user_key),
                          "-d", str(out), home=tmp_path / "home")
    assert_refused(result.returncode, result.stderr, needle)
    outside.assert_unchanged()


def test_a_manifest_of_a_2_tib_image_in_10_mib_parts_is_within_the_bounds() -> None:
    """209,716 parts with 243-character names: under every bound, with room."""
    parts = 2 * 1024**4 // (10 * 1024**2) + 1
    name = "w" * 243
    entry = ("\n      <part index=\"{i}\">\n        <filename>" + name + ".part.{i:06d}"
             "</filename>\n        <digest algorithm=\"SHA1\">" + "a" * 40 + "</digest>\n"
             "      </part>")
    data = (_HEAD + b"<parts count='%d'>" % parts
            + "".join(entry.format(i=i) for i in range(parts)).encode()
            + b"</parts></image></manifest>")
    check_bounds(data, "a 2 TiB bundle")  # raises if any bound is too tight
    assert len(data) < MAX_MANIFEST_BYTES * 0.7


# --- interrupts: nothing half-written is left --------------------------------

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_an_interrupt_while_the_image_is_written_leaves_nothing(
        big_bundle: MadeBundle, key_files: KeyFiles, tmp_path: Path,
        signum: signal.Signals) -> None:
    """Stopped while the temporary file grows: it is removed, no image appears,
    and the -d this run created is removed too."""
    home = tmp_path / "home"
    home.mkdir()
    dest = home / "new" / "out"
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env.update({"PYTHONPATH": str(ROOT), "HOME": str(home)})
    outside = Outside(tmp_path, home / "new")
    process = subprocess.Popen(
        [sys.executable, "-m", "wizard", "unbundle", "-m", str(big_bundle.manifest_path),
         "-k", str(key_files.user_key), "-d", str(dest)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=home)
    try:
        while process.poll() is None:
            with contextlib.suppress(FileNotFoundError):
                if any(name.endswith(".unbundling") for name in os.listdir(dest)):
                    # Held still while the signal is sent: it lands mid-write.
                    process.send_signal(signal.SIGSTOP)
                    break
            time.sleep(0.001)
        assert process.poll() is None, "the unbundle finished before it could be stopped"
        process.send_signal(signum)
        process.send_signal(signal.SIGCONT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Progress came first (the run had started): the error is the one last line.
    assert process.returncode == 1, stderr
    line = assert_one_error_line(stderr, "interrupted", ". Fix: ")
    assert stderr.splitlines()[-1] == line
    assert stdout == ""
    assert not (home / "new").exists()
    outside.assert_unchanged()

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

import os
import stat
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import run_cli
from tests.bundle.conftest import KeyFiles, make_bundle
from tests.security.crafted import Outside, assert_refused, crafted_bundle
from wizard.bundle.keys import BundleKeys
from wizard.bundle.unbundler import unbundle

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

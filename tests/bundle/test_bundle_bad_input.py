"""Every bad input of issue 3 for ``bundle``: one error line, exit 1, nothing left.

Each case runs with a destination that does not exist yet (it must not be
created) and with an existing empty one (it must stay empty). The full disk
is a real small tmpfs: the up-front space check, then ENOSPC in mid-write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.bundle.bundle_checks import ROOT, CliResult, assert_one_error_line, text_of
from tests.bundle.conftest import ACCOUNT, MIB, KeyFiles, make_bundle
from tests.disk.oddpaths import without_dac_override
from wizard.bundle.bundler import BundleRequest, bundle_image
from wizard.bundle.keys import BundleKeys, load_private_key
from wizard.core.errors import WizardError
from wizard.core.events import Event, StepProgress

Cli = Callable[..., CliResult]


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "disk.img"
    path.write_bytes(os.urandom(64 * 1024) + bytes(64 * 1024))
    return path


@pytest.fixture
def junk(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("this is not PEM\n" * 20)
    return path


def _setup(case: str, tmp_path: Path, junk: Path,
           key_files: KeyFiles) -> tuple[dict[str, str], tuple[str, ...]]:
    """Flag overrides for one bad-input case, and what its error line must say."""
    if case == "missing image":
        return {"-i": str(tmp_path / "nope.img")}, ("nope.img", "does not exist")
    if case == "folder as image":
        folder = tmp_path / "adir"
        folder.mkdir()
        return {"-i": str(folder)}, ("adir", "is a folder")
    if case == "empty image":
        empty = tmp_path / "empty.img"
        empty.touch()
        return {"-i": str(empty)}, ("empty.img", "is empty")
    if case == "fifo as image":
        fifo = tmp_path / "pipe.img"
        os.mkfifo(fifo)
        return {"-i": str(fifo)}, ("pipe.img", "not a regular file")
    if case == "character device as image":
        return {"-i": "/dev/null"}, ("/dev/null", "not a regular file")
    if case == "key does not match certificate":
        return {"-k": str(key_files.other_key)}, ("other-pk.pem", "do not match")
    if case == "certificate is not PEM":
        return {"-c": str(junk)}, ("notes.txt", "is not a PEM certificate")
    if case == "certificate is a key":
        return {"-c": str(key_files.user_key)}, ("is not a PEM certificate",)
    if case == "cloud certificate is not PEM":
        return {"--ec2cert": str(junk)}, ("cloud certificate", "is not a PEM certificate")
    if case == "key is not PEM":
        return {"-k": str(junk)}, ("notes.txt", "is not a PEM private key")
    if case == "key is a certificate":
        return {"-k": str(key_files.user_cert)}, ("is not a PEM private key",)
    if case == "missing key":
        return {"-k": str(tmp_path / "gone-pk.pem")}, ("gone-pk.pem", "does not exist")
    if case == "key with a passphrase":
        locked = tmp_path / "locked-pk.pem"
        key = load_private_key(key_files.user_key)
        locked.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret")))
        return {"-k": str(locked)}, ("locked-pk.pem", "passphrase")
    if case.startswith("account "):
        return {"-u": case.split(" ", 1)[1]}, ("12 digits",)
    if case == "unknown architecture":
        return {"-r": "sparc"}, ("unknown architecture", "sparc")
    if case == "prefix with a slash":
        return {"-p": "../escape"}, ("../escape", "slash", "-p")
    if case == "prefix with a line break":
        # It would break the one-line "Wrote manifest PATH"; other control
        # characters make a manifest no XML parser reads.
        return {"-p": "two\nlines"}, ("control character", "-p")
    if case == "prefix with a control character":
        return {"-p": "ctl\x01.img"}, ("control character", "-p")
    if case == "image name not UTF-8":
        odd = tmp_path / os.fsdecode(b"disk-\xff.img")
        odd.write_bytes(b"\x01" * 4096)
        return {"-i": str(odd)}, ("image's file name", "not valid UTF-8", "-p")
    if case == "image name too long":
        long_name = tmp_path / ("w" * 230 + ".img")
        long_name.write_bytes(b"\x01" * 4096)
        return {"-i": str(long_name)}, ("image's file name", "234 bytes long", "-p")
    raise AssertionError(case)


CASES = [
    "missing image", "folder as image", "empty image", "fifo as image",
    "character device as image", "key does not match certificate", "certificate is not PEM",
    "certificate is a key", "cloud certificate is not PEM", "key is not PEM",
    "key is a certificate", "missing key", "key with a passphrase", "account 12345",
    "account 1234567890123", "account 12345678901x", "account 1234-5678-901",
    "unknown architecture", "prefix with a slash", "prefix with a line break",
    "prefix with a control character", "image name not UTF-8", "image name too long",
]


@pytest.mark.parametrize("dest_exists", [False, True], ids=["new-dest", "empty-dest"])
@pytest.mark.parametrize("case", CASES)
def test_bad_input(cli: Cli, key_files: KeyFiles, image: Path, junk: Path, tmp_path: Path,
                   case: str, dest_exists: bool) -> None:
    dest = tmp_path / "out"
    if dest_exists:
        dest.mkdir()
    flags = {"-i": str(image), "-d": str(dest), "-c": str(key_files.user_cert),
             "-k": str(key_files.user_key), "-u": ACCOUNT,
             "--ec2cert": str(key_files.cloud_cert)}
    overrides, needles = _setup(case, tmp_path, junk, key_files)
    flags.update(overrides)
    result = cli("bundle", *[x for kv in flags.items() for x in kv])
    assert result.code == 1, result.err
    assert_one_error_line(result.err, *needles)
    assert result.err.count("\n") == 1, result.err  # the error line and nothing else
    assert result.out == ""
    if dest_exists:
        assert os.listdir(dest) == []
    else:
        assert not dest.exists()
    assert not (tmp_path / "escape.manifest.xml").exists()


def test_dashed_account_is_accepted(cli: Cli, key_files: KeyFiles, image: Path,
                                    tmp_path: Path) -> None:
    result = cli("bundle", "-i", image, "-d", tmp_path / "out", "-c", key_files.user_cert,
                 "-k", key_files.user_key, "-u", "1234-5678-9012",
                 "--ec2cert", key_files.cloud_cert)
    assert result.code == 0, result.err
    assert text_of(result.manifest().read_bytes(), "user") == "123456789012"


def test_engine_refuses_a_bad_account(bundle_keys: BundleKeys, image: Path,
                                      tmp_path: Path) -> None:
    """The engine checks the account itself, whatever the caller passed."""
    request = BundleRequest(image, tmp_path / "out", bundle_keys, "1234-5678-90")
    with pytest.raises(WizardError, match="12-digit"):
        bundle_image(request)
    assert not (tmp_path / "out").exists()
    made = make_bundle(image, tmp_path / "ok", bundle_keys)  # ACCOUNT without dashes works
    assert made.bundle.manifest.user == ACCOUNT


def test_nested_new_destination_is_removed_entirely(
    bundle_keys: BundleKeys, image: Path, tmp_path: Path
) -> None:
    """A failure after the destination was made (here: cancelled at once) leaves
    no folder behind, not even the parents that -d created."""
    from wizard.core.events import CancelFlag

    flag = CancelFlag()
    flag.cancel()
    request = BundleRequest(image, tmp_path / "new" / "deeper" / "out", bundle_keys, ACCOUNT)
    with pytest.raises(WizardError):
        bundle_image(request, cancel=flag)
    assert not (tmp_path / "new").exists()


def test_expired_certificate_warns_and_bundles(cli: Cli, key_files: KeyFiles, image: Path,
                                               tmp_path: Path) -> None:
    result = cli("bundle", "-i", image, "-d", tmp_path / "out", "-c", key_files.expired_cert,
                 "-k", key_files.user_key, "-u", ACCOUNT, "--ec2cert", key_files.cloud_cert)
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.err
    assert "expired" in warnings[0]
    assert "2020-01-02" in warnings[0]
    assert result.manifest().is_file()


def test_current_certificate_draws_no_warning(cli: Cli, key_flags: tuple[str, ...],
                                              image: Path, tmp_path: Path) -> None:
    result = cli("bundle", "-i", image, "-d", tmp_path / "out", *key_flags)
    assert result.code == 0, result.err
    assert "warning" not in result.err
    assert "expired" not in result.err


# --- unreadable files -------------------------------------------------------

def _without_dac_override() -> list[str]:
    """A command prefix that runs a process whose permission bits count, even as root."""
    return without_dac_override()


@pytest.mark.parametrize("what", ["image", "key"])
def test_unreadable_file(key_files: KeyFiles, image: Path, tmp_path: Path,
                         what: str) -> None:
    key = tmp_path / "user-pk.pem"
    shutil.copy(key_files.user_key, key)
    target = image if what == "image" else key
    target.chmod(0)
    dest = tmp_path / "out"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EC2_", "EUCA"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home))
    result = subprocess.run(
        [*_without_dac_override(), sys.executable, "-m", "wizard", "bundle", "-i", str(image),
         "-d", str(dest), "-c", str(key_files.user_cert), "-k", str(key), "-u", ACCOUNT,
         "--ec2cert", str(key_files.cloud_cert)],
        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 1, result.stderr
    assert_one_error_line(result.stderr, "cannot read", target.name)
    assert not dest.exists()


# --- a destination without room ---------------------------------------------

def test_no_room_is_refused_up_front(cli: Cli, key_flags: tuple[str, ...],
                                     small_fs: Callable[[str], Path], tmp_path: Path) -> None:
    fs = small_fs("4m")
    image = tmp_path / "big.raw"
    image.write_bytes(os.urandom(8 * MIB))
    dest = fs / "bundle"
    result = cli("bundle", "-i", image, "-d", dest, *key_flags)
    assert result.code == 1
    assert_one_error_line(result.err, str(dest), "free", "may need")
    assert "Bundling" not in result.err  # refused before any part was written
    assert os.listdir(fs) == []


def test_sparse_image_needs_room_only_for_its_data(
    cli: Cli, key_flags: tuple[str, ...], small_fs: Callable[[str], Path], tmp_path: Path
) -> None:
    """The check counts allocated blocks: 256 MiB with 1 MiB of data fits in 8 MiB."""
    fs = small_fs("8m")
    image = tmp_path / "sparse.raw"
    with open(image, "wb") as out:
        out.seek(100 * MIB)
        out.write(os.urandom(MIB))
        out.truncate(256 * MIB)
    result = cli("bundle", "-i", image, "-d", fs / "bundle", *key_flags)
    assert result.code == 0, result.err
    assert result.manifest().parent == fs / "bundle"


def _fill(folder: Path) -> None:
    """Fill the file system to the last byte; never raises (unbuffered writes)."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (MIB, 4096, 512, 1):
            chunk = bytes(size)
            with contextlib.suppress(OSError):
                while os.write(fd, chunk):
                    pass
    finally:
        os.close(fd)


@pytest.mark.parametrize("dest_exists", [False, True], ids=["new-dest", "existing-dest"])
def test_running_out_of_space_removes_the_partial_bundle(
    bundle_keys: BundleKeys, medium_image: Path, small_fs: Callable[[str], Path],
    dest_exists: bool,
) -> None:
    fs = small_fs("64m")
    dest = fs if dest_exists else fs / "bundle"
    filled: list[list[str]] = []

    def sink(event: Event) -> None:
        # At the first progress event the first parts are on disk: fill the rest.
        if isinstance(event, StepProgress) and not filled:
            filled.append(sorted(p.name for p in dest.glob("medium.img.part.*")))
            _fill(fs)
            filled.append([])  # the sink returned: the bundler met ENOSPC itself

    request = BundleRequest(medium_image, dest, bundle_keys, ACCOUNT)
    with pytest.raises(WizardError) as caught:
        bundle_image(request, sink)
    assert len(filled) == 2
    assert filled[0], "the space ran out before any part was written"
    assert len(filled[0]) < 4, "the space ran out only at the end"
    message = caught.value.one_line()
    assert "ran out of space" in message
    assert "\n" not in message
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.__cause__.errno == errno.ENOSPC
    assert os.listdir(fs) == ["filler"]


def test_destination_that_is_a_file(cli: Cli, key_flags: tuple[str, ...], image: Path,
                                    tmp_path: Path) -> None:
    dest = tmp_path / "taken"
    dest.write_text("a file\n")
    result = cli("bundle", "-i", image, "-d", dest, *key_flags)
    assert result.code == 1
    assert_one_error_line(result.err, "taken", "not a folder")
    assert dest.read_text() == "a file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["taken", "disk.img", "home"])


@pytest.mark.parametrize(("change", "word"), [
    ("cut-at-block-edge", "shrank"), ("cut-mid-block", "shrank"), ("append", "grew")])
def test_image_changing_while_bundled(bundle_keys: BundleKeys, medium_image: Path,
                                      tmp_path: Path, change: str, word: str) -> None:
    """A VM still writing to its disk: the bundle is refused and removed."""
    image = tmp_path / "live.img"
    shutil.copy(medium_image, image)
    dest = tmp_path / "out"
    changed: list[int] = []

    def sink(event: Event) -> None:
        if isinstance(event, StepProgress) and not changed:
            changed.append(event.done)
            if change == "append":
                with open(image, "ab") as out:
                    out.write(b"more")
            else:
                # Beyond what was read so far (``done`` is the read position).
                cut = event.done + 8 * MIB + (100 if change == "cut-mid-block" else 0)
                assert cut < medium_image.stat().st_size
                os.truncate(image, cut)

    with pytest.raises(WizardError, match=f"{word} while it was being bundled"):
        bundle_image(BundleRequest(image, dest, bundle_keys, ACCOUNT), sink)
    assert changed
    assert not dest.exists()

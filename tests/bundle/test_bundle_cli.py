"""``bundle`` on the command line: image types, kernel and ramdisk ids, output.

BUNDLE-FORMAT.md section 2: a kernel bundle carries type kernel and
kernel_id true, a ramdisk bundle type ramdisk and ramdisk_id true, a machine
image the eki-/eri- ids it was given, after the architecture.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import (
    CliResult,
    MadeBundle,
    assert_one_error_line,
    run_cli,
    signed_bytes,
    text_of,
    verify_signature,
)
from tests.bundle.conftest import ACCOUNT, MIB, KeyFiles
from wizard.cli.progress import ConsoleProgress

Cli = Callable[..., CliResult]


@pytest.fixture
def memdisk(tmp_path: Path) -> Path:
    # A kernel must be a Linux boot image (wizard.bundle.roles): the sandbox's stand-in.
    from wizard.cloud.samples import make_sample_memdisk

    return make_sample_memdisk(tmp_path / "memdisk")


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A small machine image: raw bytes, neither memdisk nor floppy-sized."""
    path = tmp_path / "disk.img"
    path.write_bytes(os.urandom(24 * 1024) + b"disk" * 1000)
    return path


@pytest.fixture
def floppy(tmp_path: Path) -> Path:
    path = tmp_path / "floppy.img"
    with open(path, "wb") as out:
        out.write(b"\xeb\x3c\x90MSWIN4.1" + os.urandom(502))
        out.truncate(1_474_560)
    return path


def _config(manifest: Path) -> bytes:
    raw = manifest.read_bytes()
    return raw[raw.index(b"<machine_configuration>"):
               raw.index(b"</machine_configuration>") + len(b"</machine_configuration>")]


def test_kernel_bundle(cli: Cli, key_flags: tuple[str, ...], key_files: KeyFiles,
                       memdisk: Path, tmp_path: Path) -> None:
    result = cli("bundle", "-i", memdisk, "-d", tmp_path / "k", "--image-type", "kernel",
                 *key_flags)
    assert result.code == 0, result.err
    manifest = result.manifest()
    assert manifest == tmp_path / "k" / "memdisk.manifest.xml"
    raw = manifest.read_bytes()
    assert text_of(raw, "type") == "kernel"
    assert _config(manifest) == (b"<machine_configuration><architecture>x86_64</architecture>"
                                 b"<kernel_id>true</kernel_id></machine_configuration>")
    assert b"<user>" + ACCOUNT.encode() + b"</user><type>kernel</type>" in raw
    assert verify_signature(signed_bytes(raw), text_of(raw, "signature"), key_files.user_pub,
                            tmp_path)


def test_ramdisk_bundle(cli: Cli, key_flags: tuple[str, ...], key_files: KeyFiles,
                        floppy: Path, tmp_path: Path) -> None:
    result = cli("bundle", "-i", floppy, "-d", tmp_path / "r", "--image-type", "ramdisk",
                 "-r", "i386", "-p", "floppy-xp", *key_flags)
    assert result.code == 0, result.err
    manifest = result.manifest()
    assert manifest.name == "floppy-xp.manifest.xml"
    raw = manifest.read_bytes()
    assert text_of(raw, "type") == "ramdisk"
    assert text_of(raw, "size") == "1474560"
    assert _config(manifest) == (b"<machine_configuration><architecture>i386</architecture>"
                                 b"<ramdisk_id>true</ramdisk_id></machine_configuration>")
    assert sorted(p.name for p in manifest.parent.iterdir()) == [
        "floppy-xp.manifest.xml", "floppy-xp.part.00"]
    assert verify_signature(signed_bytes(raw), text_of(raw, "signature"), key_files.user_pub,
                            tmp_path)


def test_machine_bundle_carries_kernel_and_ramdisk_ids(
    cli: Cli, key_flags: tuple[str, ...], key_files: KeyFiles, tmp_path: Path
) -> None:
    image = tmp_path / "windows.raw"
    image.write_bytes(os.urandom(MIB) + bytes(MIB))
    result = cli("bundle", "-i", image, "-d", tmp_path / "m", "--kernel", "eki-0A1B2C3D",
                 "--ramdisk", "eri-4E5F6A7B", *key_flags)
    assert result.code == 0, result.err
    raw = result.manifest().read_bytes()
    assert text_of(raw, "type") == "machine"
    assert _config(result.manifest()) == (
        b"<machine_configuration><architecture>x86_64</architecture>"
        b"<kernel_id>eki-0A1B2C3D</kernel_id><ramdisk_id>eri-4E5F6A7B</ramdisk_id>"
        b"</machine_configuration>")
    assert verify_signature(signed_bytes(raw), text_of(raw, "signature"), key_files.user_pub,
                            tmp_path)


def test_plain_machine_bundle_has_no_ids(cli: Cli, key_flags: tuple[str, ...],
                                         tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    image.write_bytes(b"\x55\xaa" * 5000)
    result = cli("bundle", "-i", image, "-d", tmp_path / "m", *key_flags)
    assert result.code == 0, result.err
    assert _config(result.manifest()) == (
        b"<machine_configuration><architecture>x86_64</architecture></machine_configuration>")
    # Progress and the summary go to stderr; stdout ends with the manifest line.
    assert result.out.strip().splitlines() == [f"Wrote manifest {result.manifest()}"]
    assert "Bundling disk.img" in result.err


@pytest.mark.parametrize("image_type", ["kernel", "ramdisk"])
def test_ids_are_for_machine_images_only(cli: Cli, key_flags: tuple[str, ...],
                                         memdisk: Path, tmp_path: Path,
                                         image_type: str) -> None:
    dest = tmp_path / "out"
    result = cli("bundle", "-i", memdisk, "-d", dest, "--image-type", image_type,
                 "--kernel", "eki-0A1B2C3D", *key_flags)
    assert result.code == 1
    assert_one_error_line(result.err, "machine images only")
    assert not dest.exists()


def test_unknown_image_type(cli: Cli, key_flags: tuple[str, ...], memdisk: Path,
                            tmp_path: Path) -> None:
    dest = tmp_path / "out"
    result = cli("bundle", "-i", memdisk, "-d", dest, "--image-type", "floppy", *key_flags)
    assert result.code == 1
    assert_one_error_line(result.err, "unknown image type")
    assert not dest.exists()


def test_default_destination_is_printed(key_files: KeyFiles, small_disk: Path,
                                        tmp_path: Path) -> None:
    """As a subprocess (``python -m wizard``), with no -d: a new folder under $TMPDIR."""
    home = tmp_path / "home"
    home.mkdir()
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    result = run_cli("bundle", "-i", str(small_disk), "-c", str(key_files.user_cert),
                     "-k", str(key_files.user_key), "-u", "1234-5678-9012",
                     "--ec2cert", str(key_files.cloud_cert),
                     env={"TMPDIR": str(tmpdir)}, home=home)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("Wrote manifest ")
    manifest = Path(last.split()[-1])
    assert manifest.is_file()
    assert manifest.parent.parent == tmpdir
    assert f"Bundle folder: {manifest.parent}" in result.stderr
    assert b"<user>123456789012</user>" in manifest.read_bytes()


def test_existing_bundle_is_reused_never_overwritten(cli: Cli, key_flags: tuple[str, ...],
                                                     small_disk: Path, tmp_path: Path) -> None:
    """The same command again reuses the finished bundle (DESIGN.md: never rebuilt);
    a different request for the same name is refused; nothing is rewritten."""
    dest = tmp_path / "out"
    first = cli("bundle", "-i", small_disk, "-d", dest, *key_flags)
    assert first.code == 0, first.err
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in dest.iterdir()}
    again = cli("bundle", "-i", small_disk, "-d", dest, *key_flags)
    assert again.code == 0, again.err
    assert again.out == first.out  # the same "Wrote manifest PATH" for scripts
    assert "Reusing the finished bundle" in again.err and "1 part are intact" in again.err
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in dest.iterdir()} == before
    other = cli("bundle", "-i", small_disk, "-d", dest, "-r", "i386", *key_flags)
    assert other.code == 1
    assert_one_error_line(other.err, "made with the architecture x86_64, not i386",
                          "remove the old bundle")
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in dest.iterdir()} == before


@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "terminal"])
def test_progress_rendering(big_bundle: MadeBundle, tty: bool) -> None:
    """The bundle's own events drawn as a bar on a terminal, plain lines elsewhere."""
    stream = io.StringIO()
    progress = ConsoleProgress(stream, tty=tty)
    for event in big_bundle.events:
        progress(event)
    text = stream.getvalue()
    if tty:
        assert "\r\x1b[K" in text
        assert re.search(r"\[#{8,24}\] 100%", text), text  # narrowed to fit 80 columns
        assert text.endswith("\r\x1b[K")  # the bar is cleared when the step finishes
        assert "\n" not in text
    else:
        assert "\r" not in text and "\x1b" not in text
        lines = text.splitlines()
        assert lines[0] == "Bundling big.img…"
        assert all(line.startswith("Bundling big.img: ") for line in lines[1:])
        assert "100%" in lines[-1]
        assert len(lines) <= 12


def test_the_log_file_tells_what_was_bundled(cli: Cli, key_flags: tuple[str, ...],
                                             memdisk: Path, tmp_path: Path) -> None:
    """A detached or unattended run is read back from its log: what, where, every part."""
    log_file = tmp_path / "run.log"
    result = cli("--log-file", log_file, "bundle", "-i", memdisk, "-d", tmp_path / "k",
                 "--image-type", "kernel", *key_flags)
    assert result.code == 0, result.err
    logged = log_file.read_text()
    assert f"bundling {memdisk}" in logged and "type kernel" in logged
    assert "wrote part " in logged and "memdisk.part.00" in logged
    assert f"wrote manifest {result.manifest()}" in logged
    assert "BEGIN" not in logged  # paths of keys, never their contents


def test_a_closed_stdout_pipe_is_quiet(key_files: KeyFiles, small_disk: Path,
                                       tmp_path: Path) -> None:
    """``bundle … | head -0``: no traceback, no "Exception ignored" at exit."""
    import subprocess
    import sys

    from tests.bundle.bundle_checks import CREDENTIAL_VARS, ROOT

    env = {k: v for k, v in os.environ.items()
           if k not in CREDENTIAL_VARS and k != "PYTHONUNBUFFERED"}  # buffered, as by default
    env.update(PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the first write to stdout fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "wizard", "bundle", "-i", str(small_disk), "-d",
             str(tmp_path / "out"), "-c", str(key_files.user_cert), "-k",
             str(key_files.user_key), "-u", ACCOUNT, "--ec2cert", str(key_files.cloud_cert)],
            stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=60,
            check=False)
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr
    assert "unexpected" not in result.stderr
    assert result.returncode == 1

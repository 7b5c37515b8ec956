"""Session fixtures for the bundle tests: throw-away keys, images, bundles.

Everything expensive (RSA keys, a 105 MiB image and its bundle) is made once
per session; tests that change a bundle work on a copy (``copy_bundle``).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.bundle.bundle_checks import CREDENTIAL_VARS, CliResult, MadeBundle
from wizard.bundle.bundler import BundleRequest, bundle_image
from wizard.bundle.keys import BundleKeys
from wizard.cli.main import main
from wizard.core.events import Event

ACCOUNT = "123456789012"
MIB = 1024 * 1024


@dataclass(frozen=True)
class KeyFiles:
    """PEM files of three throw-away key pairs and an expired certificate."""

    folder: Path
    user_key: Path
    user_cert: Path
    user_pub: Path
    cloud_key: Path
    cloud_cert: Path
    cloud_pub: Path
    other_key: Path
    other_cert: Path
    expired_cert: Path  # the user's key, valid 2019-01-01 to 2020-01-02


def _certificate(key: rsa.RSAPrivateKey, name: str, start: dt.datetime,
                 end: dt.datetime) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )


def _write_pair(folder: Path, name: str) -> tuple[rsa.RSAPrivateKey, Path, Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    cert = _certificate(key, name, now - dt.timedelta(days=1), now + dt.timedelta(days=365))
    key_path = folder / f"{name}-pk.pem"
    cert_path = folder / f"{name}-cert.pem"
    pub_path = folder / f"{name}-pub.pem"
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pub_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, key_path, cert_path, pub_path


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    folder = tmp_path_factory.mktemp("keys")
    user, user_key, user_cert, user_pub = _write_pair(folder, "euca2-user")
    _, cloud_key, cloud_cert, cloud_pub = _write_pair(folder, "cloud")
    _, other_key, other_cert, _ = _write_pair(folder, "other")
    expired = _certificate(user, "euca2-user",
                           dt.datetime(2019, 1, 1, tzinfo=dt.timezone.utc),
                           dt.datetime(2020, 1, 2, 12, 0, tzinfo=dt.timezone.utc))
    expired_cert = folder / "expired-cert.pem"
    expired_cert.write_bytes(expired.public_bytes(serialization.Encoding.PEM))
    return KeyFiles(folder, user_key, user_cert, user_pub, cloud_key, cloud_cert, cloud_pub,
                    other_key, other_cert, expired_cert)


@pytest.fixture(scope="session")
def bundle_keys(key_files: KeyFiles) -> BundleKeys:
    return BundleKeys.load(key_files.user_cert, key_files.user_key, key_files.cloud_cert)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="session")
def big_image(images: Path) -> Path:
    """105 MiB of incompressible data: 11 parts of 10 MiB."""
    path = images / "big.img"
    with open(path, "wb") as out:
        for _ in range(105):
            out.write(os.urandom(MIB))
    return path


def disk_like_bytes(seed: int, size: int) -> bytes:
    """Content like a real disk's: random (binaries), text, runs of zeros."""
    rng = random.Random(seed)
    words = [b"kernel32", b"ntoskrnl", b"HKEY_LOCAL_MACHINE", b"\\WINDOWS\\system32", b"0x7c00"]
    out = bytearray()
    while len(out) < size:
        kind = rng.randrange(3)
        length = rng.randrange(4096, 256 * 1024)
        if kind == 0:
            out += rng.randbytes(length)
        elif kind == 1:
            out += b" ".join(rng.choice(words) for _ in range(length // 8))[:length]
        else:
            out += bytes(length)
    return bytes(out[:size])


@pytest.fixture(scope="session")
def disk_image(images: Path) -> Path:
    """A 24 MiB sparse disk image: data at the start and the end, a hole between."""
    path = images / "winxp-disk.raw"
    with open(path, "wb") as out:
        out.write(disk_like_bytes(1, 5 * MIB + 123))
        out.seek(20 * MIB)
        out.write(disk_like_bytes(2, 3 * MIB))
        out.truncate(24 * MIB + 4096 + 77)  # not a multiple of 512: tar pads it
    return path


def make_bundle(
    image: Path, destination: Path, keys: BundleKeys, **options: object
) -> MadeBundle:
    events: list[Event] = []
    request = BundleRequest(image=image, destination=destination, keys=keys, user=ACCOUNT,
                            **options)  # type: ignore[arg-type]
    bundle = bundle_image(request, events.append)
    return MadeBundle(image, bundle, tuple(events))


@pytest.fixture(scope="session")
def big_bundle(big_image: Path, bundle_keys: BundleKeys,
               tmp_path_factory: pytest.TempPathFactory) -> MadeBundle:
    """The 105 MiB image with the real 10 MiB parts."""
    return make_bundle(big_image, tmp_path_factory.mktemp("big-bundle"), bundle_keys)


@pytest.fixture(scope="session")
def disk_bundle(disk_image: Path, bundle_keys: BundleKeys,
                tmp_path_factory: pytest.TempPathFactory) -> MadeBundle:
    """A machine bundle of the sparse disk with a prefix, kernel and ramdisk ids,
    and small parts (several parts from a small image)."""
    return make_bundle(disk_image, tmp_path_factory.mktemp("disk-bundle"), bundle_keys,
                       prefix="windows-xp", arch="i386", kernel_id="eki-1A2B3C4D",
                       ramdisk_id="eri-5E6F7A8B", part_size=1 * MIB)


@pytest.fixture
def copy_bundle(tmp_path: Path) -> Callable[[MadeBundle], Path]:
    """Copy a session bundle's folder, for tests that damage it; returns the new manifest."""
    def copy(made: MadeBundle) -> Path:
        folder = tmp_path / "copied-bundle"
        shutil.copytree(made.bundle.manifest_path.parent, folder)
        return folder / made.bundle.manifest_path.name
    return copy


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No credentials from the test runner's environment or ~/.euca; returns HOME."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def cli(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """``wizard.cli.main.main(ARGS)`` in this process, with its exit status and output."""
    def call(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return call


@pytest.fixture
def key_flags(key_files: KeyFiles) -> tuple[str, ...]:
    """The credential flags of a good bundle command."""
    return ("-c", str(key_files.user_cert), "-k", str(key_files.user_key), "-u", ACCOUNT,
            "--ec2cert", str(key_files.cloud_cert))


@pytest.fixture(scope="session")
def medium_image(images: Path) -> Path:
    """40 MiB of random data: ten 4 MiB blocks, so progress arrives mid-stream."""
    path = images / "medium.img"
    with open(path, "wb") as out:
        for _ in range(40):
            out.write(os.urandom(MIB))
    return path


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount small tmpfs file systems (root only; skipped where mount is refused)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755",
                                 "tmpfs", str(point)], capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()})")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A loop device over a 3 MiB file (root only; skipped where losetup is refused)."""
    backing = tmp_path / "volume.img"
    backing.write_bytes(os.urandom(3 * MIB))
    result = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True,
                            text=True, timeout=30, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot set up a loop device here ({result.stderr.strip()})")
    device = Path(result.stdout.strip())
    yield device, backing
    subprocess.run(["losetup", "-d", str(device)], check=False, timeout=30)

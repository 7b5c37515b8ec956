"""Fixtures for the cloud tests: one sandbox cloud (moto behind the path proxy), bundles.

Every call goes through ``/services/objectstorage`` and ``/services/compute``
URLs on 127.0.0.1; the proxy's wire log and fault injection are the tests'
eyes and hands. moto's state is reset between tests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wizard.bundle.bundler import Bundle, BundleRequest, bundle_image
from wizard.bundle.keys import BundleKeys
from wizard.cloud.calls import RetryPolicy
from wizard.cloud.endpoints import Cloud, cloud_from_credentials
from wizard.cloud.samples import make_sample_memdisk
from wizard.cloud.sandbox import ACCOUNT, Sandbox, start_sandbox
from wizard.credentials import load_credentials
from wizard.floppy.fat12 import FLOPPY_SIZE

ROOT = Path(__file__).resolve().parents[2]
PART = 64 * 1024  # small parts: many parts from a small image, fast tests
FAST = RetryPolicy(attempts=4, first_delay=0.05, max_delay=0.2)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with start_sandbox(tmp_path_factory.mktemp("sandbox"), record=True) as sb:
        yield sb


@pytest.fixture
def cloud_box(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox with an empty store, no faults and an empty wire log."""
    sandbox.reset()
    sandbox.proxy.clear()
    yield sandbox
    sandbox.proxy.clear()


def make_cloud(sb: Sandbox, sigv: int | None = None,
               services: tuple[str, ...] = ("s3", "ec2")) -> Cloud:
    creds = load_credentials(environ={}, eucarc=sb.eucarc, ini_paths=[])
    return cloud_from_credentials(creds, services=services, sigv=sigv)


@dataclass(frozen=True)
class MadeBundle:
    image: Path
    bundle: Bundle

    @property
    def manifest(self) -> Path:
        return self.bundle.manifest_path


def make_bundle(sb: Sandbox, folder: Path, size: int = 20 * PART + 1234,
                name: str = "sample.img", part_size: int = PART, **options: object) -> MadeBundle:
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / name
    # Random bytes do not compress: the bundle has about size/part_size parts.
    image.write_bytes(os.urandom(size))
    kind = options.get("image_type")
    if kind == "kernel":  # a kernel must be a Linux boot image (wizard.bundle.roles)
        make_sample_memdisk(image)
        with open(image, "ab") as out:
            out.write(os.urandom(max(size - image.stat().st_size, 0)))
    elif kind == "ramdisk":  # and a ramdisk a floppy image, 1.44 MB whatever ``size``
        image.write_bytes(os.urandom(FLOPPY_SIZE))
    keys = BundleKeys.load(sb.cert, sb.private_key, sb.cloud_cert)
    request = BundleRequest(image=image, destination=folder / "bundle", keys=keys,
                            user=ACCOUNT, part_size=part_size, **options)  # type: ignore[arg-type]
    return MadeBundle(image, bundle_image(request))


def cli_env(sb: Sandbox, **extra: str) -> dict[str, str]:
    """An environment for a child CLI process: no cloud variables but the tests' own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EC2_", "AWS_", "S3_", "EUCA"))}
    env["PYTHONPATH"] = str(ROOT)
    env["HOME"] = str(sb.folder / "home")  # no ~/.euca/*.ini of the person running tests
    env.update(extra)
    return env


PYTHON = sys.executable


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (its own CA), with its key beside it."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    return folder / "ca.pem"


@pytest.fixture(scope="session")
def tls_proxy_url(sandbox: Sandbox, tls_ca: Path) -> Iterator[str]:
    """An HTTPS front for the sandbox's moto, with the certificate of ``tls_ca``."""
    import ssl

    from wizard.cloud.pathproxy import PathProxy

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_ca, tls_ca.parent / "key.pem")
    proxy = PathProxy(sandbox.proxy.upstream_port, tls=context).start()
    yield proxy.url("/services/objectstorage")
    proxy.stop()

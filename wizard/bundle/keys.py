"""The certificates and keys a bundle needs, loaded and checked for the operator.

A bundle's AES key and IV are wrapped twice: for the cloud (its certificate,
Eucalyptus' ``cloud-cert.pem``) and for the user (their certificate); the
manifest is signed with the user's private key. Every way these files can be
wrong (not PEM, encrypted, not RSA, key and certificate of different pairs,
expired) is named here in the operator's words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wizard.core.errors import WizardError


def _read(path: Path, what: str, fix: str, key: str | None = None) -> bytes:
    path = Path(path)
    if not path.exists():
        raise WizardError(f"the {what} {path} does not exist", fix, key=key)
    if path.is_dir():
        raise WizardError(f"the {what} {path} is a folder, not a file", fix, key=key)
    if not path.is_file():
        # A FIFO would block the read forever.
        raise WizardError(f"the {what} {path} is not a regular file (a FIFO or a device?)",
                          fix, key=key)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WizardError(f"cannot read the {what} {path} ({exc.strerror})", fix,
                          key=key) from exc


def load_certificate(path: Path, what: str = "certificate") -> x509.Certificate:
    """An RSA X.509 certificate from a PEM file."""
    fix = f"give the PEM file of the {what} (it starts with -----BEGIN CERTIFICATE-----)"
    data = _read(path, what, fix)
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise WizardError(f"the {what} {path} is not a PEM certificate", fix) from exc
    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        raise WizardError(f"the {what} {path} does not hold an RSA key",
                          "bundles need RSA certificates, as the cloud issues them")
    return cert


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """The user's RSA private key from a PEM file (unencrypted, as euca2ools keeps it).

    The one loader: bundling, unbundling and the prerequisites check read the
    key here, and say the same about a key that will not do.
    """
    fix = "give the PEM file of your private key (euca2-…-pk.pem, -----BEGIN … PRIVATE KEY-----)"
    key_name = "cloud.private_key"
    data = _read(path, "private key", fix, key_name)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise WizardError(
            f"the private key {path} is protected by a passphrase",
            f"write an unencrypted copy readable only by you: openssl rsa -in {path} "
            "-out key.pem; chmod 600 key.pem",
            key=key_name,
        ) from exc
    except ValueError as exc:
        raise WizardError(f"the private key {path} is not a PEM private key", fix,
                          key=key_name) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise WizardError(f"the private key {path} is not an RSA key",
                          "bundles are signed with RSA keys: use the -pk.pem file of your "
                          "Eucalyptus credentials zip", key=key_name)
    return key


def not_after(cert: x509.Certificate) -> dt.datetime:
    return cert.not_valid_after_utc


def expiry_warning(
    cert: x509.Certificate, path: Path, now: dt.datetime | None = None
) -> str | None:
    """A warning when the certificate has expired (the cloud may refuse it)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    end = not_after(cert)
    if end < now:
        return (f"the user certificate {path} expired on {end:%Y-%m-%d}; the cloud may refuse "
                "the bundle: download fresh credentials from the cloud")
    return None


@dataclass(frozen=True)
class BundleKeys:
    """The three pieces a bundle is made with, checked to belong together."""

    user_cert: x509.Certificate
    private_key: rsa.RSAPrivateKey
    cloud_cert: x509.Certificate
    warnings: tuple[str, ...] = ()

    @classmethod
    def load(cls, cert: Path, private_key: Path, cloud_cert: Path) -> BundleKeys:
        user_cert = load_certificate(cert, "user certificate")
        key = load_private_key(private_key)
        cloud = load_certificate(cloud_cert, "cloud certificate")
        if key.public_key().public_numbers() != user_cert.public_key().public_numbers():  # type: ignore[union-attr]
            raise WizardError(
                f"the private key {private_key} and the certificate {cert} do not match "
                "(they belong to different key pairs)",
                "use the -pk.pem and -cert.pem files from the same credentials zip",
            )
        warning = expiry_warning(user_cert, cert)
        return cls(user_cert, key, cloud, (warning,) if warning else ())


def wrap(cert: x509.Certificate, secret: bytes) -> str:
    """RSA PKCS#1 v1.5 encryption of the *hex string* of ``secret``, as hex.

    BUNDLE-FORMAT.md section 2: the clouds decrypt and read 32 hex characters,
    not 16 raw bytes.
    """
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return public.encrypt(secret.hex().encode("ascii"), padding.PKCS1v15()).hex()


def unwrap(key: rsa.RSAPrivateKey, wrapped_hex: str) -> bytes | None:
    """The 16 bytes wrapped by ``wrap``, or None when this key cannot open them."""
    try:
        text = key.decrypt(bytes.fromhex(wrapped_hex.strip()), padding.PKCS1v15())
        raw = bytes.fromhex(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None
    return raw if len(raw) == 16 else None


def sign(key: rsa.RSAPrivateKey, data: bytes) -> str:
    """RSA-SHA1 (PKCS#1 v1.5) signature as hex, as the clouds verify it."""
    return key.sign(data, padding.PKCS1v15(), hashes.SHA1()).hex()  # noqa: S303


def verify(public: rsa.RSAPublicKey, data: bytes, signature_hex: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature_hex), data, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    except (InvalidSignature, ValueError):
        return False
    return True

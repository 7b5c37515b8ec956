"""Certificates and keys from a credentials zip: readable, in date, matching.

Bundling wraps the AES key with the user's and the cloud's certificates and
signs the manifest with the user's private key (BUNDLE-FORMAT.md section 2),
all RSA. A key that does not belong to its certificate, or a certificate past
its date, makes a bundle the cloud refuses at registration, an hour later:
``check`` says so first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from wizard.core.errors import WizardError

# A certificate this close to its end is worth a warning: a build and its
# upload can take a day, and registration checks the signature.
SOON = dt.timedelta(days=14)


@dataclass(frozen=True)
class CertificateInfo:
    """What the prerequisites table shows about one certificate."""

    path: Path
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    certificate: x509.Certificate

    def state(self, now: dt.datetime | None = None) -> str:
        """``valid``, ``expiring``, ``expired`` or ``not yet valid``."""
        now = now or dt.datetime.now(dt.timezone.utc)
        if now < self.not_before:
            return "not yet valid"
        if now > self.not_after:
            return "expired"
        if self.not_after - now < SOON:
            return "expiring"
        return "valid"

    def dates(self) -> str:
        return f"from {self.not_before:%Y-%m-%d} to {self.not_after:%Y-%m-%d}"


def _read(path: Path, what: str) -> bytes:
    path = Path(path)
    if path.is_dir():
        raise WizardError(f"{what} {path} is a folder",
                          "point to the file itself, from your credentials zip")
    if path.exists() and not path.is_file():
        # A FIFO would block the read forever.
        raise WizardError(f"{what} {path} is not a regular file",
                          "point to the file from your credentials zip")
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise WizardError(f"{what} {path} does not exist",
                          "point to the file from your credentials zip") from exc
    except OSError as exc:
        raise WizardError(f"cannot read {what} {path} ({exc.strerror})",
                          "check the file's permissions") from exc


def load_certificate(path: Path, what: str = "the certificate") -> CertificateInfo:
    """Read a PEM (or DER) X.509 certificate that carries an RSA key."""
    data = _read(path, what)
    try:
        if b"-----BEGIN" in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise WizardError(f"{what} {path} is not an X.509 certificate",
                          "point to the -cert.pem file from your credentials zip") from exc
    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        raise WizardError(f"{what} {path} does not hold an RSA key; bundles need RSA",
                          "use the certificate from your Eucalyptus credentials zip")
    return CertificateInfo(
        path=Path(path),
        subject=cert.subject.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        certificate=cert,
    )


def key_matches(cert: CertificateInfo, key: rsa.RSAPrivateKey) -> bool:
    """Whether ``key`` is the private half of ``cert``'s public key."""
    public = cert.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return public.public_numbers() == key.public_key().public_numbers()

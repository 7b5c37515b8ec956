"""Certificate dates, key matching, and files that are not what they claim."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.prerequisites.certfiles import rsa_key, write_cert, write_key
from wizard.bundle.keys import load_private_key
from wizard.core.errors import WizardError
from wizard.prerequisites.certs import key_matches, load_certificate


def test_valid_certificate_and_matching_key(tmp_path: Path) -> None:
    key = rsa_key()
    cert = load_certificate(write_cert(key, tmp_path / "cert.pem"))
    assert cert.state() == "valid"
    assert "CN=euca2-admin" in cert.subject
    assert cert.dates().startswith("from ")
    assert key_matches(cert, load_private_key(write_key(key, tmp_path / "pk.pem")))
    assert not key_matches(cert, load_private_key(write_key(rsa_key(), tmp_path / "o.pem")))


def test_expired_expiring_and_future(tmp_path: Path) -> None:
    key = rsa_key()
    assert load_certificate(write_cert(key, tmp_path / "a.pem", days_from=-30, days_to=-1)
                            ).state() == "expired"
    assert load_certificate(write_cert(key, tmp_path / "b.pem", days_to=3)
                            ).state() == "expiring"
    assert load_certificate(write_cert(key, tmp_path / "c.pem", days_from=2)
                            ).state() == "not yet valid"


def test_bad_files(tmp_path: Path) -> None:
    text = tmp_path / "cert.pem"
    text.write_text("not a certificate\n")
    with pytest.raises(WizardError, match=r"is not an X\.509 certificate"):
        load_certificate(text)
    with pytest.raises(WizardError, match="does not exist"):
        load_certificate(tmp_path / "missing.pem")
    with pytest.raises(WizardError, match="not a PEM private key"):
        load_private_key(text)
    with pytest.raises(WizardError, match="passphrase"):
        load_private_key(write_key(rsa_key(), tmp_path / "locked.pem", password=b"secret"))


def test_non_rsa_is_refused(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(WizardError, match="RSA"):
        load_certificate(write_cert(key, tmp_path / "ec-cert.pem"))
    with pytest.raises(WizardError, match="RSA"):
        load_private_key(write_key(key, tmp_path / "ec-key.pem"))


def test_folder_and_fifo_are_refused_without_reading(tmp_path: Path) -> None:
    import os

    pipe = tmp_path / "cert.pem"
    os.mkfifo(pipe)
    with pytest.raises(WizardError, match="not a regular file"):
        load_certificate(pipe)
    with pytest.raises(WizardError, match="not a regular file"):
        load_private_key(pipe)
    with pytest.raises(WizardError, match="is a folder"):
        load_certificate(tmp_path)

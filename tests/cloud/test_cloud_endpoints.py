"""Endpoints: signature defaults per path, checks of URLs and CA bundles, option parsing."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import pytest

from wizard.cli.options import add_cloud_options, cloud_from_args, credentials_from_args
from wizard.cloud.endpoints import Cloud, cloud_from_credentials, default_sigv, is_walrus
from wizard.core.errors import WizardError
from wizard.credentials import load_credentials

KEYS = {"access_key": "AKI", "secret_key": "secret-0123456789"}


@pytest.mark.parametrize(("url", "sigv"), [
    ("http://127.0.0.1:8773/services/Walrus", 2),
    ("http://127.0.0.1:8773/services/walrus/", 2),
    ("http://127.0.0.1:8773/services/Eucalyptus", 2),
    ("http://127.0.0.1:8773/services/objectstorage", 4),
    ("https://127.0.0.1:8773/services/compute", 4),
    ("http://127.0.0.1:9000", 4),
])
def test_default_signature_version(url: str, sigv: int) -> None:
    assert default_sigv(url) == sigv


def test_walrus_detection() -> None:
    assert is_walrus("http://127.0.0.1:8773/services/Walrus")
    assert not is_walrus("http://127.0.0.1:8773/services/objectstorage")


def cloud(flags: dict[str, str | None], sigv: int | None = None,
          services: tuple[str, ...] = ("s3", "ec2")) -> Cloud:
    creds = load_credentials({**KEYS, **flags}, environ={}, ini_paths=[])
    return cloud_from_credentials(creds, services=services, sigv=sigv)


def test_endpoints_keep_their_path_and_signers() -> None:
    c = cloud({"s3_url": "http://127.0.0.1:8773/services/Walrus/",
               "ec2_url": "http://127.0.0.1:8773/services/compute"})
    assert c.s3 is not None and c.ec2 is not None
    assert c.s3.url == "http://127.0.0.1:8773/services/Walrus"
    assert (c.s3.signature_name(), c.ec2.signature_name()) == ("s3", "v4")
    forced = cloud({"s3_url": "http://127.0.0.1:8773/services/Walrus",
                    "ec2_url": "http://127.0.0.1:8773/services/compute"}, sigv=2)
    assert forced.ec2 is not None and forced.ec2.signature_name() == "v2"
    assert c.s3.region == "us-east-1"
    assert "secret-0123456789" not in repr(c)


def test_client_is_configured_for_eucalyptus() -> None:
    c = cloud({"s3_url": "http://127.0.0.1:8773/services/objectstorage",
               "ec2_url": "http://127.0.0.1:8773/services/compute"})
    s3 = c.s3_client()
    config: Any = s3.meta.config  # botocore's Config sets its attributes dynamically
    assert s3.meta.endpoint_url == "http://127.0.0.1:8773/services/objectstorage"
    assert config.s3 == {"addressing_style": "path"}
    assert config.retries["total_max_attempts"] == 1  # wizard.cloud.calls retries
    assert config.connect_timeout <= 10 and config.read_timeout <= 30


def test_verification_choices() -> None:
    off = cloud({"s3_url": "https://127.0.0.1:8773/services/objectstorage",
                 "verify_ssl": "false"}, services=("s3",))
    assert off.s3 is not None and off.s3.verify is False
    assert len(off.warnings) == 1 and "NOT checked" in off.warnings[0]
    with pytest.raises(WizardError, match="CA bundle"):
        cloud({"s3_url": "https://127.0.0.1/services/objectstorage",
               "ca_bundle": "/nonexistent/ca.pem"}, services=("s3",))


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "127.0.0.1:8773/services/compute",
                                 "http:///services/compute", "http://127.0.0.1:port/x"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(WizardError):
        cloud({"s3_url": url}, services=("s3",))


def test_options_region_user_and_flag_sources(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    add_cloud_options(parser, "s3_url")
    ini = tmp_path / "x.ini"
    ini.write_text("[region lab]\ns3-url = http://127.0.0.1:1/services/objectstorage\n"
                   "[user alice]\nkey-id = AKIALICE\nsecret-key = alice-secret-123\n"
                   "[user bob]\nkey-id = AKIBOB\nsecret-key = bob-secret-1234\n")
    args = parser.parse_args(["--region", "bob@lab", "-U", "http://127.0.0.1:2/services/Walrus"])
    monkeypatch.setenv("HOME", str(tmp_path))  # ~/.euca/*.ini is read from here
    (tmp_path / ".euca").mkdir()
    ini.rename(tmp_path / ".euca" / "x.ini")
    creds = credentials_from_args(args, environ={})
    c = cloud_from_args(args, ("s3",), environ={})
    assert creds.get("access_key") == "AKIBOB"
    assert creds.region is not None and creds.region.value == "lab"
    assert creds.s3_url is not None and creds.s3_url.source == "--url flag"
    assert c.s3 is not None and c.s3.sigv == 2



def test_redact_argv_masks_every_spelling_of_the_secret() -> None:
    from wizard.cli.options import redact_argv

    secret = "Very-Secret-Key-0123456789"
    argv = ["upload", "-S", secret, f"-S{secret}", "--secret-key", secret,
            f"--secret-key={secret}", "-I", "AKIVISIBLE", "-b", "bucket"]
    shown = " ".join(redact_argv(argv))
    assert secret not in shown
    assert "AKIVISIBLE" in shown and "bucket" in shown
    assert redact_argv(["-b", "-S"]) == ["-b", "-S"]


def test_cloud_engine_runs_headless_without_textual() -> None:
    import subprocess
    import sys

    from tests.cloud.conftest import ROOT

    code = ("import sys; import wizard.cloud.upload, wizard.cloud.register, "
            "wizard.cloud.sandbox, wizard.cli.options, wizard.cli.upload, "
            "wizard.cli.register, wizard.cli.sandbox; "
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout
    assert out.strip() == "False"


def test_unusable_ca_bundles_are_named_as_such(tmp_path: Path) -> None:
    https = {"s3_url": "https://127.0.0.1:8773/services/objectstorage"}
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a certificate\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for bundle, words in ((tmp_path, "is a folder"), (tmp_path / "nope.pem", "does not exist"),
                          (fifo, "is not a regular file"), (not_pem, "holds no PEM certificate")):
        with pytest.raises(WizardError) as info:
            cloud({**https, "ca_bundle": str(bundle)}, services=("s3",))
        assert info.value.message.startswith(f"the CA bundle {bundle} (from cloud.ca_bundle) "
                                             + words), info.value.message
        assert info.value.fix and "CA bundle" in info.value.fix
        assert info.value.key == "cloud.ca_bundle"


def test_ca_bundle_from_the_environment_is_checked_only_for_https(tmp_path: Path) -> None:
    creds = load_credentials({**KEYS, "s3_url": "http://127.0.0.1:8773/services/objectstorage"},
                             environ={"AWS_CA_BUNDLE": str(tmp_path / "gone.pem")},
                             ini_paths=[])
    plain = cloud_from_credentials(creds, services=("s3",))
    assert plain.s3 is not None and plain.s3.verify is True
    creds = load_credentials({**KEYS, "s3_url": "https://127.0.0.1:8773/services/objectstorage"},
                             environ={"AWS_CA_BUNDLE": str(tmp_path / "gone.pem")},
                             ini_paths=[])
    with pytest.raises(WizardError, match="environment AWS_CA_BUNDLE"):
        cloud_from_credentials(creds, services=("s3",))

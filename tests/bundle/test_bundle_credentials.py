"""Where ``bundle`` finds its credentials: flags, else environment, else --eucarc.

Issue 3: EC2_CERT, EC2_PRIVATE_KEY, EC2_USER_ID or EC2_ACCOUNT_NUMBER and
EUCALYPTUS_CERT; an eucarc is read as data, ``${EUCA_KEY_DIR}`` being its
own folder. Each bundle is checked with openssl: which cloud certificate
wrapped its key, and that the signature is the user's.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import (
    CliResult,
    assert_one_error_line,
    run,
    run_cli,
    signed_bytes,
    text_of,
    unwrap,
    verify_signature,
)
from tests.bundle.conftest import KeyFiles

Cli = Callable[..., CliResult]


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "disk.img"
    path.write_bytes(os.urandom(100_000) + bytes(300_000))
    return path


def _creds_zip(folder: Path, key_files: KeyFiles, cloud_cert: Path, account: str,
               extra: str = "") -> Path:
    """An unzipped Eucalyptus credentials zip with a 4.x-style eucarc."""
    folder.mkdir(parents=True)
    shutil.copy(key_files.user_key, folder / "euca2-admin-8c1f6d83-pk.pem")
    shutil.copy(key_files.user_cert, folder / "euca2-admin-8c1f6d83-cert.pem")
    shutil.copy(cloud_cert, folder / "cloud-cert.pem")
    rc = folder / "eucarc"
    rc.write_text(
        "EUCA_KEY_DIR=$(cd $(dirname ${BASH_SOURCE:-$0}); pwd -P)\n"
        "export EC2_URL=http://127.0.0.1:8773/services/compute\n"
        "export S3_URL=http://127.0.0.1:8773/services/objectstorage\n"
        "export EC2_PRIVATE_KEY=${EUCA_KEY_DIR}/euca2-admin-8c1f6d83-pk.pem\n"
        "export EC2_CERT=${EUCA_KEY_DIR}/euca2-admin-8c1f6d83-cert.pem\n"
        "export EUCALYPTUS_CERT=${EUCA_KEY_DIR}/cloud-cert.pem\n"
        f"export EC2_ACCOUNT_NUMBER='{account}'\n"
        f"export EC2_USER_ID='{account}'\n"
        "alias ec2-bundle-image=\"ec2-bundle-image --cert ${EC2_CERT} "
        "--privatekey ${EC2_PRIVATE_KEY}\"\n" + extra
    )
    return rc


def _check(manifest: Path, account: str, cloud_key: Path, key_files: KeyFiles,
           work: Path) -> None:
    raw = manifest.read_bytes()
    assert text_of(raw, "user") == account
    assert len(unwrap(text_of(raw, "ec2_encrypted_key"), cloud_key)) == 32
    assert verify_signature(signed_bytes(raw), text_of(raw, "signature"), key_files.user_pub,
                            work)


def test_credentials_from_the_environment(key_files: KeyFiles, image: Path,
                                          tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"EC2_CERT": str(key_files.user_cert), "EC2_PRIVATE_KEY": str(key_files.user_key),
           "EC2_USER_ID": "1111-2222-3333", "EUCALYPTUS_CERT": str(key_files.cloud_cert)}
    result = run_cli("bundle", "-i", str(image), "-d", str(tmp_path / "out"), env=env,
                     home=home)
    assert result.returncode == 0, result.stderr
    manifest = Path(result.stdout.strip().splitlines()[-1].split()[-1])
    _check(manifest, "111122223333", key_files.cloud_key, key_files, tmp_path)


def test_account_number_variable(cli: Cli, key_files: KeyFiles, image: Path,
                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EC2_CERT", str(key_files.user_cert))
    monkeypatch.setenv("EC2_PRIVATE_KEY", str(key_files.user_key))
    monkeypatch.setenv("EC2_ACCOUNT_NUMBER", "444455556666")
    monkeypatch.setenv("EUCALYPTUS_CERT", str(key_files.cloud_cert))
    result = cli("bundle", "-i", image, "-d", tmp_path / "out")
    assert result.code == 0, result.err
    _check(result.manifest(), "444455556666", key_files.cloud_key, key_files, tmp_path)


def test_credentials_from_an_eucarc_with_key_dir(key_files: KeyFiles, image: Path,
                                                 tmp_path: Path) -> None:
    """A subprocess run from another folder: ${EUCA_KEY_DIR} is the eucarc's folder."""
    rc = _creds_zip(tmp_path / "creds", key_files, key_files.cloud_cert, "123412341234")
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    result = run_cli("bundle", "-i", str(image), "-d", str(tmp_path / "out"),
                     "--eucarc", str(rc), cwd=elsewhere, home=home)
    assert result.returncode == 0, result.stderr
    manifest = Path(result.stdout.strip().splitlines()[-1].split()[-1])
    _check(manifest, "123412341234", key_files.cloud_key, key_files, tmp_path)


def test_the_eucarc_is_never_run(cli: Cli, key_files: KeyFiles, image: Path,
                                 tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    rc = _creds_zip(tmp_path / "creds", key_files, key_files.cloud_cert, "123412341234",
                    extra=f"touch {marker}\nexport EC2_JVM_ARGS=$(touch {marker})\n")
    result = cli("bundle", "-i", image, "-d", tmp_path / "out", "--eucarc", rc)
    assert result.code == 0, result.err
    assert not marker.exists()


def test_flags_beat_environment_beat_eucarc(
    cli: Cli, key_files: KeyFiles, image: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The eucarc names the real cloud certificate; the environment another one.
    rc = _creds_zip(tmp_path / "creds", key_files, key_files.cloud_cert, "222222222222")
    monkeypatch.setenv("EUCALYPTUS_CERT", str(key_files.other_cert))
    monkeypatch.setenv("EC2_USER_ID", "111111111111")

    env_wins = cli("bundle", "-i", image, "-d", tmp_path / "a", "--eucarc", rc)
    assert env_wins.code == 0, env_wins.err
    _check(env_wins.manifest(), "111111111111", key_files.other_key, key_files, tmp_path)

    flags_win = cli("bundle", "-i", image, "-d", tmp_path / "b", "--eucarc", rc,
                    "-u", "333333333333", "--ec2cert", key_files.cloud_cert)
    assert flags_win.code == 0, flags_win.err
    _check(flags_win.manifest(), "333333333333", key_files.cloud_key, key_files, tmp_path)

    monkeypatch.delenv("EUCALYPTUS_CERT")
    monkeypatch.delenv("EC2_USER_ID")
    eucarc_only = cli("bundle", "-i", image, "-d", tmp_path / "c", "--eucarc", rc)
    assert eucarc_only.code == 0, eucarc_only.err
    _check(eucarc_only.manifest(), "222222222222", key_files.cloud_key, key_files, tmp_path)
    # The other cloud key cannot open the eucarc bundle: the check above is real.
    failed = run(["openssl", "pkeyutl", "-decrypt", "-inkey", str(key_files.other_key)],
                 stdin=bytes.fromhex(text_of(eucarc_only.manifest().read_bytes(),
                                             "ec2_encrypted_key")), check=False)
    assert failed.returncode != 0


@pytest.mark.parametrize("missing", ["-c", "-k", "-u", "--ec2cert"])
def test_a_missing_credential_is_named(cli: Cli, key_files: KeyFiles, image: Path,
                                       tmp_path: Path, missing: str) -> None:
    flags = {"-c": str(key_files.user_cert), "-k": str(key_files.user_key),
             "-u": "123456789012", "--ec2cert": str(key_files.cloud_cert)}
    env_name = {"-c": "EC2_CERT", "-k": "EC2_PRIVATE_KEY", "-u": "EC2_USER_ID",
                "--ec2cert": "EUCALYPTUS_CERT"}[missing]
    del flags[missing]
    dest = tmp_path / "out"
    result = cli("bundle", "-i", image, "-d", dest, *[x for kv in flags.items() for x in kv])
    assert result.code == 1
    assert_one_error_line(result.err, missing, env_name)
    assert not dest.exists()


def test_a_missing_eucarc(cli: Cli, image: Path, tmp_path: Path) -> None:
    result = cli("bundle", "-i", image, "-d", tmp_path / "out", "--eucarc",
                 tmp_path / "nope" / "eucarc")
    assert result.code == 1
    assert_one_error_line(result.err, "eucarc", "does not exist")
    assert not (tmp_path / "out").exists()

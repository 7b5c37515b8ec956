"""Credentials: priority of sources, the eucarc read as data, ini files, errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.core.errors import WizardError
from wizard.credentials import Credentials, Value, load_credentials
from wizard.credentials.eucarc import parse_eucarc, read_eucarc

ROOT = Path(__file__).resolve().parents[2]

EUCARC_4X = """\
EUCA_KEY_DIR=$(cd $(dirname ${BASH_SOURCE:-$0}); pwd -P)
export EC2_URL=http://127.0.0.1:8773/services/compute
export S3_URL=http://127.0.0.1:8773/services/objectstorage
export EUSTORE_URL=http://127.0.0.1/eustore/
export EC2_PRIVATE_KEY=${EUCA_KEY_DIR}/euca2-admin-8c1f6d83-pk.pem
export EC2_CERT=${EUCA_KEY_DIR}/euca2-admin-8c1f6d83-cert.pem
export EC2_JVM_ARGS=-Djavax.net.ssl.trustStore=${EUCA_KEY_DIR}/jssecacerts
export EUCALYPTUS_CERT=${EUCA_KEY_DIR}/cloud-cert.pem
export EC2_ACCOUNT_NUMBER='123456789012'
export EC2_ACCESS_KEY='AKIEUCARCKEY'
export EC2_SECRET_KEY='eucarc-secret-0123456789abcdef'
export AWS_ACCESS_KEY='AKIEUCARCKEY'
export AWS_SECRET_KEY='eucarc-secret-0123456789abcdef'
export AWS_CREDENTIAL_FILE=${EUCA_KEY_DIR}/iamrc
export EC2_USER_ID='123456789012'
alias ec2-bundle-image="ec2-bundle-image --cert ${EC2_CERT} --privatekey ${EC2_PRIVATE_KEY}"
alias ec2-upload-bundle="ec2-upload-bundle -a ${EC2_ACCESS_KEY} -s ${EC2_SECRET_KEY}"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_eucarc_4x_reads_as_data_with_key_dir_resolved(tmp_path: Path) -> None:
    rc = write(tmp_path / "creds" / "eucarc", EUCARC_4X)
    folder = rc.parent.resolve()
    creds = load_credentials(environ={}, eucarc=rc, ini_paths=[])
    assert creds.ec2_url == Value("http://127.0.0.1:8773/services/compute", f"eucarc {rc}")
    assert creds.get("s3_url") == "http://127.0.0.1:8773/services/objectstorage"
    assert creds.get("cert") == str(folder / "euca2-admin-8c1f6d83-cert.pem")
    assert creds.get("private_key") == str(folder / "euca2-admin-8c1f6d83-pk.pem")
    assert creds.get("cloud_cert") == str(folder / "cloud-cert.pem")
    assert creds.get("user") == "123456789012"
    assert creds.get("access_key") == "AKIEUCARCKEY"
    assert creds.get("secret_key") == "eucarc-secret-0123456789abcdef"
    assert creds.region is None


def test_eucarc_2x_readlink_form_and_plain_assignments(tmp_path: Path) -> None:
    text = """\
# Eucalyptus 2.0 credentials
EUCA_KEY_DIR=$(dirname $(readlink -f ${BASH_SOURCE}))
S3_URL="http://127.0.0.1:8773/services/Walrus"
export S3_URL
export EC2_URL="http://127.0.0.1:8773/services/Eucalyptus"   # the CLC
export EC2_CERT="$EUCA_KEY_DIR/euca2-admin-cert.pem"
export EC2_USER_ID='0001-0072-9354'
"""
    rc = write(tmp_path / "old" / "eucarc", text)
    data = read_eucarc(rc, environ={})
    assert data["S3_URL"] == "http://127.0.0.1:8773/services/Walrus"
    assert data["EC2_URL"] == "http://127.0.0.1:8773/services/Eucalyptus"
    assert data["EC2_CERT"] == f"{rc.parent.resolve()}/euca2-admin-cert.pem"
    creds = load_credentials(environ={}, eucarc=rc, ini_paths=[])
    assert creds.get("user") == "000100729354"


def test_eucarc_quotes_references_and_odd_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = """\
BASE=/srv/keys
export EC2_CERT="${BASE}/my cert.pem"
export EC2_PRIVATE_KEY='${BASE}/literal'
export S3_URL=${UNSET_THING:-http://127.0.0.1:1/services/objectstorage}
export EC2_URL=$(curl http://127.0.0.1:9/evil)
export EC2_SECRET_KEY=$NOT_DEFINED_ANYWHERE
if [ -z "$X" ]; then
  echo hello
fi
export TWO=words here
EC2_ACCESS_KEY=AK\\ ID
"""
    caplog.set_level(logging.INFO, logger="wizard")
    data = parse_eucarc(text, folder=tmp_path, environ={})
    assert data["EC2_CERT"] == "/srv/keys/my cert.pem"
    assert data["EC2_PRIVATE_KEY"] == "${BASE}/literal"
    assert data["S3_URL"] == "http://127.0.0.1:1/services/objectstorage"
    assert data["EC2_ACCESS_KEY"] == "AK ID"
    assert "EC2_URL" not in data
    assert "EC2_SECRET_KEY" not in data
    assert "TWO" not in data
    assert "runs a command" in caplog.text
    assert "skipped" in caplog.text


def test_eucarc_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"touch {marker}\nexport X=$(touch {marker})\n`touch {marker}`\n"
    rc = write(tmp_path / "eucarc", text)
    read_eucarc(rc, environ={})
    assert not marker.exists()


def test_priority_flags_then_environment_then_eucarc_then_ini(tmp_path: Path) -> None:
    rc = write(tmp_path / "eucarc", EUCARC_4X)
    ini = write(tmp_path / "home" / ".euca" / "cloud.ini", """\
[global]
default-region = lab

[region lab]
ec2-url = http://127.0.0.1:9999/services/compute
s3-url = http://127.0.0.1:9999/services/objectstorage
certificate = /ini/cloud-cert.pem
user = admin
verify-ssl = no
ssl-ca-bundle = /ini/ca.pem

[user admin]
key-id = AKIINI
secret-key = ini-secret-abcdefgh
account-id = 210987654321
certificate = /ini/cert.pem
private-key = /ini/pk.pem
""")
    env = {"EC2_CERT": "/env/cert.pem", "AWS_SECRET_ACCESS_KEY": "env-secret-xyz123456",
           "EUCA_DEFAULT_REGION": "lab"}
    creds = load_credentials({"cert": "/flag/cert.pem", "s3_url": None}, environ=env,
                             eucarc=rc, ini_paths=[ini], sources={"cert": "--cert flag"})
    assert creds.cert == Value("/flag/cert.pem", "--cert flag")
    assert creds.secret_key == Value("env-secret-xyz123456", "environment AWS_SECRET_ACCESS_KEY")
    assert creds.get("s3_url") == "http://127.0.0.1:8773/services/objectstorage"
    assert creds.region == Value("lab", "environment EUCA_DEFAULT_REGION")
    assert creds.ca_bundle is not None and creds.ca_bundle.value == "/ini/ca.pem"
    assert creds.ca_bundle.source.endswith("cloud.ini [region lab]")
    assert creds.verify_ssl is not None and creds.verify_ssl.value == "false"
    assert not creds.verify
    # With no eucarc, the ini's user section fills in.
    only_ini = load_credentials(environ={}, ini_paths=[ini])
    assert only_ini.get("access_key") == "AKIINI"
    assert only_ini.get("user") == "210987654321"
    assert only_ini.user is not None and only_ini.user.source.endswith("cloud.ini [user admin]")
    assert only_ini.get("cloud_cert") == "/ini/cloud-cert.pem"


def test_ini_region_and_user_chosen_by_name(tmp_path: Path) -> None:
    ini = write(tmp_path / "a.ini", """\
[region one]
ec2-url = http://127.0.0.1:1/services/compute
[region two]
ec2-url = http://127.0.0.1:2/services/compute
user = bob
[user alice]
key-id = AKIALICE
[user bob]
key-id = AKIBOB
""")
    creds = load_credentials(environ={}, ini_paths=[ini], region_name="two")
    assert creds.get("ec2_url") == "http://127.0.0.1:2/services/compute"
    assert creds.get("access_key") == "AKIBOB"
    creds = load_credentials(environ={}, ini_paths=[ini], region_name="one", user_name="alice")
    assert creds.get("access_key") == "AKIALICE"


def test_environment_spellings(tmp_path: Path) -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKI1", "EC2_ACCOUNT_NUMBER": "1234-5678-9012",
           "AWS_CA_BUNDLE": "~/ca.pem", "AWS_DEFAULT_REGION": "r1"}
    creds = load_credentials(environ=env, ini_paths=[])
    assert creds.access_key == Value("AKI1", "environment AWS_ACCESS_KEY_ID")
    assert creds.get("user") == "123456789012"
    assert creds.get("ca_bundle") == str(Path("~/ca.pem").expanduser())
    assert creds.get("region") == "r1"


def test_describe_masks_the_secret_and_repr_hides_it() -> None:
    secret = "abcdefghijklmnopqrstuvwxyz0123456789"
    creds = load_credentials({"secret_key": secret, "access_key": "AKIVISIBLE"}, environ={},
                             ini_paths=[])
    rows = {name: (shown, source) for name, shown, source in creds.describe()}
    # Given with no source named: the answer key says where it came from.
    assert rows["secret_key"][1] == "cloud.secret_key"
    assert secret not in rows["secret_key"][0]
    assert rows["access_key"] == ("AKIVISIBLE", "cloud.access_key")
    assert rows["cert"] == ("(not set)", "-")
    assert secret not in repr(creds)
    assert secret not in repr(creds.secret_key)


def test_secret_never_reaches_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="wizard")
    rc = write(tmp_path / "eucarc", EUCARC_4X + "export EC2_SECRET_KEY=$(echo nope-secret-value)\n")
    load_credentials(environ={}, eucarc=rc, ini_paths=[])
    assert "eucarc-secret-0123456789abcdef" not in caplog.text
    assert "nope-secret-value" not in caplog.text


@pytest.mark.parametrize("bad", ["12345", "1234567890123", "abcd-efgh-ijkl"])
def test_bad_account_id_is_an_operator_error(bad: str) -> None:
    with pytest.raises(WizardError) as info:
        load_credentials(environ={"EC2_USER_ID": bad}, ini_paths=[])
    assert "12 digits" in info.value.message
    assert "environment EC2_USER_ID" in info.value.message


def test_missing_or_unreadable_eucarc(tmp_path: Path) -> None:
    with pytest.raises(WizardError) as info:
        load_credentials(environ={}, eucarc=tmp_path / "nope" / "eucarc", ini_paths=[])
    assert str(tmp_path / "nope" / "eucarc") in info.value.message
    assert info.value.fix and "eucarc" in info.value.fix and info.value.key == "cloud.eucarc"
    with pytest.raises(WizardError) as info:
        load_credentials(environ={}, eucarc=tmp_path, ini_paths=[])
    assert "folder" in info.value.message
    if os.geteuid() != 0:
        locked = write(tmp_path / "locked", "export A=b\n")
        locked.chmod(0)
        with pytest.raises(WizardError, match="cannot read the eucarc"):
            load_credentials(environ={}, eucarc=locked, ini_paths=[])


def test_broken_ini_is_an_operator_error(tmp_path: Path) -> None:
    ini = write(tmp_path / "bad.ini", "key-without-section = 1\n")
    with pytest.raises(WizardError, match="not a valid ini file"):
        load_credentials(environ={}, ini_paths=[ini])


def test_require_names_the_input_environment_and_eucarc() -> None:
    creds = Credentials()
    with pytest.raises(WizardError) as info:
        creds.require("cert")
    text = info.value.one_line()
    assert "your certificate" in text and "EC2_CERT" in text and "eucarc" in text
    assert info.value.key == "cloud.cert" and "--cert" not in text
    with pytest.raises(WizardError) as info:
        creds.require("secret_key")
    assert "EC2_SECRET_KEY" in info.value.one_line()
    creds = load_credentials({"cert": "/x.pem"}, environ={}, ini_paths=[],
                             sources={"cert": "--cert flag"})
    assert creds.require("cert") == Value("/x.pem", "--cert flag")


def test_default_ini_files_come_from_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write(home / ".euca" / "x.ini", "[user admin]\nkey-id = AKIHOME\n")
    code = ("from wizard.credentials import load_credentials as l; "
            "c = l(environ={}); print(c.access_key.value, '|', c.access_key.source)")
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "AKIHOME | ~/.euca/x.ini [user admin]"


def test_eucarc_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "eucarc"
    os.mkfifo(fifo)
    code = ("from wizard.credentials import load_credentials as l; import sys\n"
            "try:\n    l(environ={}, eucarc=sys.argv[1], ini_paths=[])\n"
            "except Exception as e:\n    print(e)\n")
    # In a child with a deadline: a regression would block on open() for ever.
    out = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True,
                         text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert f"the eucarc {fifo} is not a regular file" in out.stdout
    assert "give the eucarc file from your cloud credentials zip" in out.stdout


def test_ini_that_is_not_utf8_is_an_operator_error(tmp_path: Path) -> None:
    ini = tmp_path / "latin.ini"
    ini.write_bytes(b"[user admin]\nkey-id = AKI\nsecret-key = s\xe9cret\n")
    with pytest.raises(WizardError) as info:
        load_credentials(environ={}, ini_paths=[ini])
    assert info.value.message == f"the euca2ools configuration file {ini} is not UTF-8 text " \
        "(line 3)"
    assert info.value.fix and "UTF-8" in info.value.fix


@pytest.mark.parametrize(("text", "where"), [
    ("key-id = AKI\n[user a]\n", "line 1 comes before any [section] header"),
    ("[user a]\nkey-id = AKI\nsecret-key ini-secret-value-0123\n",
     "line 3 is neither 'key = value' nor a '[section]' header"),
    ("[user a]\nkey-id = AKI\n[region r\n", "line 3 is neither"),
])
def test_broken_ini_names_the_line_but_never_its_text(tmp_path: Path, text: str,
                                                      where: str) -> None:
    ini = write(tmp_path / "bad.ini", text)
    with pytest.raises(WizardError) as info:
        load_credentials(environ={}, ini_paths=[ini])
    assert where in info.value.message
    assert "ini-secret-value" not in info.value.one_line()


def test_several_ini_regions_and_none_chosen_says_to_choose(tmp_path: Path) -> None:
    ini = write(tmp_path / "two.ini", """\
[region lab]
s3-url = http://127.0.0.1:1/services/objectstorage
[region prod]
s3-url = http://127.0.0.1:2/services/objectstorage
""")
    creds = load_credentials(environ={}, ini_paths=[ini])
    with pytest.raises(WizardError) as info:
        creds.require("s3_url")
    assert info.value.fix is not None
    assert info.value.fix.startswith("~/.euca holds several regions (lab, prod): choose one "
                                     "by its name as the region")
    assert "S3_URL" in info.value.fix
    chosen = load_credentials(environ={}, ini_paths=[ini], region_name="prod")
    assert chosen.get("s3_url") == "http://127.0.0.1:2/services/objectstorage"
    assert chosen.notes == ()
    assert "notes" not in {name for name, _, _ in creds.describe()}

"""The credentials a build's answers give: each key named by its answer key, a region of
~/.euca/*.ini chosen by ``region``, the answers over every other source."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wizard.recipe.context import credentials_from_answers
from wizard.session.answers import CloudAnswers

INI = """\
[region lab]
ec2-url = http://127.0.0.1:9001/services/compute
s3-url = http://127.0.0.1:9001/services/objectstorage
certificate = /ini/lab-cloud-cert.pem
user = admin

[region prod]
ec2-url = http://127.0.0.1:9002/services/compute
s3-url = http://127.0.0.1:9002/services/objectstorage
certificate = /ini/prod-cloud-cert.pem
user = admin

[user admin]
key-id = AKIINI
secret-key = ini-secret-abcdefgh
account-id = 210987654321
certificate = /ini/cert.pem
private-key = /ini/pk.pem
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("EC2_", "AWS_", "S3_", "EUCA")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".euca").mkdir()
    (tmp_path / ".euca" / "cloud.ini").write_text(INI)
    return tmp_path


def test_region_picks_a_region_of_the_ini_files(home: Path) -> None:
    creds = credentials_from_answers(CloudAnswers(region="prod"))
    assert creds.get("s3_url") == "http://127.0.0.1:9002/services/objectstorage"
    assert creds.get("cloud_cert") == "/ini/prod-cloud-cert.pem"
    assert creds.get("access_key") == "AKIINI" and creds.get("user") == "210987654321"
    other = credentials_from_answers(CloudAnswers(region="admin@lab"))
    assert other.get("ec2_url") == "http://127.0.0.1:9001/services/compute"


def test_keys_given_one_by_one_win_and_say_where_from(home: Path) -> None:
    creds = credentials_from_answers(CloudAnswers(
        region="prod", access_key="AKIANSWERS", account="1234-5678-9012",
        cert=Path("/answers/cert.pem"), verify_ssl=False))
    assert creds.access_key is not None and creds.access_key.value == "AKIANSWERS"
    assert creds.access_key.source == "answers cloud.access_key"
    assert creds.get("user") == "123456789012"
    assert creds.cert is not None and creds.cert.source == "answers cloud.cert"
    assert creds.get("cert") == "/answers/cert.pem"
    assert creds.verify is False
    # What the answers did not give still comes from the ini's region.
    assert creds.get("secret_key") == "ini-secret-abcdefgh"
    assert creds.get("private_key") == "/ini/pk.pem"

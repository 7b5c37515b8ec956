"""Wrong keys against a front end that checks signatures (the sandbox's proxy), SigV2 and SigV4."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth, SigV2Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.cloud.conftest import FAST, make_bundle
from tests.cloud.test_cloud_cli import assert_one_line_error, run
from wizard.cloud import signatures
from wizard.cloud.endpoints import Cloud, cloud_from_credentials
from wizard.cloud.register import ImageRequest, find_registered
from wizard.cloud.sandbox import Sandbox
from wizard.cloud.upload import upload_bundle
from wizard.core.errors import WizardError
from wizard.credentials import load_credentials

KEY, SECRET = "AKIRIGHT", "right-secret-0123456789"
HOST = "127.0.0.1:8773"


def signed(kind: str, secret: str = SECRET, key: str = KEY) -> tuple[AWSRequest, str]:
    """A request signed by botocore's own signer, and the endpoint path it was made for."""
    creds = Credentials(key, secret)
    if kind in ("s3v2", "s3v4"):
        path = "/services/objectstorage"
        request = AWSRequest(method="PUT", url=f"http://{HOST}{path}/bucket/a.part.0",
                             data=b"part bytes", headers={"Content-MD5": "x", "Host": HOST,
                                                          "x-amz-acl": "aws-exec-read"})
        if kind == "s3v2":
            request.auth_path = "/bucket/a.part.0"
            HmacV1Auth(creds).add_auth(request)
        else:
            request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
            S3SigV4Auth(creds, "s3", "us-east-1").add_auth(request)
        return request, path
    path = "/services/compute" if kind == "ec2v4" else "/services/Eucalyptus"
    params = {"Action": "DescribeImages", "Version": "2016-11-15", "Owner.1": "self"}
    request = AWSRequest(method="POST", url=f"http://{HOST}{path}", data=dict(params),
                         headers={"Content-Type": "application/x-www-form-urlencoded; "
                                  "charset=utf-8", "Host": HOST})
    if kind == "ec2v2":
        SigV2Auth(creds).add_auth(request)
    else:
        SigV4Auth(creds, "ec2", "us-east-1").add_auth(request)
    return request, path


def check(request: AWSRequest, path: str, secrets: dict[str, str]) -> str | None:
    prepared = request.prepare()
    raw = prepared.body
    body = raw if isinstance(raw, bytes) else raw.encode() if isinstance(raw, str) else b""
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    return signatures.verify(prepared.method, prepared.url, headers, body, secrets, path)


@pytest.mark.parametrize("kind", ["s3v2", "s3v4", "ec2v2", "ec2v4"])
def test_signature_check_accepts_botocore_and_refuses_wrong_keys(kind: str):
    secrets = {KEY: SECRET}
    assert check(*signed(kind), secrets) is None
    assert check(*signed(kind, secret="wrong-secret-000"), secrets) == signatures.BAD_SIGNATURE
    assert check(*signed(kind, key="AKIOTHER"), secrets) == signatures.UNKNOWN_KEY


def test_a_changed_request_no_longer_matches_its_signature():
    request, path = signed("s3v4")
    request.headers.replace_header("x-amz-acl", "public-read")
    assert check(request, path, {KEY: SECRET}) == signatures.BAD_SIGNATURE
    request, path = signed("ec2v2")
    request.url = str(request.url).replace("/services/Eucalyptus", "/services/compute")
    assert check(request, path, {KEY: SECRET}) == signatures.BAD_SIGNATURE


def cloud_with(sb: Sandbox, sigv: int | None = None, **flags: str) -> Cloud:
    # Named as the CLI names a value given with its flag ("--secret-key flag").
    sources = {name: f"--{name.replace('_', '-')}{'-id' if name == 'access_key' else ''} flag"
               for name in flags}
    creds = load_credentials(flags, environ={}, eucarc=sb.eucarc, ini_paths=[],
                             sources=sources)
    return cloud_from_credentials(creds, services=("s3", "ec2"), sigv=sigv)


@pytest.mark.parametrize("sigv", [2, 4])
def test_wrong_secret_key_names_the_secret_and_where_it_came_from(cloud_box: Sandbox,
                                                                  tmp_path: Path, sigv: int):
    made = make_bundle(cloud_box, tmp_path, size=2 * 64 * 1024)
    cloud_box.proxy.clear()
    cloud = cloud_with(cloud_box, sigv, secret_key="not-the-secret-key-42")
    with pytest.raises(WizardError) as info:
        upload_bundle(made.manifest, "refused", cloud, policy=FAST)
    text = info.value.one_line()
    assert "refused your credentials (SignatureDoesNotMatch" in text
    assert "check the secret key (from --secret-key flag)" in text
    assert f"access key id (from eucarc {cloud_box.eucarc})" in text
    assert "not-the-secret-key-42" not in text
    # Refused is not transient: one try, and nothing reached the store.
    assert len(cloud_box.proxy.log) == 1
    assert cloud_box.proxy.log[0].status == 403
    with pytest.raises(WizardError) as info:
        find_registered(cloud, ImageRequest("refused/a.manifest.xml", "name"), policy=FAST)
    assert "refused your credentials (AuthFailure" in info.value.one_line()
    assert "the secret key (from --secret-key flag)" in info.value.one_line()


@pytest.mark.parametrize("sigv", [2, 4])
def test_unknown_access_key_is_named(cloud_box: Sandbox, tmp_path: Path, sigv: int):
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    cloud = cloud_with(cloud_box, sigv, access_key="AKINOBODY")
    with pytest.raises(WizardError) as info:
        upload_bundle(made.manifest, "refused", cloud, policy=FAST)
    assert "InvalidAccessKeyId" in info.value.message
    assert info.value.fix == ("check the access key id (from --access-key-id flag): this "
                              "cloud does not know it")


def test_wrong_keys_on_the_command_line_are_one_line_errors(cloud_box: Sandbox,
                                                            tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    rc = str(cloud_box.eucarc)
    wrong = "Wrong-Secret-Key-For-This-Cloud"
    up = run(cloud_box, "upload", "--eucarc", rc, "-S", wrong, "-b", "cli-refused",
             "-m", str(made.manifest))
    assert_one_line_error(up, "SignatureDoesNotMatch", "secret key (from --secret-key flag)")
    assert wrong not in up.stderr + up.stdout
    reg = run(cloud_box, "register", "--eucarc", rc, "-I", "AKINOBODY",
              "cli-refused/sample.img.manifest.xml", "-n", "refused")
    assert_one_line_error(reg, "InvalidAccessKeyId", "access key id (from --access-key-id flag)")

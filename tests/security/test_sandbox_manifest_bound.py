"""The sandbox's cloud reads a manifest no further than its bound (issue 9, item 7's class).

RegisterImage and the bundle check both read the object the image location
names; a location naming a huge object must cost at most the manifest bound
+ 1 byte of memory, then be refused as the cloud refuses a bad manifest.
The object here is a real one in the sandbox's moto, 1 MiB past the bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from wizard.bundle.manifest import MAX_MANIFEST_BYTES
from wizard.cloud.imagecheck import CloudKeys, MotoStore, bundle_fault
from wizard.cloud.sandbox import ACCOUNT, REGION, Sandbox, start_sandbox

BUCKET, KEY = "huge", "images/huge.manifest.xml"


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, MotoStore]]:
    with start_sandbox(tmp_path_factory.mktemp("sandbox"), samples=False) as sb:
        port = sb.proxy.upstream_port
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=BUCKET)
        head = b"<?xml version='1.0'?><manifest><image>"
        s3.put_object(Bucket=BUCKET, Key=KEY,
                      Body=head + b" " * (MAX_MANIFEST_BYTES + 2**20 - len(head)))
        yield sb, MotoStore(port)


def test_the_cloud_reads_a_manifest_object_no_further_than_the_bound(
        huge: tuple[Sandbox, MotoStore]) -> None:
    _, store = huge
    data = store.read_manifest(BUCKET, KEY)
    assert data is not None and len(data) == MAX_MANIFEST_BYTES + 1
    assert store.read_manifest(BUCKET, "not/there.xml") is None


def test_register_image_on_a_huge_manifest_is_refused_as_too_large(
        huge: tuple[Sandbox, MotoStore]) -> None:
    sb, _ = huge
    ec2 = boto3.client("ec2", endpoint_url=sb.ec2_url, region_name=REGION,
                       aws_access_key_id=sb.access_key, aws_secret_access_key=sb.secret_key,
                       config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        ec2.register_image(ImageLocation=f"{BUCKET}/{KEY}", Name="huge")
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidManifest"
    assert "larger than 128 MiB" in error["Message"]
    assert ec2.describe_images(Owners=["self"])["Images"] == []


def test_the_bundle_check_says_the_manifest_is_too_large(
        huge: tuple[Sandbox, MotoStore]) -> None:
    sb, store = huge
    keys = CloudKeys.load(ACCOUNT, sb.cert, Path(sb.folder) / ".cloud" / "cloud-pk.pem")
    fault = bundle_fault(store, f"{BUCKET}/{KEY}", keys)
    assert fault is not None and "larger than 128 MiB" in fault, fault

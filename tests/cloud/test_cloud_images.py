"""The sandbox's images behave as Eucalyptus': eki/eri/emi ids, what was registered is
kept, and an image is available only once its bundle opens as the cloud opens it.

Real boto3 calls and the wizard's own register and wait against the sandbox on
127.0.0.1; broken bundles are made by really breaking them in the store (a part
deleted or overwritten) or by bundling with other keys.
"""

from __future__ import annotations

import datetime
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.cloud.conftest import FAST, PYTHON, cli_env, make_bundle, make_cloud
from wizard.bundle.bundler import BundleRequest, bundle_image
from wizard.bundle.keys import BundleKeys
from wizard.cloud.register import ImageRequest, register_image
from wizard.cloud.sandbox import ACCOUNT, Sandbox, start_sandbox
from wizard.cloud.upload import upload_bundle
from wizard.cloud.wait import wait_until_available
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import CancelFlag, Event, LogLine


def clients(sb: Sandbox) -> tuple[Any, Any]:
    common: dict[str, Any] = dict(region_name="us-east-1", aws_access_key_id=sb.access_key,
                                  aws_secret_access_key=sb.secret_key)
    ec2 = boto3.client("ec2", endpoint_url=sb.ec2_url, config=Config(retries={
        "max_attempts": 1}), **common)
    s3 = boto3.client("s3", endpoint_url=sb.s3_url, config=Config(
        s3={"addressing_style": "path"}), **common)
    return ec2, s3


def identity(folder: Path, name: str) -> tuple[Path, Path]:
    """Another RSA key pair and self-signed certificate (another user's, another cloud's)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / f"{name}-cert.pem", folder / f"{name}-pk.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def upload(sb: Sandbox, folder: Path, prefix: str, **options: Any) -> str:
    made = make_bundle(sb, folder, size=5 * 64 * 1024 + 77, **options)
    return upload_bundle(made.manifest, prefix, make_cloud(sb), policy=FAST).location


def register(sb: Sandbox, location: str, name: str, **fields: Any) -> str:
    return register_image(make_cloud(sb), ImageRequest(location, name, **fields),
                          policy=FAST).image_id


def wait(sb: Sandbox, image_id: str, events: list[Event] | None = None,
         timeout: float = 120) -> str:
    into: list[Event] = events if events is not None else []
    return wait_until_available(make_cloud(sb), image_id, into.append, timeout=timeout,
                                poll=0.05, policy=FAST)


def test_ids_fields_and_filters_as_eucalyptus_gives_them(cloud_box: Sandbox, tmp_path: Path):
    ec2, _ = clients(cloud_box)
    kernel = register(cloud_box, upload(cloud_box, tmp_path / "k", "boot/k",
                                        image_type="kernel"), "memdisk")
    ramdisk = register(cloud_box, upload(cloud_box, tmp_path / "r", "boot/r",
                                         image_type="ramdisk"), "floppy")
    # The manifest carries the kernel and ramdisk: the call need not repeat them.
    location = upload(cloud_box, tmp_path / "m", "win-xp", kernel_id=kernel, ramdisk_id=ramdisk,
                      arch="i386")
    machine = register(cloud_box, location, "windows-xp", description="XP")
    assert re.fullmatch(r"eki-[0-9A-F]{8}", kernel)
    assert re.fullmatch(r"eri-[0-9A-F]{8}", ramdisk)
    assert re.fullmatch(r"emi-[0-9A-F]{8}", machine)
    for image_id in (kernel, ramdisk, machine):
        assert wait(cloud_box, image_id) == "available"
    image = ec2.describe_images(ImageIds=[machine])["Images"][0]
    assert image["ImageLocation"] == location == "win-xp/sample.img.manifest.xml"
    assert (image["KernelId"], image["RamdiskId"]) == (kernel, ramdisk)
    assert (image["ImageType"], image["State"], image["OwnerId"]) == (
        "machine", "available", ACCOUNT)
    assert (image["Name"], image["Description"], image["Architecture"]) == (
        "windows-xp", "XP", "i386")
    assert image["RootDeviceType"] == "instance-store"

    def ids(**query: Any) -> list[str]:
        return [i["ImageId"] for i in ec2.describe_images(**query)["Images"]]

    assert ids(Owners=["self"]) == [kernel, ramdisk, machine]
    assert ids(Owners=[ACCOUNT], Filters=[{"Name": "image-type", "Values": ["kernel"]}]) == \
        [kernel]
    assert ids(Filters=[{"Name": "manifest-location", "Values": [location]}]) == [machine]
    assert ids(Filters=[{"Name": "name", "Values": ["windows-*"]}]) == [machine]
    assert ids(Filters=[{"Name": "image-id", "Values": [ramdisk, kernel]}]) == \
        [kernel, ramdisk]
    assert ids(Owners=["210987654321"]) == []
    with pytest.raises(ClientError) as info:
        ec2.describe_images(ImageIds=["emi-00000000"])
    assert info.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"
    kernel_attr = ec2.describe_image_attribute(ImageId=machine, Attribute="kernel")
    assert kernel_attr["KernelId"]["Value"] == kernel
    ec2.deregister_image(ImageId=machine)
    assert ids(Owners=["self"]) == [kernel, ramdisk]


def test_a_manifest_that_is_not_in_the_store_is_refused(cloud_box: Sandbox):
    ec2, _ = clients(cloud_box)
    with pytest.raises(ClientError) as info:
        ec2.register_image(ImageLocation="nowhere/xp.manifest.xml", Name="nothing")
    assert info.value.response["Error"]["Code"] == "InvalidManifest"
    assert "nowhere/xp.manifest.xml" in info.value.response["Error"]["Message"]
    assert ec2.describe_images(Owners=["self"])["Images"] == []


def _break_missing_part(sb: Sandbox, location: str, tmp_path: Path) -> None:
    _, s3 = clients(sb)
    s3.delete_object(Bucket="faults", Key=location.split("/", 1)[1].replace(
        "manifest.xml", "part.02"))


def _break_tampered_part(sb: Sandbox, location: str, tmp_path: Path) -> None:
    _, s3 = clients(sb)
    key = location.split("/", 1)[1].replace("manifest.xml", "part.01")
    data = bytearray(s3.get_object(Bucket="faults", Key=key)["Body"].read())
    data[100] ^= 0xFF
    s3.put_object(Bucket="faults", Key=key, Body=bytes(data))


def _bundle_with(sb: Sandbox, tmp_path: Path, cert: Path, key: Path, cloud_cert: Path) -> str:
    image = tmp_path / "sample.img"
    image.write_bytes(b"other keys " * 40000)
    keys = BundleKeys.load(cert, key, cloud_cert)
    made = bundle_image(BundleRequest(image=image, destination=tmp_path / "bundle", keys=keys,
                                      user=ACCOUNT, part_size=64 * 1024))
    return upload_bundle(made.manifest_path, "faults/keys", make_cloud(sb), policy=FAST).location


@pytest.mark.parametrize(("fault", "reason"), [
    ("missing part", "the part sample.img.part.02 is not in the store"),
    ("tampered part", "the part sample.img.part.01 does not match its SHA-1 digest"),
    ("signed by another key", "signature does not verify with the account's certificate"),
    ("encrypted for another cloud", "encrypted for another cloud's certificate"),
])
def test_a_broken_bundle_registers_as_failed_with_the_reason(cloud_box: Sandbox,
                                                            tmp_path: Path, fault: str,
                                                            reason: str):
    if fault == "signed by another key":
        cert, key = identity(tmp_path / "keys", "someone-else")
        location = _bundle_with(cloud_box, tmp_path, cert, key, cloud_box.cloud_cert)
    elif fault == "encrypted for another cloud":
        other_cloud, _ = identity(tmp_path / "keys", "other-cloud")
        location = _bundle_with(cloud_box, tmp_path, cloud_box.cert, cloud_box.private_key,
                                other_cloud)
    else:
        location = upload(cloud_box, tmp_path, "faults/parts")
        if fault == "missing part":
            _break_missing_part(cloud_box, location, tmp_path)
        else:
            _break_tampered_part(cloud_box, location, tmp_path)
    image_id = register(cloud_box, location, "broken")  # the cloud takes it, then checks
    events: list[Event] = []
    with pytest.raises(WizardError) as info:
        wait(cloud_box, image_id, events)
    assert f"the cloud could not prepare the image {image_id} (failed: " in info.value.message
    assert reason in info.value.message
    assert info.value.fix and "register again" in info.value.fix
    ec2, _ = clients(cloud_box)
    image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    assert image["State"] == "failed"
    assert reason in image["StateReason"]["Message"]
    assert any(isinstance(e, LogLine) and "waiting for" in e.text for e in events)


def test_a_failed_image_is_replaced_when_the_bundle_is_sent_again(cloud_box: Sandbox,
                                                                 tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=3 * 64 * 1024)
    cloud = make_cloud(cloud_box)
    location = upload_bundle(made.manifest, "again", cloud, policy=FAST).location
    _, s3 = clients(cloud_box)
    s3.delete_object(Bucket="again", Key="sample.img.part.00")
    first = register(cloud_box, location, "again")
    with pytest.raises(WizardError, match="is not in the store"):
        wait(cloud_box, first)
    # The fix as the error gives it: upload again (the missing part is sent), register again.
    upload_bundle(made.manifest, "again", cloud, policy=FAST)
    events: list[Event] = []
    second = register_image(cloud, ImageRequest(location, "again"), events.append,
                            policy=FAST)
    assert not second.already_registered and second.image_id != first
    assert any(isinstance(e, LogLine) and f"{first} was registered from this manifest but "
               "failed" in e.text for e in events)
    assert wait(cloud_box, second.image_id) == "available"
    ec2, _ = clients(cloud_box)
    assert [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]] == \
        [second.image_id]


@pytest.fixture(scope="module")
def slow_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox that takes an hour to check a bundle: its images stay pending."""
    with start_sandbox(tmp_path_factory.mktemp("slow"), samples=False,
                       check_delay=3600) as sb:
        yield sb


def test_the_wait_gives_up_on_an_image_that_stays_pending(slow_box: Sandbox, tmp_path: Path):
    image_id = register(slow_box, upload(slow_box, tmp_path, "slow"), "slow one")
    events: list[Event] = []
    with pytest.raises(WizardError) as info:
        wait(slow_box, image_id, events, timeout=1)
    assert info.value.message == (f"the image {image_id} is still pending after 1 s: the cloud "
                                  "has not finished checking its bundle")
    assert info.value.fix and "register it again later" in info.value.fix
    assert info.value.key == "build.wait_timeout"
    cancel = CancelFlag()
    cancel.cancel()
    with pytest.raises(Cancelled):
        wait_until_available(make_cloud(slow_box), image_id, cancel=cancel, poll=0.05)
    ec2, _ = clients(slow_box)
    # Waiting stopped; the image did not.
    assert ec2.describe_images(ImageIds=[image_id])["Images"][0]["State"] == "pending"


def test_register_command_waits_and_reports(slow_box: Sandbox, cloud_box: Sandbox,
                                            tmp_path: Path):
    for box, name in ((slow_box, "cli-slow"), (cloud_box, "cli-ok")):
        location = upload(box, tmp_path / name, name)
        result = subprocess.run(
            [PYTHON, "-m", "wizard", "register", "--eucarc", str(box.eucarc), location,
             "-n", name, "--wait-timeout", "1"],
            env=cli_env(box), capture_output=True, text=True, timeout=120)
        if box is slow_box:
            assert result.returncode == 1
            assert result.stdout == ""
            last = result.stderr.strip().splitlines()[-1]
            assert re.fullmatch(r"euca-windows-wizard: error: the image emi-[0-9A-F]{8} is "
                                r"still pending after 1 s: .* Fix: register it again later "
                                r".* \(--wait-timeout\)\.", last), result.stderr
        else:
            assert result.returncode == 0, result.stderr
            assert re.fullmatch(r"IMAGE\temi-[0-9A-F]{8}\n", result.stdout)
            assert f"{result.stdout.split()[1]}: available" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_restarted_sandbox_keeps_its_keys_and_images_and_a_running_one_keeps_its_folder(
        tmp_path: Path):
    folder = tmp_path / "box"
    with start_sandbox(folder, samples=False) as first:
        location = upload(first, tmp_path / "b", "keep")
        image_id = register(first, location, "kept")
        assert wait(first, image_id) == "available"
        with pytest.raises(WizardError) as info:
            start_sandbox(folder, samples=False)
        assert f"the sandbox folder {folder} is in use by a running sandbox" in info.value.message
        keys = [(folder / n).read_bytes() for n in ("cloud-cert.pem", "euca2-sandbox-cert.pem",
                                                    "euca2-sandbox-pk.pem")]
        access_key = first.access_key
    with start_sandbox(folder, samples=False) as second:
        assert [(folder / n).read_bytes() for n in ("cloud-cert.pem", "euca2-sandbox-cert.pem",
                                                    "euca2-sandbox-pk.pem")] == keys
        assert second.access_key == access_key
        ec2, _ = clients(second)
        image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
        assert (image["State"], image["ImageLocation"]) == ("available", location)
        # A bundle made against the first run is valid in the second.
        again = register(second, upload(second, tmp_path / "c", "later"), "later")
        assert wait(second, again) == "available"


def test_sending_a_bundle_again_under_a_registered_manifest_names_the_image(
        cloud_box: Sandbox, tmp_path: Path):
    from wizard.core.events import StepWarning

    cloud = make_cloud(cloud_box)
    first = make_bundle(cloud_box, tmp_path / "one", size=2 * 64 * 1024)
    location = upload_bundle(first.manifest, "resend", cloud, policy=FAST).location
    image_id = register(cloud_box, location, "resent")
    assert wait(cloud_box, image_id) == "available"
    # The same bundle again: nothing is sent, nothing to warn about.
    events: list[Event] = []
    upload_bundle(first.manifest, "resend", cloud, events.append, policy=FAST)
    assert not [e for e in events if isinstance(e, StepWarning)]
    # Another bundle under the same manifest name: refused, the image named; the
    # store still holds the image's own bundle.
    s3 = cloud.s3_client()
    held = s3.head_object(Bucket="resend", Key=first.manifest.name)["ETag"]
    other = make_bundle(cloud_box, tmp_path / "two", size=2 * 64 * 1024)
    events.clear()
    with pytest.raises(WizardError) as info:
        upload_bundle(other.manifest, "resend", cloud, events.append, policy=FAST)
    assert info.value.message == (f"{location} is registered as {image_id} from another "
                                  f"bundle: sending this bundle over it would change what "
                                  f"{image_id} is made of")
    assert info.value.fix == ("upload it to another bucket or key prefix than resend, "
                              f"or deregister {image_id} first")
    assert not [e for e in events if isinstance(e, LogLine) and "Removing" in e.text]
    assert s3.head_object(Bucket="resend", Key=first.manifest.name)["ETag"] == held
    listed = s3.list_objects_v2(Bucket="resend")["Contents"]
    assert {o["Key"] for o in listed} == {first.manifest.name} | {
        p.name for p in first.manifest.parent.glob("*.part.*")}
    # From the command line too: one error line, exit 1.
    third = make_bundle(cloud_box, tmp_path / "three", size=2 * 64 * 1024)
    result = subprocess.run(
        [PYTHON, "-m", "wizard", "upload", "--eucarc", str(cloud_box.eucarc), "-b", "resend",
         "-m", str(third.manifest)], env=cli_env(cloud_box), capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if "error:" in line] == [
        f"euca-windows-wizard: error: {location} is registered as {image_id} from another "
        f"bundle: sending this bundle over it would change what {image_id} is made of. "
        f"Fix: upload it to another bucket or key prefix than resend, or deregister "
        f"{image_id} first."]

"""Register against the sandbox's EC2 behind /services/compute: checks first, once only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cloud.conftest import FAST, make_bundle, make_cloud
from wizard.cloud.register import ImageRequest, register_image
from wizard.cloud.sandbox import Sandbox
from wizard.cloud.upload import upload_bundle
from wizard.core.errors import WizardError
from wizard.core.events import Event, StepFailed


def registers(sb: Sandbox) -> list[dict[str, str]]:
    return [e.form for e in sb.proxy.log if e.action == "RegisterImage"]


@pytest.fixture
def uploaded(cloud_box: Sandbox, tmp_path: Path) -> str:
    made = make_bundle(cloud_box, tmp_path, size=3 * 64 * 1024, arch="i386")
    return upload_bundle(made.manifest, "images/xp", make_cloud(cloud_box), policy=FAST).location


@pytest.mark.parametrize("sigv", [2, 4])
def test_register_once_then_find_it(cloud_box: Sandbox, uploaded: str, sigv: int):
    cloud = make_cloud(cloud_box, sigv=sigv)
    cloud_box.proxy.clear()
    first = register_image(cloud, ImageRequest(uploaded, "windows-xp"), policy=FAST)
    assert not first.already_registered
    assert re.fullmatch(r"emi-[0-9A-F]{8}", first.image_id)
    sent = registers(cloud_box)
    assert len(sent) == 1
    assert sent[0]["ImageLocation"] == "images/xp/sample.img.manifest.xml"
    assert sent[0]["Name"] == "windows-xp"
    assert sent[0]["Architecture"] == "i386"  # read from the stored manifest
    calls = [e for e in cloud_box.proxy.log if e.path.startswith("/services/compute")]
    assert calls
    if sigv == 2:
        assert all(e.form.get("SignatureVersion") == "2" for e in calls)
    else:
        assert all(e.headers["authorization"].startswith("AWS4-HMAC-SHA256") for e in calls)
    # The manifest was read from the store before registering.
    manifest_get = next(i for i, e in enumerate(cloud_box.proxy.log)
                        if e.method == "GET" and e.path.endswith(".manifest.xml"))
    register_at = next(i for i, e in enumerate(cloud_box.proxy.log)
                       if e.action == "RegisterImage")
    assert manifest_get < register_at
    again = register_image(cloud, ImageRequest(uploaded, "windows-xp"), policy=FAST)
    assert again.image_id == first.image_id
    assert again.already_registered
    assert len(registers(cloud_box)) == 1


def upload_typed(sb: Sandbox, folder: Path, image_type: str) -> str:
    made = make_bundle(sb, folder / image_type, size=2 * 64 * 1024, name=f"{image_type}.img",
                       image_type=image_type)
    return upload_bundle(made.manifest, f"boot/{image_type}", make_cloud(sb),
                         policy=FAST).location


def test_machine_image_with_kernel_and_ramdisk(cloud_box: Sandbox, uploaded: str,
                                               tmp_path: Path):
    cloud = make_cloud(cloud_box)
    kernel = register_image(cloud, ImageRequest(upload_typed(cloud_box, tmp_path, "kernel"),
                                                "memdisk"), policy=FAST).image_id
    ramdisk = register_image(cloud, ImageRequest(upload_typed(cloud_box, tmp_path, "ramdisk"),
                                                 "floppy"), policy=FAST).image_id
    assert re.fullmatch(r"eki-[0-9A-F]{8}", kernel)
    assert re.fullmatch(r"eri-[0-9A-F]{8}", ramdisk)
    cloud_box.proxy.clear()
    machine = register_image(cloud, ImageRequest(uploaded, "xp-memdisk", arch="x86_64",
                                                 kernel_id=kernel, ramdisk_id=ramdisk,
                                                 description="XP via memdisk"), policy=FAST)
    sent = registers(cloud_box)[-1]
    assert (sent["KernelId"], sent["RamdiskId"]) == (kernel, ramdisk)
    assert sent["Architecture"] == "x86_64"
    assert sent["Description"] == "XP via memdisk"
    # The cloud keeps what it was given, and says so.
    image = cloud.ec2_client().describe_images(ImageIds=[machine.image_id])["Images"][0]
    assert (image["KernelId"], image["RamdiskId"]) == (kernel, ramdisk)
    assert (image["ImageType"], image["Architecture"]) == ("machine", "x86_64")
    assert image["ImageLocation"] == uploaded
    assert image["Description"] == "XP via memdisk"
    assert image["OwnerId"] == cloud_box.account
    types = {i["ImageId"]: i["ImageType"] for i in cloud.ec2_client().describe_images(
        Owners=["self"])["Images"]}
    assert types == {kernel: "kernel", ramdisk: "ramdisk", machine.image_id: "machine"}


@pytest.mark.parametrize("which", ["kernel", "ramdisk"])
def test_kernel_or_ramdisk_that_is_not_registered_is_refused(cloud_box: Sandbox, uploaded: str,
                                                             tmp_path: Path, which: str):
    cloud = make_cloud(cloud_box)
    machine = register_image(cloud, ImageRequest(uploaded, "a-machine"), policy=FAST).image_id
    for wrong in ("eki-1A2B3C4D" if which == "kernel" else "eri-1A2B3C4D", machine):
        ids = {"kernel_id": wrong} if which == "kernel" else {"ramdisk_id": wrong}
        other = upload_bundle(make_bundle(cloud_box, tmp_path / wrong, size=64 * 1024).manifest,
                              f"other/{wrong}", cloud, policy=FAST).location
        with pytest.raises(WizardError) as info:
            register_image(cloud, ImageRequest(other, f"with {wrong}", **ids), policy=FAST)
        assert f"the {which} {wrong} is not usable" in info.value.message
        # Refused before RegisterImage (wizard.cloud.roles), naming the input.
        assert info.value.key == f"build.{which}"
    images = cloud.ec2_client().describe_images(Owners=["self"])["Images"]
    assert [i["ImageId"] for i in images] == [machine]


def test_native_windows_sends_platform_and_hvm(cloud_box: Sandbox, uploaded: str):
    cloud = make_cloud(cloud_box)
    cloud_box.proxy.clear()
    register_image(cloud, ImageRequest(uploaded, "windows-2003", platform="windows",
                                       virtualization_type="hvm"), policy=FAST)
    sent = registers(cloud_box)[-1]
    assert sent["Platform"] == "windows"
    assert sent["VirtualizationType"] == "hvm"


def test_missing_manifest_is_refused_before_register(cloud_box: Sandbox, uploaded: str):
    cloud = make_cloud(cloud_box)
    cloud_box.proxy.clear()
    events: list[Event] = []
    with pytest.raises(WizardError) as info:
        register_image(cloud, ImageRequest("images/xp/other.manifest.xml", "nope"),
                       events.append, policy=FAST)
    assert events[-1] == StepFailed("register", info.value.message, info.value.fix,
                                    key="build.location")
    assert "manifest of images/xp/other.manifest.xml is not in the store" in info.value.message
    assert info.value.fix and "upload" in info.value.fix
    with pytest.raises(WizardError, match=r"bucket of nobucket/a\.manifest\.xml"):
        register_image(cloud, ImageRequest("nobucket/a.manifest.xml", "nope"), policy=FAST)
    assert registers(cloud_box) == []


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("InvalidManifest", "signature does not verify", "cannot use the manifest"),
    ("NotAuthorized", "Only administrators may register kernel images", "administrators"),
    ("AuthFailure", "AWS was not able to validate the provided access credentials",
     "refused your credentials"),
    ("InvalidAMIName.Duplicate", "name in use", "is not accepted"),
])
def test_cloud_errors_become_one_line_with_what_to_do(cloud_box: Sandbox, uploaded: str,
                                                      code: str, message: str, expected: str):
    cloud_box.proxy.clear()  # the fault waits for this test's own lookup, not an earlier one's
    cloud_box.proxy.inject("error", lambda m, p: m == "POST" and p.startswith("/services/compute")
                           and _is_register(cloud_box), times=1, status=400, code=code,
                           message=message)
    with pytest.raises(WizardError) as info:
        register_image(make_cloud(cloud_box), ImageRequest(uploaded, "faulty"), policy=FAST)
    line = info.value.one_line()
    assert expected in line
    assert info.value.fix
    assert "\n" not in line


def _is_register(sb: Sandbox) -> bool:
    # Faults match on method and path; DescribeImages comes first, so let the
    # lookups through: the fault hits once the lookup has been answered.
    return any(e.action == "DescribeImages" for e in sb.proxy.log)


def test_5xx_on_register_looks_again_before_retrying(cloud_box: Sandbox, uploaded: str):
    cloud_box.proxy.clear()
    cloud_box.proxy.inject("503", lambda m, p: m == "POST" and _is_register(cloud_box), times=1)
    result = register_image(make_cloud(cloud_box), ImageRequest(uploaded, "flaky"),
                            policy=FAST)
    assert result.image_id.startswith("emi-")
    actions = [e.action for e in cloud_box.proxy.log if e.action]
    # describe, register (503), describe again, register.
    assert actions == ["DescribeImages", "RegisterImage", "DescribeImages", "RegisterImage"]


@pytest.mark.parametrize(("request_", "pattern"), [
    (ImageRequest("no-slash.manifest.xml", "name"), "not a manifest location"),
    (ImageRequest("bucket/file.img", "name"), "not a manifest location"),
    (ImageRequest("s3://bucket/a.manifest.xml", "name"), "not a manifest location"),
    (ImageRequest("bucket/a.manifest.xml", "x"), "image name"),
    (ImageRequest("bucket/a.manifest.xml", "name", arch="arm"), "architecture"),
    (ImageRequest("bucket/a.manifest.xml", "name", kernel_id="vmlinuz"), "kernel image id"),
    (ImageRequest("bucket/a.manifest.xml", "name", platform="linux"), "platform"),
])
def test_bad_requests_are_refused_without_a_call(cloud_box: Sandbox, request_: ImageRequest,
                                                 pattern: str):
    with pytest.raises(WizardError, match=pattern):
        register_image(make_cloud(cloud_box), request_, policy=FAST)
    assert cloud_box.proxy.log == []


def test_eucalyptus_3_paths_default_to_sigv2_on_the_wire(cloud_box: Sandbox, uploaded: str):
    """/services/Walrus and /services/Eucalyptus, no --sigv: SigV2 for both (proxy-checked)."""
    from wizard.cloud.endpoints import cloud_from_credentials
    from wizard.credentials import load_credentials

    old = {"s3_url": cloud_box.s3_url.replace("/services/objectstorage", "/services/Walrus"),
           "ec2_url": cloud_box.ec2_url.replace("/services/compute", "/services/Eucalyptus")}
    creds = load_credentials(old, environ={}, eucarc=cloud_box.eucarc, ini_paths=[])
    cloud = cloud_from_credentials(creds, services=("s3", "ec2"))
    cloud_box.proxy.clear()
    result = register_image(cloud, ImageRequest(uploaded, "windows-xp-3x"), policy=FAST)
    assert result.image_id.startswith("emi-")
    log = cloud_box.proxy.log
    s3 = [e for e in log if e.path.startswith("/services/Walrus/")]
    ec2 = [e for e in log if e.path.startswith("/services/Eucalyptus")]
    assert s3 and all(e.headers["authorization"].startswith("AWS ") for e in s3)
    assert ec2 and all(e.form.get("SignatureVersion") == "2" for e in ec2)
    assert all(e.status == 200 for e in log)  # the signatures were checked, and held

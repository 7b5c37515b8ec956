"""The boot test against the sandbox: one instance launched, seen running, its console
read, terminated; the sandbox says it boots nothing. Real calls on 127.0.0.1."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.conftest import FAST, PYTHON, cli_env, make_bundle, make_cloud
from wizard.cloud.boottest import boot_test
from wizard.cloud.register import ImageRequest, register_image
from wizard.cloud.sandbox import Sandbox
from wizard.cloud.upload import upload_bundle
from wizard.cloud.wait import wait_until_available
from wizard.core.errors import WizardError
from wizard.core.events import Event, LogLine


def registered(sb: Sandbox, folder: Path, name: str, **options: Any) -> str:
    made = make_bundle(sb, folder, size=2 * 64 * 1024, **options)
    cloud = make_cloud(sb)
    location = upload_bundle(made.manifest, name, cloud, policy=FAST).location
    return register_image(cloud, ImageRequest(location, name), policy=FAST).image_id


def test_boot_test_launches_reads_the_console_and_terminates(cloud_box: Sandbox,
                                                            tmp_path: Path):
    image_id = registered(cloud_box, tmp_path, "bootable")
    cloud = make_cloud(cloud_box)
    wait_until_available(cloud, image_id, poll=0.05, policy=FAST)
    events: list[Event] = []
    report = boot_test(cloud, image_id, events.append, poll=0.05, policy=FAST)
    assert report.sandbox
    assert report.state == "running"
    assert report.console.startswith("euca-windows-wizard SANDBOX: this cloud boots nothing")
    assert "the sandbox boots nothing" in report.summary()
    ec2 = cloud.ec2_client()
    instance = ec2.describe_instances(InstanceIds=[report.instance_id])[
        "Reservations"][0]["Instances"][0]
    assert instance["ImageId"] == image_id
    assert instance["State"]["Name"] in ("shutting-down", "terminated")
    texts = [e.text for e in events if isinstance(e, LogLine)]
    assert texts[0].startswith(f"launched {report.instance_id}")
    assert texts[-1] == f"terminated {report.instance_id}"


def test_an_image_that_is_not_available_is_not_launched(cloud_box: Sandbox, tmp_path: Path):
    kernel = registered(cloud_box, tmp_path / "k", "kernel-only", image_type="kernel")
    with pytest.raises(WizardError, match="instances run machine images"):
        boot_test(make_cloud(cloud_box), kernel, poll=0.05, policy=FAST)
    ec2 = make_cloud(cloud_box).ec2_client()
    assert ec2.describe_instances()["Reservations"] == []


def test_register_boot_test_from_the_command_line(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=2 * 64 * 1024)
    location = upload_bundle(made.manifest, "cli-boot", make_cloud(cloud_box),
                             policy=FAST).location
    result = subprocess.run(
        [PYTHON, "-m", "wizard", "register", "--eucarc", str(cloud_box.eucarc), location,
         "-n", "cli-boot", "--boot-test"], env=cli_env(cloud_box), capture_output=True,
        text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"IMAGE\temi-[0-9A-F]{8}\n", result.stdout)
    assert "euca-windows-wizard SANDBOX: this cloud boots nothing" in result.stderr
    assert re.search(r"boot test of emi-[0-9A-F]{8}: instance i-[0-9a-f]+ was running, but "
                     r"the sandbox boots nothing", result.stderr)
    assert "Traceback" not in result.stderr

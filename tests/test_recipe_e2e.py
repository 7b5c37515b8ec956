"""The whole recipe, headless, as an operator would type it, against the sandbox.

check -> memdisk find -> floppy verify -> bundle/upload/register the memdisk
(kernel), the floppy (ramdisk) and the disk (machine image carrying both),
then the native path (the disk alone, platform windows); each register
waits until the sandbox has opened the bundle as Eucalyptus does. Every command runs
as its own process, through the same CLI an operator uses; the cloud is
the sandbox (moto's server behind Eucalyptus-style paths and image calls)
on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from wizard.cloud.sandbox import Sandbox, start_sandbox
from wizard.memdisk.find import find_memdisk

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with start_sandbox(tmp_path_factory.mktemp("sandbox"), record=True) as cloud:
        yield cloud


def wizard(cloud: Sandbox, *args: str | Path, cwd: Path) -> str:
    """Run one command; returns stdout, fails the test with stderr otherwise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EC2_", "AWS_", "S3_"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "wizard", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )
    assert result.returncode == 0, f"{args[0]} failed: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def image_id(stdout: str) -> str:
    last = stdout.strip().splitlines()[-1]
    word, ident = last.split("\t")
    assert word == "IMAGE"
    return ident


def ec2(cloud: Sandbox):  # type: ignore[no-untyped-def]
    return boto3.client(
        "ec2", endpoint_url=cloud.ec2_url, region_name="us-east-1",
        aws_access_key_id=cloud.access_key, aws_secret_access_key=cloud.secret_key,
        config=Config(retries={"max_attempts": 1}),
    )


def test_memdisk_recipe_end_to_end(sandbox: Sandbox, tmp_path: Path) -> None:
    eucarc = sandbox.eucarc
    found_memdisk = find_memdisk()
    assert found_memdisk is not None, "syslinux-common's memdisk is needed (CI installs it)"
    memdisk = found_memdisk.path
    disk, floppy = sandbox.samples["disk"], sandbox.samples["floppy"]

    found = wizard(sandbox, "memdisk", "find", cwd=tmp_path)
    assert found.strip().splitlines()[-1] == str(memdisk)
    wizard(sandbox, "floppy", "verify", floppy, cwd=tmp_path)

    ids: dict[str, str] = {}
    for role, image, extra in (
        ("kernel", memdisk, ["--image-type", "kernel"]),
        ("ramdisk", floppy, ["--image-type", "ramdisk"]),
    ):
        out = wizard(sandbox, "bundle", "--eucarc", eucarc, "-i", image, "-d", tmp_path / role,
                     *extra, cwd=tmp_path)
        manifest = Path(out.strip().splitlines()[-1].split()[-1])
        out = wizard(sandbox, "upload", "--eucarc", eucarc, "-b", f"recipe/{role}",
                     "-m", manifest, cwd=tmp_path)
        location = out.strip().splitlines()[-1].split()[-1]
        assert location == f"recipe/{role}/{manifest.name}"
        ids[role] = image_id(wizard(sandbox, "register", "--eucarc", eucarc, location,
                                    "-n", f"recipe {role}", cwd=tmp_path))

    out = wizard(sandbox, "bundle", "--eucarc", eucarc, "-i", disk, "-d", tmp_path / "disk",
                 "-p", "windows-xp", "--kernel", ids["kernel"], "--ramdisk", ids["ramdisk"],
                 cwd=tmp_path)
    manifest = Path(out.strip().splitlines()[-1].split()[-1])
    text = manifest.read_text()
    assert f"<kernel_id>{ids['kernel']}</kernel_id><ramdisk_id>{ids['ramdisk']}</ramdisk_id>" \
        in text
    wizard(sandbox, "upload", "--eucarc", eucarc, "-b", "recipe", "-m", manifest, cwd=tmp_path)
    emi = image_id(wizard(sandbox, "register", "--eucarc", eucarc,
                          "recipe/windows-xp.manifest.xml", "-n", "windows-xp",
                          "--kernel", ids["kernel"], "--ramdisk", ids["ramdisk"], cwd=tmp_path))
    assert len({emi, *ids.values()}) == 3
    assert re.fullmatch(r"eki-[0-9A-F]{8}", ids["kernel"])
    assert re.fullmatch(r"eri-[0-9A-F]{8}", ids["ramdisk"])
    assert re.fullmatch(r"emi-[0-9A-F]{8}", emi)

    # Each register waited for its image: the cloud opened every bundle.
    images = {i["ImageId"]: i for i in ec2(sandbox).describe_images(
        ImageIds=[emi, *ids.values()])["Images"]}
    assert set(images) == {emi, *ids.values()}
    assert {i["State"] for i in images.values()} == {"available"}
    machine_image = images[emi]
    assert machine_image["ImageType"] == "machine"
    assert (machine_image["KernelId"], machine_image["RamdiskId"]) == (
        ids["kernel"], ids["ramdisk"])
    assert machine_image["ImageLocation"] == "recipe/windows-xp.manifest.xml"
    assert images[ids["kernel"]]["ImageLocation"] == \
        f"recipe/kernel/{Path(str(memdisk)).name}.manifest.xml"
    assert (images[ids["kernel"]]["ImageType"], images[ids["ramdisk"]]["ImageType"]) == (
        "kernel", "ramdisk")
    calls = [e.form for e in sandbox.proxy.log if e.action == "RegisterImage"]
    machine = [c for c in calls if c.get("ImageLocation") == "recipe/windows-xp.manifest.xml"]
    assert len(machine) == 1, "registered once, found the second time"
    assert machine[0]["KernelId"] == ids["kernel"]
    assert machine[0]["RamdiskId"] == ids["ramdisk"]
    assert machine[0]["Name"] == "windows-xp"

    # What the store holds decrypts to the very disk.
    s3 = boto3.client(
        "s3", endpoint_url=sandbox.s3_url, region_name="us-east-1",
        aws_access_key_id=sandbox.access_key, aws_secret_access_key=sandbox.secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    listing = s3.list_objects_v2(Bucket="recipe", Prefix="windows-xp.")["Contents"]
    for item in listing:
        s3.download_file("recipe", item["Key"], str(fetched / item["Key"]))
    restored = tmp_path / "restored"
    restored.mkdir()
    wizard(sandbox, "unbundle", "-m", fetched / "windows-xp.manifest.xml",
           "-k", sandbox.private_key,
           "-d", restored, cwd=tmp_path)
    assert (restored / "windows-xp").read_bytes() == disk.read_bytes()

    # Registering the same manifest again finds the image instead of a second one.
    again = image_id(wizard(sandbox, "register", "--eucarc", eucarc,
                            "recipe/windows-xp.manifest.xml", "-n", "windows-xp",
                            "--kernel", ids["kernel"], "--ramdisk", ids["ramdisk"],
                            cwd=tmp_path))
    assert again == emi


def test_native_windows_path(sandbox: Sandbox, tmp_path: Path) -> None:
    """Eucalyptus 3/4: the disk alone, an HVM image with platform windows."""
    eucarc = sandbox.eucarc
    out = wizard(sandbox, "bundle", "--eucarc", eucarc, "-i", sandbox.samples["disk"],
                 "-d", tmp_path / "native", "-p", "windows-2003", cwd=tmp_path)
    manifest = Path(out.strip().splitlines()[-1].split()[-1])
    assert "<kernel_id>" not in manifest.read_text()
    wizard(sandbox, "upload", "--eucarc", eucarc, "-b", "native", "-m", manifest, cwd=tmp_path)
    ident = image_id(wizard(sandbox, "register", "--eucarc", eucarc,
                            "native/windows-2003.manifest.xml", "-n", "windows-2003",
                            "--platform", "windows", "--virtualization-type", "hvm",
                            cwd=tmp_path))
    assert re.fullmatch(r"emi-[0-9A-F]{8}", ident)
    image = ec2(sandbox).describe_images(ImageIds=[ident])["Images"][0]
    assert (image["ImageId"], image["State"], image["Platform"]) == (ident, "available",
                                                                     "windows")
    assert (image["VirtualizationType"], image["ImageLocation"]) == (
        "hvm", "native/windows-2003.manifest.xml")
    assert "KernelId" not in image and "RamdiskId" not in image
    calls = [e.form for e in sandbox.proxy.log if e.action == "RegisterImage"
             and e.form.get("ImageLocation") == "native/windows-2003.manifest.xml"]
    assert len(calls) == 1
    assert calls[0]["Platform"] == "windows"
    assert calls[0]["VirtualizationType"] == "hvm"
    assert "KernelId" not in calls[0] and "RamdiskId" not in calls[0]

"""Inputs are checked against what they are, before anything is sent (issue 10).

Real files in the wrong role, given to the real CLI in a child process: a
qcow2 made by ``qemu-img create``, the sandbox's sample memdisk, floppy and
disk. Each is one error line naming what the file is and the role it fits,
the command's own flag after the fix, exit 1, and nothing written. Register
is checked against the sandbox on 127.0.0.1: ids looked up there, swapped
or foreign ids refused, and no RegisterImage on the wire.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.conftest import FAST, cli_env, make_bundle, make_cloud
from tests.cloud.conftest import cloud_box as cloud_box  # the fixtures, for this module
from tests.cloud.conftest import sandbox as sandbox
from tests.wizard_cli import run_wizard
from wizard.cloud.register import ImageRequest, register_image
from wizard.cloud.samples import make_sample_floppy, make_sample_memdisk
from wizard.cloud.sandbox import Sandbox
from wizard.cloud.upload import upload_bundle

PREFIX = "euca-windows-wizard: error: "


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A qcow2 disk, memdisk, a floppy and a raw disk: real files of each kind."""
    if shutil.which("qemu-img") is None:
        pytest.skip("needs qemu-img (Debian: qemu-utils) to make a qcow2 image")
    folder = tmp_path_factory.mktemp("roles")
    qcow2 = folder / "xp.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(qcow2), "64M"], check=True)
    from wizard.cloud.samples import make_sample_disk

    return {"qcow2": qcow2, "memdisk": make_sample_memdisk(folder / "memdisk"),
            "floppy": make_sample_floppy(folder / "win-boot.img"),
            "disk": make_sample_disk(folder / "xp.img")}


def wizard(sb: Sandbox, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_wizard(*args, cwd=cwd, env=cli_env(sb))


def refused(result: subprocess.CompletedProcess[str], *words: str,
            started: str | None = None) -> str:
    """The one error line; ``started``: the step's progress line may come first."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    if started is not None and len(lines) == 2:
        assert lines[0].startswith(started), lines
        lines = lines[1:]
    assert len(lines) == 1 and lines[0].startswith(PREFIX), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.mark.parametrize(("role", "given", "says"), [
    ("machine", "qcow2", ["is a QEMU qcow2 image, not raw", "qemu-img convert", "(-i)."]),
    ("machine", "memdisk", ["is memdisk (a Linux boot image), not a Windows disk image",
                            "bundle it as the kernel", "(-i)."]),
    ("machine", "floppy", ["is a floppy image (1,474,560 bytes), not a Windows disk image",
                           "bundle it as the ramdisk"]),
    ("kernel", "floppy", ["is a floppy image (1,474,560 bytes), not memdisk",
                          "bundle it as the ramdisk"]),
    ("kernel", "disk", ["is not a memdisk", "(-i)."]),
    ("kernel", "qcow2", ["is a QEMU qcow2 disk image, not memdisk"]),
    ("ramdisk", "memdisk", ["is memdisk (a Linux boot image), not a floppy image",
                            "bundle it as the kernel"]),
    ("ramdisk", "disk", ["is 8,388,608 bytes, not a floppy image", "(-i)."]),
    ("ramdisk", "qcow2", ["is a QEMU qcow2 disk image, not a floppy image"]),
])
def test_bundle_refuses_a_file_in_the_wrong_role(sandbox: Sandbox, files: dict[str, Path],
                                                 tmp_path: Path, role: str, given: str,
                                                 says: list[str]) -> None:
    dest = tmp_path / "bundle"
    result = wizard(sandbox, "bundle", "--eucarc", sandbox.eucarc, "-i", files[given],
                    "-d", dest, "--image-type", role, cwd=tmp_path)
    refused(result, str(files[given]), *says)
    assert not dest.exists() or list(dest.iterdir()) == []


@pytest.mark.parametrize(("role", "given"), [("machine", "disk"), ("kernel", "memdisk"),
                                             ("ramdisk", "floppy")])
def test_bundle_takes_each_file_in_its_own_role(sandbox: Sandbox, files: dict[str, Path],
                                                tmp_path: Path, role: str, given: str) -> None:
    result = wizard(sandbox, "bundle", "--eucarc", sandbox.eucarc, "-i", files[given],
                    "-d", tmp_path / "bundle", "--image-type", role, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Wrote manifest ")


# --- register: the ids are looked up in the cloud --------------------------

@pytest.fixture
def boot(cloud_box: Sandbox, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A registered kernel and ramdisk, and machine bundles uploaded but not registered."""
    cloud = make_cloud(cloud_box)

    def uploaded(name: str, **options: Any) -> str:
        made = make_bundle(cloud_box, tmp_path / name, size=64 * 1024, name=f"{name}.img",
                           **options)
        return upload_bundle(made.manifest, f"roles/{name}", cloud, policy=FAST).location

    ids = {role: register_image(cloud, ImageRequest(uploaded(role, image_type=role), role),
                                policy=FAST).image_id for role in ("kernel", "ramdisk")}
    other = register_image(cloud, ImageRequest(uploaded("kernel2", image_type="kernel"),
                                               "kernel2"), policy=FAST).image_id
    yield {**ids, "other_kernel": other, "machine": uploaded("machine"),
           "bundled_with_kernel": uploaded("withkernel", kernel_id=ids["kernel"],
                                           ramdisk_id=ids["ramdisk"])}


def registers(sb: Sandbox) -> list[dict[str, str]]:
    return [e.form for e in sb.proxy.log if e.action == "RegisterImage"]


@pytest.mark.parametrize(("case", "says"), [
    ("swapped", ["the kernel eri-", "is the id of a ramdisk image, not of a kernel",
                 "look swapped", "(--kernel)."]),
    ("machine as kernel", ["the kernel emi-", "is the id of a machine image"]),
    ("unknown kernel", ["the kernel eki-00000000 is not usable: this cloud has no image "
                        "of that id", "(--kernel)."]),
    ("kernel as ramdisk", ["the ramdisk eki-", "is the id of a kernel image, not of a ramdisk",
                           "(--ramdisk)."]),
    ("not the bundled kernel", ["was bundled for the kernel", "(--kernel)."]),
    ("windows with a kernel", ["platform windows) boots without a kernel or ramdisk"]),
    ("windows without hvm", ["must be HVM, not none given", "(--virtualization-type)."]),
    ("windows paravirtual", ["must be HVM, not paravirtual"]),
])
def test_register_refuses_ids_and_platforms_that_cannot_boot(
        cloud_box: Sandbox, boot: dict[str, str], tmp_path: Path, case: str,
        says: list[str]) -> None:
    kernel, ramdisk, machine = boot["kernel"], boot["ramdisk"], boot["machine"]
    location, extra = machine, {
        "swapped": ["--kernel", ramdisk, "--ramdisk", kernel],
        # An emi- id of the sandbox's, given as the kernel (the prefix tells).
        "machine as kernel": ["--kernel", "emi-0A1B2C3D", "--ramdisk", ramdisk],
        "unknown kernel": ["--kernel", "eki-00000000", "--ramdisk", ramdisk],
        "kernel as ramdisk": ["--kernel", kernel, "--ramdisk", boot["other_kernel"]],
        "not the bundled kernel": ["--kernel", boot["other_kernel"]],
        "windows with a kernel": ["--platform", "windows", "--virtualization-type", "hvm",
                                  "--kernel", kernel],
        "windows without hvm": ["--platform", "windows"],
        "windows paravirtual": ["--platform", "windows", "--virtualization-type",
                                "paravirtual"],
    }[case]
    if case == "not the bundled kernel":
        location = boot["bundled_with_kernel"]
    cloud_box.proxy.clear()
    result = wizard(cloud_box, "register", "--eucarc", cloud_box.eucarc, location,
                    "-n", f"roles {case}", *extra, "--no-wait", cwd=tmp_path)
    refused(result, *says, started="Registering ")
    assert registers(cloud_box) == []


def test_register_takes_the_kernel_and_ramdisk_in_their_roles(
        cloud_box: Sandbox, boot: dict[str, str], tmp_path: Path) -> None:
    # Not vacuous: the same ids, each in its own role, register (and the
    # manifest's own ids, given again, agree).
    cloud_box.proxy.clear()
    result = wizard(cloud_box, "register", "--eucarc", cloud_box.eucarc,
                    boot["bundled_with_kernel"], "-n", "roles right", "--kernel", boot["kernel"],
                    "--ramdisk", boot["ramdisk"], "--no-wait", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("IMAGE\temi-")
    assert len(registers(cloud_box)) == 1

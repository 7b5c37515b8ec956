"""Two session stores (two machines, or a lost state folder) building the same name into
one bucket: the second never replaces the bundles the first one's images are made of; it
bundles under the next names and registers new images, saying so. Real processes against
the sandbox cloud; what crosses the wire is counted at its proxy."""

from __future__ import annotations

from pathlib import Path

import boto3

from tests.session.test_run_resume import (
    BUCKET,
    finish,
    ids_of,
    object_puts,
    registrations,
    run,
    write_answers,
)
from wizard.cloud.samples import make_sample_disk
from wizard.cloud.sandbox import Sandbox


def stored(sb: Sandbox) -> dict[str, str]:
    s3 = boto3.client("s3", endpoint_url=sb.s3_url, aws_access_key_id=sb.access_key,
                      aws_secret_access_key=sb.secret_key, region_name="us-east-1")
    return {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}


def test_a_second_store_builds_new_images_beside_the_first(cloud_box: Sandbox,
                                                           tmp_path: Path) -> None:
    disk = make_sample_disk(tmp_path / "xp.img")
    answers = write_answers(tmp_path, cloud_box, "det1", disk)
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path))
    assert code == 0, err
    first = ids_of(out)
    before = stored(cloud_box)

    cloud_box.proxy.clear()
    other = tmp_path / "other-machine"
    code, out, err = finish(run(cloud_box, "--answers", answers, "--yes", cwd=tmp_path,
                                XDG_STATE_HOME=str(other)))
    assert code == 0, err
    second = ids_of(out)
    # New images, none of the first store's.
    assert not set(second.values()) & set(first.values()), (first, second)
    for role in ("kernel", "ramdisk", "image"):
        assert (f"{BUCKET}/det1-{role}.manifest.xml is registered as "
                f"{first[role.upper()]} from another bundle") in err
        assert f"bundling as det1-{role}-2 instead, to register it as a new image" in err
    assert "not registering it again" not in err
    assert "Removing the stale manifest" not in err
    # Every object of the first build is still the one its images were made of.
    after = stored(cloud_box)
    assert {k: after[k] for k in before} == before
    keys = [e.key for e in object_puts(cloud_box.proxy.log)]
    assert keys and all(key.split("/", 1)[1].split(".")[0].endswith("-2") for key in keys)
    assert [e.form.get("ImageLocation") for e in registrations(cloud_box.proxy.log)] == [
        f"{BUCKET}/det1-{role}-2.manifest.xml" for role in ("kernel", "ramdisk", "image")]

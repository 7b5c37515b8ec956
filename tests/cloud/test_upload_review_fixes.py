"""Upload and register against the sandbox: the review's findings on stopping, refusing, listing.

Each test fails on the code before its fix: a SIGTERM that let every queued
part go out, a refusal that failed open when the compute endpoint did not
answer or when a manifest was renamed, deregistered images taken for
registered ones, a listing that never ended, ETags taken for MD5s, and a
manifest removed from under a live image.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.stub import Stubber

from tests.cloud.conftest import FAST, PART, PYTHON, MadeBundle, cli_env, make_bundle, make_cloud
from tests.cloud.test_cloud_upload import store_client, stored_keys
from wizard.cloud.endpoints import Cloud
from wizard.cloud.pathproxy import Exchange
from wizard.cloud.register import ImageRequest, find_registered, register_image
from wizard.cloud.sandbox import Sandbox
from wizard.cloud.upload import registered_from, upload_bundle, uploaded_location
from wizard.core.errors import WizardError
from wizard.core.events import Event, LogLine


def test_sigterm_stops_the_upload_with_no_part_queued_behind_it(cloud_box: Sandbox,
                                                                 tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=30 * PART + 10)
    total = len(made.bundle.manifest.parts)
    concurrency = 2
    proxy = cloud_box.proxy
    # Every part waits 2 s at the proxy: the first ones are surely still on the wire
    # when the signal comes, even on a loaded machine. ``hits`` counts the part PUTs
    # that reached the proxy.
    slow = proxy.inject("delay", lambda m, p: m == "PUT" and ".part." in p, times=10_000,
                        seconds=2.0)
    args = [PYTHON, "-m", "wizard", "upload", "--eucarc", str(cloud_box.eucarc),
            "-b", "stopped/xp", "-m", str(made.manifest), "--concurrency", str(concurrency)]
    child = subprocess.Popen(args, env=cli_env(cloud_box), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while slow.hits < 1:
        assert time.monotonic() < deadline, "the upload did not start"
        assert child.poll() is None, child.communicate()
        time.sleep(0.01)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=120)
    assert proxy.wait_idle(60)
    # The parts on the wire when the signal came (at most one per slot, and one
    # more started as the signal arrived), never the rest of the queue.
    assert slow.hits <= concurrency + 1 < total, (slow.hits, total)
    assert child.returncode == 1
    lines = [line for line in err.decode().splitlines() if "error:" in line]
    assert lines == ["euca-windows-wizard: error: interrupted by SIGTERM. Fix: run the same "
                     "command again to resume."], err
    assert b"Traceback" not in err
    assert "xp/sample.img.manifest.xml" not in stored_keys(cloud_box, "stopped")


def writes(log: list[Exchange], bucket: str) -> list[Exchange]:
    """What changed the store in ``bucket``: object PUTs and DELETEs."""
    return [e for e in log if e.method in ("PUT", "DELETE") and e.key.startswith(bucket + "/")]


def registered(sb: Sandbox, made: MadeBundle, bucket: str) -> tuple[str, str]:
    """``made`` uploaded to ``bucket`` and registered: (location, image id)."""
    cloud = make_cloud(sb)
    location = upload_bundle(made.manifest, bucket, cloud, policy=FAST).location
    image = register_image(cloud, ImageRequest(location=location, name="sample"), policy=FAST)
    return location, image.image_id


def test_a_renamed_manifest_cannot_send_its_parts_over_a_registered_image(
        cloud_box: Sandbox, tmp_path: Path):
    first = make_bundle(cloud_box, tmp_path / "a", size=5 * PART)
    registered(cloud_box, first, "renamed")
    before = stored_keys(cloud_box, "renamed")
    other = make_bundle(cloud_box, tmp_path / "b", size=5 * PART)  # same <name>, other parts
    renamed = other.manifest.with_name("sample-new.manifest.xml")
    other.manifest.rename(renamed)
    cloud_box.proxy.clear()
    with pytest.raises(WizardError) as caught:
        upload_bundle(renamed, "renamed", make_cloud(cloud_box), policy=FAST)
    line = caught.value.one_line()
    assert "\n" not in line
    assert "sample-new.manifest.xml describes the bundle 'sample.img'" in line
    assert "sample.img.manifest.xml" in line
    assert writes(cloud_box.proxy.log, "renamed") == []
    assert stored_keys(cloud_box, "renamed") == before


def compute(method: str, path: str) -> bool:
    return path.startswith("/services/compute")


def test_an_unanswered_lookup_never_lets_a_bundle_replace_a_registered_one(
        cloud_box: Sandbox, tmp_path: Path):
    first = make_bundle(cloud_box, tmp_path / "a", size=5 * PART)
    location, image_id = registered(cloud_box, first, "failopen")
    before = stored_keys(cloud_box, "failopen")
    other = make_bundle(cloud_box, tmp_path / "b", size=7 * PART)  # same name, other content
    cloud_box.proxy.clear()
    cloud_box.proxy.inject("503", compute, times=10_000)  # S3 answers, EC2 does not
    with pytest.raises(WizardError) as caught:
        upload_bundle(other.manifest, "failopen", make_cloud(cloud_box), policy=FAST)
    line = caught.value.one_line()
    assert line.startswith(f"cannot check whether {location} is registered (")
    assert "nothing was sent. Fix: run the same command again when the cloud answers." in line
    assert writes(cloud_box.proxy.log, "failopen") == []
    # No EC2 URL at all: the store's other manifest is not replaced either.
    cloud_box.proxy.clear()
    with pytest.raises(WizardError) as caught:
        upload_bundle(other.manifest, "failopen", make_cloud(cloud_box, services=("s3",)),
                      policy=FAST)
    assert caught.value.key == "cloud.ec2_url"
    assert "another bundle's manifest at failopen/sample.img.manifest.xml" in caught.value.message
    assert writes(cloud_box.proxy.log, "failopen") == []
    assert stored_keys(cloud_box, "failopen") == before
    # The cloud answers again: the refusal names the image.
    cloud_box.proxy.clear()
    with pytest.raises(WizardError, match=f"registered as {image_id} from another bundle"):
        upload_bundle(other.manifest, "failopen", make_cloud(cloud_box), policy=FAST)
    assert stored_keys(cloud_box, "failopen") == before


def test_a_first_upload_needs_no_answer_from_the_compute_endpoint(cloud_box: Sandbox,
                                                                 tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=3 * PART)
    cloud_box.proxy.inject("503", compute, times=10_000)
    result = upload_bundle(made.manifest, "first", make_cloud(cloud_box), policy=FAST)
    assert (result.parts_sent, result.manifest_sent) == (len(made.bundle.manifest.parts), True)


def test_a_failed_resume_under_our_own_manifest_leaves_that_manifest(cloud_box: Sandbox,
                                                                    tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=4 * PART)
    registered(cloud_box, made, "keep")
    s3 = store_client(cloud_box)
    lost = made.bundle.manifest.parts[1].filename
    s3.delete_object(Bucket="keep", Key=lost)  # one part of a live image is gone
    cloud_box.proxy.clear()
    cloud_box.proxy.inject("error", lambda m, p: m == "PUT" and ".part." in p, times=10_000,
                           status=403, code="AccessDenied", message="injected")
    with pytest.raises(WizardError, match="denied"):
        upload_bundle(made.manifest, "keep", make_cloud(cloud_box), policy=FAST)
    assert [e for e in cloud_box.proxy.log if e.method == "DELETE"] == []
    body = s3.get_object(Bucket="keep", Key="sample.img.manifest.xml")["Body"].read()
    assert body == made.manifest.read_bytes()
    # Once the store takes parts again, the resume sends the lost part only.
    cloud_box.proxy.clear()
    result = upload_bundle(made.manifest, "keep", make_cloud(cloud_box), policy=FAST)
    assert (result.parts_sent, result.manifest_sent) == (1, False)
    assert [e.key for e in writes(cloud_box.proxy.log, "keep")] == [f"keep/{lost}"]


def listing_only(cloud: Cloud, *answers: list[dict[str, str]]) -> Stubber:
    """``cloud``'s EC2 client answers DescribeImages with ``answers``, one a call.

    The sandbox forgets an image at DeregisterImage; Eucalyptus lists it as
    ``deregistered`` for a while. Only that listing's shape is stubbed here,
    the store stays the sandbox's.
    """
    ec2 = cloud.ec2_client()
    stub = Stubber(ec2)
    for images in answers:
        stub.add_response("describe_images", {"Images": images})
    stub.activate()
    object.__setattr__(cloud, "ec2_client", lambda **_: ec2)
    return stub


def test_a_deregistered_image_still_listed_is_not_registered(cloud_box: Sandbox,
                                                            tmp_path: Path):
    first = make_bundle(cloud_box, tmp_path / "a", size=3 * PART)
    location, image_id = registered(cloud_box, first, "dereg")
    gone = {"ImageId": image_id, "ImageLocation": location, "State": "deregistered",
            "Name": "sample"}
    cloud = make_cloud(cloud_box)
    stub = listing_only(cloud, [gone], [gone], [gone])
    request = ImageRequest(location=location, name="sample")
    assert find_registered(cloud, request, policy=FAST) is None
    assert registered_from(cloud, location) == []
    # The operator deregistered it: a new bundle of that name may take its place.
    other = make_bundle(cloud_box, tmp_path / "b", size=4 * PART)
    result = upload_bundle(other.manifest, "dereg", cloud, policy=FAST)
    assert result.manifest_sent
    body = store_client(cloud_box).get_object(Bucket="dereg", Key="sample.img.manifest.xml")
    assert body["Body"].read() == other.manifest.read_bytes()
    stub.assert_no_pending_responses()


def test_of_several_images_from_one_manifest_the_working_one_counts(cloud_box: Sandbox):
    location = "several/sample.img.manifest.xml"
    failed = {"ImageId": "emi-0000000F", "ImageLocation": location, "State": "failed",
              "Name": "sample"}
    live = {"ImageId": "emi-0000000A", "ImageLocation": location, "State": "available",
            "Name": "sample"}
    cloud = make_cloud(cloud_box)
    listing_only(cloud, [failed, live])
    assert find_registered(cloud, ImageRequest(location=location, name="sample"),
                           policy=FAST) == "emi-0000000A"


def listing(bucket: str) -> Callable[[str, str], bool]:
    """The store's listings of ``bucket`` (ListObjectsV2 and ListObjects alike)."""
    return lambda m, p: m == "GET" and f"/{bucket}?" in p and "prefix=" in p


def as_the_first_listobjects(page: int, *, marker_too: bool = False) -> Callable[[str], str]:
    """A store that ignores ``list-type=2`` (and its token) and answers ``page`` keys a
    page, as ListObjects; ``marker_too``: one that ignores ListObjects' marker as well."""
    ignored = {"list-type", "continuation-token", "start-after", "fetch-owner", "max-keys"}
    if marker_too:
        ignored.add("marker")

    def path(upstream: str) -> str:
        base, _, query = upstream.partition("?")
        kept = [f for f in query.split("&") if f and f.split("=", 1)[0] not in ignored]
        return f"{base}?{'&'.join([*kept, f'max-keys={page}'])}"
    return path


def test_a_listing_answered_as_listobjects_pages_on_by_marker(cloud_box: Sandbox,
                                                              tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=6 * PART)
    keys = len(made.bundle.manifest.parts) + 1
    location = upload_bundle(made.manifest, "v1store", make_cloud(cloud_box),
                             policy=FAST).location
    cloud_box.proxy.clear()
    old_store = cloud_box.proxy.inject("rewrite", listing("v1store"), times=200,
                                       path=as_the_first_listobjects(2))
    again = upload_bundle(made.manifest, "v1store", make_cloud(cloud_box), policy=FAST)
    assert (again.parts_sent, again.parts_skipped, again.manifest_sent) == (
        0, keys - 1, False)
    assert uploaded_location(made.manifest, "v1store", make_cloud(cloud_box),
                             policy=FAST) == location
    # Page one, then by marker 2 keys a page (one page more for the done check).
    assert old_store.hits <= 2 * (keys // 2 + 2) < 200, old_store.hits
    assert writes(cloud_box.proxy.log, "v1store") == []


def test_a_listing_that_does_not_move_on_is_one_line_not_a_loop(cloud_box: Sandbox,
                                                                tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=6 * PART)
    upload_bundle(made.manifest, "stuck", make_cloud(cloud_box), policy=FAST)
    cloud_box.proxy.clear()
    stuck = cloud_box.proxy.inject("rewrite", listing("stuck"), times=200,
                                   path=as_the_first_listobjects(2, marker_too=True))
    with pytest.raises(WizardError) as caught:
        upload_bundle(made.manifest, "stuck", make_cloud(cloud_box), policy=FAST)
    line = caught.value.one_line()
    assert "\n" not in line
    assert line.startswith("the store's listing of stuck/sample.img.* does not move on")
    assert stuck.hits < 200
    assert writes(cloud_box.proxy.log, "stuck") == []


def multipart_etags(body: bytes) -> bytes:
    """ETags as a store gives them for multipart uploads: not the MD5."""
    return re.sub(rb"(<ETag>[^<]*?)([0-9a-f]{32})", rb"\1\2-1", body)


def test_etags_that_are_not_md5s_neither_break_the_resume_nor_the_refusal(
        cloud_box: Sandbox, tmp_path: Path):
    first = make_bundle(cloud_box, tmp_path / "a", size=4 * PART)
    location, image_id = registered(cloud_box, first, "etags")
    parts = len(first.bundle.manifest.parts)
    cloud_box.proxy.clear()
    cloud_box.proxy.inject("rewrite", listing("etags"), times=10_000, body=multipart_etags)
    cloud = make_cloud(cloud_box)
    # The store's manifest is read and compared: it is this bundle's.
    assert uploaded_location(first.manifest, "etags", cloud, policy=FAST) == location
    events: list[Event] = []
    again = upload_bundle(first.manifest, "etags", cloud, events.append, policy=FAST)
    assert (again.parts_sent, again.manifest_sent) == (parts, False)
    said = [e.text for e in events if isinstance(e, LogLine) and "not MD5s" in e.text]
    assert said == [f"{parts} of {parts} parts are in the store under ETags that are not "
                    "MD5s (multipart uploads, some Walrus versions), so whether they are "
                    "these cannot be told: sending them again"]
    # Another bundle of the name is still refused: its manifest differs byte for byte.
    other = make_bundle(cloud_box, tmp_path / "b", size=4 * PART)
    before = stored_keys(cloud_box, "etags")
    cloud_box.proxy.log.clear()
    with pytest.raises(WizardError, match=f"registered as {image_id} from another bundle"):
        upload_bundle(other.manifest, "etags", cloud, policy=FAST)
    assert writes(cloud_box.proxy.log, "etags") == []
    assert stored_keys(cloud_box, "etags") == before

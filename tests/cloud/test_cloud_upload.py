"""Upload against a real S3 (moto) behind /services/objectstorage: wire, store, faults, resume."""

from __future__ import annotations

import contextlib
import hashlib
import signal
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.cloud.conftest import FAST, PYTHON, cli_env, make_bundle, make_cloud
from wizard.bundle.unbundler import unbundle
from wizard.cloud.pathproxy import Exchange
from wizard.cloud.sandbox import Sandbox
from wizard.cloud.upload import parse_destination, upload_bundle
from wizard.core.errors import Cancelled, WizardError
from wizard.core.events import (
    CancelFlag,
    Event,
    LogLine,
    StepFailed,
    StepProgress,
    StepWarning,
)


def object_puts(log: list[Exchange], bucket: str) -> list[Exchange]:
    """PUTs of objects (not of the bucket itself) into ``bucket``."""
    return [e for e in log if e.method == "PUT" and e.key.startswith(bucket + "/")]


def store_client(sb: Sandbox):  # a plain client to look at the store independently
    return boto3.client("s3", endpoint_url=sb.s3_url, region_name="us-east-1",
                        aws_access_key_id=sb.access_key, aws_secret_access_key=sb.secret_key,
                        config=Config(s3={"addressing_style": "path"}))


def stored_keys(sb: Sandbox, bucket: str) -> dict[str, str]:
    s3 = store_client(sb)
    try:
        contents = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    except s3.exceptions.NoSuchBucket:
        return {}
    return {o["Key"]: o["ETag"].strip('"') for o in contents}


def test_upload_sends_parts_then_manifest_with_acl_and_md5(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path)
    events: list[Event] = []
    result = upload_bundle(made.manifest, "windows/xp", make_cloud(cloud_box), events.append,
                           policy=FAST)
    assert result.location == "windows/xp/sample.img.manifest.xml"
    parts = made.bundle.manifest.parts
    assert result.parts_sent == len(parts) > 10
    puts = object_puts(cloud_box.proxy.log, "windows")
    assert len(puts) == len(parts) + 1
    for put in puts:
        assert put.path.startswith("/services/objectstorage/windows/xp/")
        assert put.headers["x-amz-acl"] == "aws-exec-read"
        assert "content-md5" in put.headers
        assert put.status == 200
    assert puts[-1].key == "windows/xp/sample.img.manifest.xml"
    # The bucket was created through the Eucalyptus path, path-style.
    assert any(e.method == "PUT" and e.path == "/services/objectstorage/windows"
               for e in cloud_box.proxy.log)
    progress = [e for e in events if isinstance(e, StepProgress) and e.parts_total]
    assert progress[-1].parts_done == progress[-1].parts_total == len(parts)
    assert progress[-1].done == progress[-1].total


def test_store_holds_the_bundle_and_it_unbundles(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path / "local", name="disk.img")
    upload_bundle(made.manifest, "images", make_cloud(cloud_box), policy=FAST)
    s3 = store_client(cloud_box)
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    local_folder = made.manifest.parent
    for name in [p.filename for p in made.bundle.manifest.parts] + [made.manifest.name]:
        data = s3.get_object(Bucket="images", Key=name)["Body"].read()
        assert data == (local_folder / name).read_bytes(), name
        (fetched / name).write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    unbundle(fetched / made.manifest.name, cloud_box.private_key, destination=out)
    assert (out / "disk.img").read_bytes() == made.image.read_bytes()


def test_503s_and_dropped_connections_are_retried(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path)
    proxy = cloud_box.proxy
    proxy.inject("503", lambda m, p: m == "PUT" and p.endswith(".part.03"), times=2)
    proxy.inject("drop", lambda m, p: m == "PUT" and p.endswith(".part.07"), times=2)
    proxy.inject("503", lambda m, p: m == "PUT" and p.endswith(".manifest.xml"), times=1)
    proxy.inject("drop", lambda m, p: m == "GET" and "list-type" in p, times=1)
    events: list[Event] = []
    result = upload_bundle(made.manifest, "retry-bucket", make_cloud(cloud_box),
                           events.append, policy=FAST)
    assert result.parts_sent == len(made.bundle.manifest.parts)
    log = proxy.log
    assert [e.status for e in log if e.path.endswith(".part.03")] == [503, 503, 200]
    assert [e.status for e in log if e.path.endswith(".part.07")] == [0, 0, 200]
    assert [e.status for e in log if e.path.endswith(".manifest.xml")] == [503, 200]
    retries = [e.text for e in events if isinstance(e, LogLine) and "trying again" in e.text]
    assert len(retries) == 6
    stored = stored_keys(cloud_box, "retry-bucket")
    for part in made.bundle.manifest.parts:
        local = (made.manifest.parent / part.filename).read_bytes()
        assert stored[part.filename] == hashlib.md5(local).hexdigest()


def test_persistent_failure_gives_up_without_the_manifest(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path)
    cloud_box.proxy.inject("503", lambda m, p: m == "PUT" and p.endswith(".part.02"), times=99)
    events: list[Event] = []
    with pytest.raises(WizardError) as info:
        upload_bundle(made.manifest, "broken", make_cloud(cloud_box), events.append,
                      policy=FAST)
    # The step that started ends as failed, with the operator's message (TUI, event log).
    assert events[-1] == StepFailed("upload", info.value.message, info.value.fix)
    text = info.value.one_line()
    assert "sample.img.part.02" in text and "503" in text
    assert "sample.img.manifest.xml" not in stored_keys(cloud_box, "broken")
    assert len([e for e in cloud_box.proxy.log if e.path.endswith(".part.02")]) == FAST.attempts


def test_cancel_half_way_then_resume_sends_only_what_is_missing(cloud_box: Sandbox,
                                                                tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path)
    total = len(made.bundle.manifest.parts)
    cancel = CancelFlag()
    proxy = cloud_box.proxy
    proxy.inject("delay", lambda m, p: m == "PUT" and ".part." in p, times=999, seconds=0.05)

    def operator() -> None:  # presses Cancel once five parts are stored
        while len([e for e in object_puts(proxy.log, "resume") if e.status == 200]) < 5:
            time.sleep(0.005)
        cancel.cancel()

    watcher = threading.Thread(target=operator, daemon=True)
    watcher.start()
    with pytest.raises(Cancelled):
        upload_bundle(made.manifest, "resume", make_cloud(cloud_box), cancel=cancel,
                      concurrency=2, policy=FAST)
    watcher.join(timeout=10)
    stored = stored_keys(cloud_box, "resume")
    assert "sample.img.manifest.xml" not in stored
    assert 5 <= len(stored) < total
    cloud_box.proxy.clear()
    result = upload_bundle(made.manifest, "resume", make_cloud(cloud_box), policy=FAST)
    puts = object_puts(cloud_box.proxy.log, "resume")
    assert result.parts_skipped == len(stored)
    assert len(puts) == total - len(stored) + 1
    assert not {p.key.split("/", 1)[1] for p in puts} & set(stored)
    assert puts[-1].key == "resume/sample.img.manifest.xml"
    # A third run sends nothing at all.
    cloud_box.proxy.clear()
    again = upload_bundle(made.manifest, "resume", make_cloud(cloud_box), policy=FAST)
    assert (again.parts_sent, again.manifest_sent) == (0, False)
    assert object_puts(cloud_box.proxy.log, "resume") == []


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_killed_cli_upload_resumes_with_only_the_missing_parts(cloud_box: Sandbox,
                                                               tmp_path: Path, how: int):
    made = make_bundle(cloud_box, tmp_path)
    total = len(made.bundle.manifest.parts)
    proxy = cloud_box.proxy
    # Slow every part down so the process is surely mid-way when it is killed.
    proxy.inject("delay", lambda m, p: m == "PUT" and ".part." in p, times=999, seconds=0.15)
    args = [PYTHON, "-m", "wizard", "upload", "--eucarc", str(cloud_box.eucarc),
            "-b", "killed/xp", "-m", str(made.manifest), "--concurrency", "1"]
    child = subprocess.Popen(args, env=cli_env(cloud_box), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len([e for e in object_puts(proxy.log, "killed") if e.status == 200]) < 5:
        assert time.monotonic() < deadline, "the upload did not start"
        assert child.poll() is None, child.communicate()
        time.sleep(0.02)
    child.send_signal(how)
    _, err = child.communicate(timeout=30)
    if how == signal.SIGINT:  # Ctrl+C: the part on the wire finishes, then one line
        assert child.returncode == 1
        lines = [line for line in err.decode().splitlines() if "error:" in line]
        assert lines == ["euca-windows-wizard: error: interrupted by Ctrl+C; the parts already "
                         "stored stay and the manifest was not sent. Fix: run the same "
                         "command again to resume."], err
        assert b"Traceback" not in err
    assert proxy.wait_idle()  # a part on its way when the client died may still land
    stored = stored_keys(cloud_box, "killed")
    assert "xp/sample.img.manifest.xml" not in stored
    assert 5 <= len(stored) < total
    proxy.clear()
    done = subprocess.run(args, env=cli_env(cloud_box), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "Uploaded killed/xp/sample.img.manifest.xml"
    puts = object_puts(proxy.log, "killed")
    assert len(puts) == total - len(stored) + 1
    assert puts[-1].key.endswith(".manifest.xml")
    assert "already in the store" in done.stderr


def test_a_stale_manifest_is_removed_before_parts_change(cloud_box: Sandbox, tmp_path: Path):
    first = make_bundle(cloud_box, tmp_path / "one")
    upload_bundle(first.manifest, "stale", make_cloud(cloud_box), policy=FAST)
    second = make_bundle(cloud_box, tmp_path / "two")  # same name, new key: all parts differ
    cloud_box.proxy.clear()
    upload_bundle(second.manifest, "stale", make_cloud(cloud_box), policy=FAST)
    log = cloud_box.proxy.log
    deletes = [i for i, e in enumerate(log) if e.method == "DELETE"]
    first_part = next(i for i, e in enumerate(log) if e.method == "PUT" and ".part." in e.path)
    assert deletes and deletes[0] < first_part
    assert log[deletes[0]].key == "stale/sample.img.manifest.xml"
    data = store_client(cloud_box).get_object(Bucket="stale", Key="sample.img.manifest.xml")
    assert data["Body"].read() == second.manifest.read_bytes()


def test_corrupt_or_missing_part_stops_before_the_first_byte(cloud_box: Sandbox,
                                                             tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path)
    part = made.manifest.parent / made.bundle.manifest.parts[4].filename
    data = bytearray(part.read_bytes())
    data[100] ^= 1
    part.write_bytes(bytes(data))
    with pytest.raises(WizardError, match=r"part sample\.img\.part\.04 is damaged"):
        upload_bundle(made.manifest, "never", make_cloud(cloud_box), policy=FAST)
    part.unlink()
    with pytest.raises(WizardError, match=r"part sample\.img\.part\.04 .* is missing"):
        upload_bundle(made.manifest, "never", make_cloud(cloud_box), policy=FAST)
    assert cloud_box.proxy.log == []


def test_bucket_of_another_account_is_refused(cloud_box: Sandbox, tmp_path: Path):
    # A second account, as moto makes one: credentials of a role in account 111111111111.
    upstream = f"http://127.0.0.1:{cloud_box.proxy.upstream_port}"
    sts = boto3.client("sts", endpoint_url=upstream, region_name="us-east-1",
                       aws_access_key_id="AKIDOTHER", aws_secret_access_key="x" * 20)
    role = sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/other",
                           RoleSessionName="other-account")["Credentials"]
    # The proxy checks signatures like a cloud's front end: it learns the new key.
    cloud_box.proxy.allow(role["AccessKeyId"], role["SecretAccessKey"])
    other = boto3.client("s3", endpoint_url=cloud_box.s3_url, region_name="us-east-1",
                         aws_access_key_id=role["AccessKeyId"],
                         aws_secret_access_key=role["SecretAccessKey"],
                         aws_session_token=role["SessionToken"],
                         config=Config(s3={"addressing_style": "path"}))
    other.create_bucket(Bucket="someone-elses")
    made = make_bundle(cloud_box, tmp_path)
    cloud_box.proxy.clear()
    with pytest.raises(WizardError) as info:
        upload_bundle(made.manifest, "someone-elses", make_cloud(cloud_box), policy=FAST)
    assert "belongs to another account" in info.value.message
    assert info.value.fix and "another bucket name" in info.value.fix
    assert info.value.key == "build.bucket"
    assert object_puts(cloud_box.proxy.log, "someone-elses") == []


def test_walrus_prefix_warns_and_speaks_sigv2(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=3 * 64 * 1024)
    walrus = cloud_box.s3_url.replace("/services/objectstorage", "/services/Walrus")
    from wizard.cloud.endpoints import cloud_from_credentials
    from wizard.credentials import load_credentials

    creds = load_credentials({"s3_url": walrus}, environ={}, eucarc=cloud_box.eucarc,
                             ini_paths=[])
    cloud = cloud_from_credentials(creds, services=("s3",))
    events: list[Event] = []
    upload_bundle(made.manifest, "old-cloud/win", cloud, events.append, policy=FAST)
    warnings = [e.text for e in events if isinstance(e, StepWarning)]
    assert any("Walrus" in w and "prefix" in w for w in warnings)
    puts = object_puts(cloud_box.proxy.log, "old-cloud")
    assert puts and all(p.path.startswith("/services/Walrus/old-cloud/win/") for p in puts)
    assert all(p.headers["authorization"].startswith("AWS ") for p in puts)


def test_sigv4_on_request(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=2 * 64 * 1024)
    upload_bundle(made.manifest, "v4-bucket", make_cloud(cloud_box, sigv=4), policy=FAST)
    puts = object_puts(cloud_box.proxy.log, "v4-bucket")
    assert puts and all(p.headers["authorization"].startswith("AWS4-HMAC-SHA256") for p in puts)
    # No aws-chunked bodies or trailing checksums: Walrus/objectstorage do not know them.
    assert all("aws-chunked" not in p.headers.get("content-encoding", "") for p in puts)
    assert all(not any(h.startswith("x-amz-checksum") for h in p.headers) for p in puts)


@pytest.mark.parametrize("text", ["ab", "Bad_Bucket!", "-lead", "a..b", "192.168.1.1",
                                  "ok-bucket/../x"])
def test_bad_destinations(text: str):
    with pytest.raises(WizardError):
        parse_destination(text)


@pytest.mark.parametrize("text", ["Windows_Images", "XP-images", "images.2026"])
def test_extended_bucket_names_of_eucalyptus_pass(text: str):
    assert parse_destination(text + "/xp").bucket == text


def test_bad_bucket_messages_match_the_rule():
    with pytest.raises(WizardError) as info:
        parse_destination("/xp")
    assert info.value.message == "'/xp' names no bucket before the first /"
    with pytest.raises(WizardError) as info:
        parse_destination("a_")
    assert info.value.fix and "letters, digits, dots, hyphens or underscores" in info.value.fix
    assert "lowercase letters" not in info.value.fix.split(";")[0]


def test_a_store_that_refuses_the_bucket_name_says_so(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    cloud_box.proxy.inject("error", lambda m, p: m == "PUT" and p.endswith("/Windows_Images"),
                           status=400, code="InvalidBucketName",
                           message="The specified bucket is not valid.")
    with pytest.raises(WizardError) as info:
        upload_bundle(made.manifest, "Windows_Images", make_cloud(cloud_box), policy=FAST)
    assert "does not accept the bucket name 'Windows_Images'" in info.value.message
    assert info.value.fix and "lowercase" in info.value.fix
    assert object_puts(cloud_box.proxy.log, "Windows_Images") == []


def test_destination_with_prefix():
    dest = parse_destination("images/xp/sp3/")
    assert (dest.bucket, dest.prefix) == ("images", "xp/sp3")
    assert dest.location("a.manifest.xml") == "images/xp/sp3/a.manifest.xml"


def test_hung_endpoint_times_out_naming_the_url(cloud_box: Sandbox, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    """A server that accepts connections and never answers: read timeouts, then one error.

    Each try is one connection (botocore retries nothing itself), so the
    time to give up is the policy's tries times the read timeout, plus pauses.
    """
    import socket

    from wizard.cloud import endpoints
    from wizard.cloud.calls import RetryPolicy
    from wizard.credentials import load_credentials

    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    monkeypatch.setattr(endpoints, "READ_TIMEOUT", 1)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []

    def hold() -> None:  # accept every connection, answer none
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/services/objectstorage"
    try:
        creds = load_credentials({"s3_url": url}, environ={}, eucarc=cloud_box.eucarc,
                                 ini_paths=[])
        cloud = endpoints.cloud_from_credentials(creds, services=("s3",))
        start = time.monotonic()
        with pytest.raises(WizardError) as info:
            upload_bundle(made.manifest, "hung", cloud,
                          policy=RetryPolicy(attempts=2, first_delay=0.01, max_delay=0.01))
        elapsed = time.monotonic() - start
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        listener.close()
        for conn in accepted:
            conn.close()
    assert len(accepted) == 2  # one connection a try: no hidden retries below ours
    assert 2 <= elapsed < 2 + 2
    assert url in info.value.message
    assert "did not answer within 1 seconds (2 tries)" in info.value.message


def test_a_hung_endpoint_gives_up_within_a_minute_with_the_default_policy():
    """The slowest way to fail: every try waits the whole read timeout, every pause is longest."""
    from wizard.cloud import endpoints
    from wizard.cloud.calls import DEFAULT_RETRIES as policy

    longest_pauses = sum(min(policy.first_delay * 2 ** (n - 1), policy.max_delay)
                         for n in range(1, policy.attempts))
    worst = policy.attempts * endpoints.READ_TIMEOUT + longest_pauses
    assert worst <= endpoints.GIVE_UP_WITHIN, worst
    dead = policy.attempts * endpoints.CONNECT_TIMEOUT + longest_pauses
    assert dead <= endpoints.GIVE_UP_WITHIN / 2, dead


def test_uploaded_location_tells_a_done_upload_from_a_partial_one(cloud_box: Sandbox,
                                                                   tmp_path: Path):
    from wizard.cloud.upload import uploaded_location

    made = make_bundle(cloud_box, tmp_path, size=3 * 64 * 1024)
    cloud = make_cloud(cloud_box)
    assert uploaded_location(made.manifest, "done/xp", cloud, policy=FAST) is None
    cloud_box.proxy.inject("503", lambda m, p: m == "PUT" and p.endswith(".manifest.xml"),
                           times=99)
    with pytest.raises(WizardError):
        upload_bundle(made.manifest, "done/xp", cloud, policy=FAST)
    assert uploaded_location(made.manifest, "done/xp", cloud, policy=FAST) is None  # parts only
    cloud_box.proxy.clear()
    upload_bundle(made.manifest, "done/xp", cloud, policy=FAST)
    assert uploaded_location(made.manifest, "done/xp", cloud, policy=FAST) == \
        "done/xp/sample.img.manifest.xml"
    other = make_bundle(cloud_box, tmp_path / "again")  # same name, another bundle
    assert uploaded_location(other.manifest, "done/xp", cloud, policy=FAST) is None


def test_unchecked_https_is_an_event_of_every_upload(cloud_box: Sandbox, tmp_path: Path,
                                                     tls_proxy_url: str):
    from wizard.cloud.endpoints import cloud_from_credentials
    from wizard.credentials import load_credentials

    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    creds = load_credentials({"s3_url": tls_proxy_url, "verify_ssl": "false"}, environ={},
                             eucarc=cloud_box.eucarc, ini_paths=[])
    cloud = cloud_from_credentials(creds, services=("s3",))
    events: list[Event] = []
    upload_bundle(made.manifest, "unchecked", cloud, events.append, policy=FAST)
    warnings = [e.text for e in events if isinstance(e, StepWarning)]
    assert len(warnings) == 1 and "NOT checked" in warnings[0]

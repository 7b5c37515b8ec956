"""Upload a bundle to the store: checked first, parts in parallel, manifest last, resumable.

The rules (BUNDLE-FORMAT.md section 3, DESIGN.md "Errors and bad input"):

1. Before a byte goes out, every local part must exist and match the SHA-1
   its manifest gives; a corrupt bundle never reaches the store.
2. The bucket is created when missing; one owned by another account is an
   error naming the fix.
3. Each part is one plain PUT with Content-MD5 and the canned ACL
   (``aws-exec-read``: the cloud reads bundles as its own system account),
   several at once. A single PUT's ETag is the MD5 of the part, so a part the
   store already holds with the same MD5 is skipped: an interrupted upload
   resumes with what is missing. A part under an ETag that is no MD5 cannot
   be compared: it is sent again. The manifest is compared byte for byte.
4. The manifest goes last, only when every part is stored: a manifest in the
   store means "this bundle is complete". A stale manifest (another bundle
   of the same name) is deleted before any part is replaced.
5. An image's bundle is never replaced: before anything of another bundle
   is sent over what the store holds, the images registered from the
   manifest's location are looked up; when the lookup fails, nothing is sent.

``upload_bundle`` is the engine entry point for the CLI, a session's build
process and the TUI: progress goes to an event sink, and the cancel flag is
checked between parts (parts already on their way finish, so nothing is left
half-sent). No more parts than are sent at once are ever queued: a signal
(SIGTERM, SIGHUP) or Ctrl+C raised in the calling thread stops the upload
there, with at most the parts on the wire still landing.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore import exceptions as bx

from wizard.bundle.manifest import Manifest, check_size, read_manifest
from wizard.cloud.calls import DEFAULT_RETRIES, RetryPolicy, call, error_code
from wizard.cloud.endpoints import Cloud, Endpoint, is_walrus
from wizard.cloud.register import is_deregistered
from wizard.core.errors import Cancelled, WizardError, interrupted
from wizard.core.events import (
    CancelFlag,
    Event,
    LogLine,
    Sink,
    StepFinished,
    StepProgress,
    StepStarted,
    StepWarning,
    Throttle,
    discard,
    run_reported,
)
from wizard.core.logs import get_logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = get_logger(__name__)

STEP = "upload"
DEFAULT_ACL = "aws-exec-read"
CANNED_ACLS = ("private", "public-read", "public-read-write", "authenticated-read",
               "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control")
MAX_CONCURRENCY = 32
_BLOCK = 1 << 20
MAX_LIST_PAGES = 1000  # 1,000 keys a page: a million keys under one bundle's name
_MD5 = re.compile(r"[0-9a-f]{32}")
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")
_IP_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class Destination:
    """Where a bundle goes: a bucket and an optional key prefix."""

    bucket: str
    prefix: str = ""

    def key(self, filename: str) -> str:
        return f"{self.prefix}/{filename}" if self.prefix else filename

    def location(self, filename: str) -> str:
        """``BUCKET/[PREFIX/]FILE``, as RegisterImage wants it."""
        return f"{self.bucket}/{self.key(filename)}"


_BUCKET_RULE = ("use 3 to 63 letters, digits, dots, hyphens or underscores, starting and "
                "ending with a letter or digit; lowercase letters, digits and hyphens suit "
                "every cloud (e.g. windows-images)")


_BUCKET_KEY = "build.bucket"


def parse_destination(text: str) -> Destination:
    """``BUCKET[/PREFIX]`` from the command line, checked.

    Eucalyptus accepts the "extended" names of early S3 (capitals and
    underscores) besides DNS-style ones, so both pass; what no store takes is
    refused here, before any part is read or sent.
    """
    bucket, _, prefix = text.strip().partition("/")
    prefix = prefix.strip("/")
    if not bucket:
        raise WizardError(f"{text!r} names no bucket before the first /",
                          "write the bucket as BUCKET or BUCKET/PREFIX, e.g. windows-images/xp",
                          key=_BUCKET_KEY)
    if not _BUCKET.match(bucket) or ".." in bucket or _IP_LIKE.match(bucket):
        raise WizardError(f"{bucket!r} is not a valid bucket name", _BUCKET_RULE,
                          key=_BUCKET_KEY)
    if "//" in prefix or any(part in (".", "..") for part in prefix.split("/")):
        raise WizardError(f"the key prefix {prefix!r} has empty or dot folders",
                          "write the prefix as folder/subfolder, e.g. bucket/xp",
                          key=_BUCKET_KEY)
    return Destination(bucket, prefix)


@dataclass(frozen=True)
class LocalFile:
    """A file of the bundle on disk, with the digests the store is checked against."""

    filename: str
    path: Path
    size: int
    md5_hex: str

    @property
    def md5_base64(self) -> str:
        return base64.b64encode(bytes.fromhex(self.md5_hex)).decode("ascii")


@dataclass(frozen=True)
class UploadResult:
    location: str  # BUCKET/[PREFIX/]NAME.manifest.xml
    parts_sent: int
    parts_skipped: int
    bytes_sent: int
    manifest_sent: bool


def _digest_file(path: Path, cancel: CancelFlag) -> tuple[str, str, int]:
    sha1, md5 = hashlib.sha1(), hashlib.md5()  # noqa: S324 - the formats' own digests
    size = 0
    with open(path, "rb") as handle:
        while True:
            cancel.check()
            block = handle.read(_BLOCK)
            if not block:
                break
            sha1.update(block)
            md5.update(block)
            size += len(block)
    return sha1.hexdigest(), md5.hexdigest(), size


def check_local_bundle(manifest_path: Path, cancel: CancelFlag | None = None,
                       concurrency: int = 4) -> tuple[Manifest, list[LocalFile], LocalFile]:
    """Read the manifest and check every part on disk against its SHA-1.

    Returns the manifest, the parts (index order) and the manifest file.
    """
    cancel = cancel or CancelFlag()
    halt = _Halt(cancel)
    manifest_path = Path(manifest_path)
    manifest = read_manifest(manifest_path)
    folder = manifest_path.parent
    if not manifest.parts:
        raise WizardError(f"the manifest {manifest_path} lists no parts",
                          "bundle the image again")
    for part in manifest.parts:
        name = part.filename
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise WizardError(
                f"the manifest {manifest_path} names a part outside its folder ({name!r})",
                "use a manifest written by bundling, not an edited one",
            )
    check_bundle_names(manifest_path, manifest)

    def check(part_index: int) -> LocalFile:
        part = manifest.parts[part_index]
        path = folder / part.filename
        if not path.is_file():
            raise WizardError(
                f"part {part.filename} of {manifest_path.name} is missing from {folder}",
                "keep the parts beside their manifest, or bundle the image again",
            )
        try:
            sha1, md5, size = _digest_file(path, halt)
        except OSError as exc:
            raise WizardError(f"cannot read part {path} ({exc.strerror})",
                              "check the file's permissions") from None
        if sha1 != part.sha1.lower():
            raise WizardError(
                f"part {part.filename} is damaged: its SHA-1 does not match the manifest",
                "bundle the image again (nothing was uploaded)",
            )
        return LocalFile(part.filename, path, size, md5)

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        parts = list(pool.map(check, range(len(manifest.parts))))
    except BaseException:
        # A damaged part, Ctrl+C or a signal: the parts still queued are not
        # read, and the ones being read stop at their next block.
        halt.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    _, md5, size = _digest_file(manifest_path, cancel)
    return manifest, parts, LocalFile(manifest_path.name, manifest_path, size, md5)


def check_bundle_names(manifest_path: Path, manifest: Manifest) -> None:
    """The manifest file is ``NAME.manifest.xml`` and every part ``NAME.part.NN``.

    NAME is the manifest's own ``<name>``. The store's keys are these file
    names: whether an image is registered is asked of the manifest's
    location, so the parts replaced must be the ones that location owns. A
    renamed manifest (``new.manifest.xml`` naming ``old.part.*``) would
    otherwise send its parts over those of the image registered from
    ``old.manifest.xml`` with nobody asking.
    """
    name = manifest.name
    expected = f"{name}.manifest.xml"
    if manifest_path.name != expected:
        raise WizardError(
            f"the manifest {manifest_path} describes the bundle {name!r}, whose manifest is "
            f"named {expected}: a renamed manifest would send its parts over {name}'s",
            f"keep the name bundling gave it ({expected}), or bundle the image again "
            "under the new name", key="build.manifest")
    part_rule = re.compile(re.escape(name) + r"\.part\.[0-9]+")
    seen: set[str] = set()
    for part in manifest.parts:
        if not part_rule.fullmatch(part.filename) or part.filename in seen:
            raise WizardError(
                f"the manifest {manifest_path} names the part {part.filename!r}"
                + (" twice" if part.filename in seen else f", not one of {name}.part.NN"),
                "use a manifest written by bundling, not an edited one", key="build.manifest")
        seen.add(part.filename)


class _Halt(CancelFlag):
    """Set when the operator's flag is, or by the upload itself (a failed part, a signal)."""

    def __init__(self, operator: CancelFlag) -> None:
        super().__init__()
        self.operator = operator

    @property
    def cancelled(self) -> bool:
        return self.operator.cancelled or super().cancelled

    def check(self) -> None:
        self.operator.check()
        super().check()


class _NoBucket(Exception):
    """The destination bucket does not exist (yet)."""


class _Uploader:
    """One upload's state: the client, the destination, and the events sent."""

    def __init__(self, cloud: Cloud, destination: Destination, sink: Sink, cancel: CancelFlag,
                 acl: str, concurrency: int, policy: RetryPolicy) -> None:
        if cloud.s3 is None:
            raise WizardError("no S3 URL is set", "set S3_URL, or give the S3 URL",
                              key="cloud.s3_url")
        self.endpoint: Endpoint = cloud.s3
        self.cloud = cloud
        self.s3: S3Client = cloud.s3_client(max_connections=concurrency + 2)
        self.destination = destination
        self.cancel = cancel
        # The operator's flag, or this upload's own stop (a part failed, a
        # signal arrived): every call to the store checks it between tries.
        self.halt = _Halt(cancel)
        self.acl = acl
        self.concurrency = concurrency
        self.policy = policy
        self._lock = threading.Lock()
        self._sink = sink

    def emit(self, event: Event) -> None:
        # Workers report retries: one at a time into a sink that may be a terminal.
        with self._lock:
            self._sink(event)

    def call(self, fn: Callable[[], Any], what: str,
             passthrough: Callable[[BaseException], bool] | None = None) -> Any:
        return call(fn, what=what, endpoint=self.endpoint, cancel=self.halt,
                    policy=self.policy, key_source=self.cloud.key_source,
                    secret_source=self.cloud.secret_source,
                    on_retry=lambda note: self.emit(LogLine(STEP, note)),
                    passthrough=passthrough)

    def ensure_bucket(self) -> None:
        """Use the bucket when it is ours, create it when nobody has it.

        "Ours" means listed by ListBuckets: a HEAD succeeds on another account's
        bucket that happens to be readable, and stores differ in what owner
        ids they report.
        """
        bucket = self.destination.bucket
        answer = self.call(self.s3.list_buckets, "list your buckets")
        if any(b.get("Name") == bucket for b in answer.get("Buckets", [])):
            return
        log.info("creating bucket %s", bucket)

        def handled(exc: BaseException) -> bool:
            return error_code(exc) in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou",
                                       "IllegalLocationConstraintException",
                                       "InvalidLocationConstraint", "AccessDenied",
                                       "InvalidBucketName")

        try:
            self.call(lambda: self.s3.create_bucket(Bucket=bucket), f"create bucket {bucket}",
                      handled)
        except bx.ClientError as exc:
            code = error_code(exc)
            if code in ("BucketAlreadyExists", "AccessDenied"):
                raise self._not_yours(bucket) from None
            if code == "InvalidBucketName":
                # Stores differ: AWS and Eucalyptus set to DNS-style names refuse capitals.
                raise WizardError(f"the store at {self.endpoint.url} does not accept the "
                                  f"bucket name {bucket!r} (InvalidBucketName)",
                                  "use lowercase letters, digits and hyphens, e.g. "
                                  "windows-images", key=_BUCKET_KEY) from None
            if code in ("IllegalLocationConstraintException", "InvalidLocationConstraint"):
                # AWS-style stores want the region named outside us-east-1;
                # Eucalyptus does not, so it is only sent when asked for.
                region = self.endpoint.region
                self.call(lambda: self.s3.create_bucket(
                    Bucket=bucket,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                ), f"create bucket {bucket}")
            # BucketAlreadyOwnedByYou: created by a run racing this one; fine.
        self.emit(LogLine(STEP, f"Created bucket {bucket}"))

    @staticmethod
    def _not_yours(bucket: str) -> WizardError:
        return WizardError(
            f"the bucket {bucket} belongs to another account (or your credentials may not use it)",
            "choose another bucket name, e.g. one starting with your user name",
            key=_BUCKET_KEY,
        )

    def stored(self, name_prefix: str, missing_ok: bool = False) -> dict[str, tuple[str, int]]:
        """Key -> (the ETag, lower case, quotes off; size) of what the store holds for this bundle.

        ``missing_ok``: a missing bucket raises ``_NoBucket`` instead of an error.
        ListObjectsV2 pages by continuation token; a store that answers it as
        the first ListObjects does (truncated, no token: some ignore
        ``list-type=2``) is paged on with ListObjects' marker. A listing that
        does not move on, or runs past ``MAX_LIST_PAGES``, is an error: what
        the store holds cannot be told, and a guess could replace an image's
        parts.
        """
        found: dict[str, tuple[str, int]] = {}
        prefix = self.destination.key(name_prefix)
        where = f"{self.destination.location(name_prefix)}*"
        token: str | None = None
        marker: str | None = None  # None: ListObjectsV2; else ListObjects after this key
        seen: set[str] = set()
        for _ in range(MAX_LIST_PAGES):
            kwargs: dict[str, Any] = {"Bucket": self.destination.bucket, "Prefix": prefix}
            if marker is not None:
                kwargs["Marker"] = marker
                lister: Callable[..., Any] = self.s3.list_objects
            else:
                if token:
                    kwargs["ContinuationToken"] = token
                lister = self.s3.list_objects_v2
            try:
                page = self.call(functools.partial(lister, **kwargs), f"list {where}",
                                 lambda exc: missing_ok and error_code(exc) == "NoSuchBucket")
            except bx.ClientError:
                raise _NoBucket() from None
            contents = page.get("Contents", [])
            for item in contents:
                found[item["Key"]] = (str(item.get("ETag", "")).strip('"').lower(),
                                      int(item.get("Size", -1)))
            if not page.get("IsTruncated"):
                return found
            token = page.get("NextContinuationToken") if marker is None else None
            if token and token not in seen:
                seen.add(token)
                continue
            # No way on by token: on by the last key, as ListObjects goes.
            after = page.get("NextMarker") or (str(contents[-1]["Key"]) if contents else None)
            if after is None or after in seen:
                raise WizardError(
                    f"the store's listing of {where} does not move on: it says there is more "
                    f"but gives no new place to go on from (after {len(found)} keys)",
                    "check the store's health and version; run the same command again")
            if marker is None:
                log.info("the store answered ListObjectsV2 truncated with no continuation "
                         "token; listing %s on with ListObjects' marker", where)
            seen.add(after)
            marker = after
        raise WizardError(f"the store's listing of {where} did not end after "
                          f"{MAX_LIST_PAGES} pages", "check the store's health and version; "
                          "run the same command again")

    def manifest_held(self, local: LocalFile, listed: tuple[str, int] | None) -> str:
        """"absent", "ours" (the store's manifest is ``local`` byte for byte) or "other".

        The ETag is an MD5 only for a plain PUT on most stores (multipart
        uploads and some Walrus versions give others), so a manifest whose
        ETag is not ours is read and compared: it is small.
        """
        if listed is None:
            return "absent"
        if listed == (local.md5_hex, local.size):
            return "ours"
        if listed[1] != local.size:
            return "other"
        key = self.destination.key(local.filename)

        def gone(exc: BaseException) -> bool:
            return error_code(exc) in ("NoSuchKey", "404")

        try:
            answer = self.call(lambda: self.s3.get_object(Bucket=self.destination.bucket,
                                                          Key=key),
                               f"read {self.destination.location(local.filename)}", gone)
        except bx.ClientError:
            return "absent"
        body = answer["Body"]
        try:
            data = body.read(local.size + 1)  # more than ours: another manifest, unread
        finally:
            body.close()
        return "ours" if data == local.path.read_bytes() else "other"

    def put(self, local: LocalFile) -> None:
        key = self.destination.key(local.filename)

        def send() -> Any:
            with open(local.path, "rb") as body:
                return self.s3.put_object(
                    Bucket=self.destination.bucket, Key=key, Body=body,
                    ContentLength=local.size, ContentMD5=local.md5_base64,
                    ACL=self.acl,  # type: ignore[arg-type]
                )

        answer = self.call(send, f"send {local.filename}")
        etag = str(answer.get("ETag", "")).strip('"').lower()
        if _MD5.fullmatch(etag) and etag != local.md5_hex:
            raise WizardError(
                f"the store holds a different {local.filename} than was sent "
                f"(MD5 {etag}, expected {local.md5_hex})",
                "run the same command again; if it persists, check the store's health",
            )

    def delete(self, filename: str) -> None:
        key = self.destination.key(filename)
        self.call(lambda: self.s3.delete_object(Bucket=self.destination.bucket, Key=key),
                  f"remove the stale {filename}")


def uploaded_location(manifest_path: Path | str, destination: Destination | str, cloud: Cloud,
                      cancel: CancelFlag | None = None,
                      policy: RetryPolicy = DEFAULT_RETRIES) -> str | None:
    """``BUCKET/[PREFIX/]NAME.manifest.xml`` when the store holds this very bundle, else None.

    For a session step's ``done()``: the manifest goes last, only once every
    part is stored, so the store's manifest with the local manifest's MD5
    means the whole bundle is there. Reads only the manifest, not the parts.
    """
    cancel = cancel or CancelFlag()
    if isinstance(destination, str):
        destination = parse_destination(destination)
    manifest_path = Path(manifest_path)
    _, md5, size = _digest_file(manifest_path, cancel)
    local = LocalFile(manifest_path.name, manifest_path, size, md5)
    up = _Uploader(cloud, destination, discard, cancel, DEFAULT_ACL, 1, policy)
    try:
        listed = up.stored(manifest_path.name, missing_ok=True).get(
            destination.key(manifest_path.name))
    except _NoBucket:
        return None
    held = up.manifest_held(local, listed)
    return destination.location(manifest_path.name) if held == "ours" else None


def upload_bundle(
    manifest_path: Path | str,
    destination: Destination | str,
    cloud: Cloud,
    sink: Sink = discard,
    cancel: CancelFlag | None = None,
    *,
    acl: str = DEFAULT_ACL,
    concurrency: int = 4,
    policy: RetryPolicy = DEFAULT_RETRIES,
) -> UploadResult:
    """Upload the bundle of ``manifest_path`` to ``destination``; see the module docstring."""
    cancel = cancel or CancelFlag()
    if isinstance(destination, str):
        destination = parse_destination(destination)
    if acl not in CANNED_ACLS:
        raise WizardError(f"{acl!r} is not a canned ACL",
                          f"use one of {', '.join(CANNED_ACLS)} (the cloud needs aws-exec-read)")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise WizardError(f"{concurrency} parts sent at once is out of range",
                          f"send 1 to {MAX_CONCURRENCY} at once (default 4)",
                          key="build.concurrency")
    check_size(Path(manifest_path))  # a huge manifest: one line before the step starts
    # Once started, the step ends in StepFinished or StepFailed, whatever happens:
    # a progress bar, a TUI or an event log never shows a stopped upload running.
    return run_reported(STEP, sink, lambda watched: _upload(
        Path(manifest_path), destination, cloud, watched, cancel, acl, concurrency, policy))


def _upload(manifest_path: Path, destination: Destination, cloud: Cloud, sink: Sink,
            cancel: CancelFlag, acl: str, concurrency: int,
            policy: RetryPolicy) -> UploadResult:
    sink(StepStarted(STEP, f"Checking the parts of {manifest_path.name}"))
    for text in cloud.warnings:  # e.g. HTTPS unchecked: said on every run, by every face
        sink(StepWarning(STEP, text))
    manifest, parts, manifest_file = check_local_bundle(manifest_path, cancel, concurrency)
    up = _Uploader(cloud, destination, sink, cancel, acl, concurrency, policy)
    location = destination.location(manifest_file.filename)
    if destination.prefix and is_walrus(up.endpoint.url):
        up.emit(StepWarning(
            STEP, f"a key prefix ({destination.prefix}) is used with a Walrus endpoint: "
            "Eucalyptus 3.x cannot register bundles under a prefix; upload to "
            f"-b {destination.bucket} without one if registering fails"))
    up.ensure_bucket()
    stored = up.stored(manifest.name + ".")

    missing: list[LocalFile] = []
    unknown = 0  # parts held under an ETag that is no MD5: whether they are ours is not known
    for part in parts:
        listed = stored.get(destination.key(part.filename))
        if listed == (part.md5_hex, part.size):
            continue
        missing.append(part)
        if listed is not None and listed[1] == part.size and not _MD5.fullmatch(listed[0]):
            unknown += 1
    if unknown:
        up.emit(LogLine(STEP, f"{unknown} of {len(parts)} parts are in the store under ETags "
                        "that are not MD5s (multipart uploads, some Walrus versions), so "
                        "whether they are these cannot be told: sending them again"))
    # Parts the store holds with other content (or content not known): sending replaces them.
    replaced = [p for p in missing if destination.key(p.filename) in stored]
    manifest_key = destination.key(manifest_file.filename)
    manifest_held = up.manifest_held(manifest_file, stored.get(manifest_key))
    if missing or manifest_held != "ours":
        _refuse_if_registered(up, location, manifest_held, bool(replaced))
    if manifest_held == "other":
        # Another bundle's manifest under this name: it must not stand in the
        # store while the parts it names change under it. Ours stays: it names
        # the very parts being sent, and a failed upload must not leave a live
        # image without its manifest.
        up.emit(LogLine(STEP, f"Removing the stale manifest {location} before sending parts"))
        up.delete(manifest_file.filename)
    skipped = len(parts) - len(missing)
    if skipped:
        up.emit(LogLine(STEP, f"{skipped} of {len(parts)} parts are already in the store "
                        "with the same MD5; not sending them again"))
    total = sum(p.size for p in missing)
    sink(StepStarted(STEP, f"Uploading {manifest.name} to {destination.location('')}"))
    progress = Throttle(up.emit)
    counted = {"bytes": 0, "parts": skipped}
    if missing:
        progress(StepProgress(STEP, 0, total, skipped, len(parts)))

    def stored_one(local: LocalFile) -> None:
        counted["bytes"] += local.size
        counted["parts"] += 1
        progress(StepProgress(STEP, counted["bytes"], total, counted["parts"], len(parts)))

    _send_parts(up, missing, stored_one)
    sent_bytes = counted["bytes"]
    manifest_sent = False
    if manifest_held != "ours":
        cancel.check()
        up.put(manifest_file)
        manifest_sent = True
    log.info("uploaded %s: %d parts sent, %d skipped", location, len(missing), skipped)
    sink(StepFinished(STEP, {"location": location, "parts_sent": len(missing),
                             "parts_skipped": skipped, "bytes_sent": sent_bytes}))
    return UploadResult(location, len(missing), skipped, sent_bytes, manifest_sent)


def _refuse_if_registered(up: _Uploader, location: str, manifest_held: str,
                          parts_replaced: bool) -> None:
    """Refuse to send a bundle over the bundle an image is registered from.

    ``manifest_held``: what the store holds at ``location`` ("absent",
    "ours": this very manifest, "other"). When something of another bundle
    would be replaced (its manifest, or parts while no manifest of ours
    names them), not knowing is no answer: a failed lookup, or no EC2 URL to
    ask with when the store's manifest is another's, is an error and nothing
    is sent. A first upload to empty keys, or a resume under our own
    manifest, changes no image: a failed lookup there is only logged.
    """
    cloud = up.cloud
    replacing = manifest_held == "other" or (manifest_held == "absent" and parts_replaced)
    if cloud.ec2 is None:
        if manifest_held == "other":
            raise WizardError(
                f"the store holds another bundle's manifest at {location}, and with no EC2 URL "
                "it cannot be checked whether an image is registered from it (an image's "
                "bundle is never replaced): nothing was sent",
                "give the EC2 URL too, or bundle the image under another name",
                key="cloud.ec2_url")
        return
    try:
        images = registered_from(cloud, location, up.cancel, strict=True,
                                 policy=up.policy if replacing else LOOKUP_RETRIES)
    except Cancelled:
        raise
    except WizardError as exc:
        if replacing:
            raise WizardError(
                f"cannot check whether {location} is registered ({exc.message}); nothing "
                "was sent", "run the same command again when the cloud answers") from None
        log.info("not checking for images registered from %s: %s", location, exc)
        return
    for image_id, state in images:
        if state == "failed":
            up.emit(StepWarning(
                STEP, f"{location} is registered as {image_id}, which failed; once "
                "this upload is done, register again (the failed image is replaced)"))
    live = [image_id for image_id, state in images if state != "failed"]
    if live and manifest_held != "ours":
        # The store holds another bundle under this name (or none), and an
        # image was registered from it: sending this one over it would
        # change what that image is made of (issue H6). Never.
        raise RegisteredBundle(location, live[0], up.destination)


class RegisteredBundle(WizardError):
    """The store's bundle at a location is an image's, and this bundle is not it."""

    def __init__(self, location: str, image_id: str, destination: Destination) -> None:
        super().__init__(
            f"{location} is registered as {image_id} from another bundle: sending this "
            f"bundle over it would change what {image_id} is made of",
            f"upload it to another bucket or key prefix than "
            f"{destination.location('').rstrip('/')}, "
            f"or deregister {image_id} first")
        self.location = location
        self.image_id = image_id


LOOKUP_RETRIES = RetryPolicy(attempts=2, first_delay=0.5)


def registered_from(cloud: Cloud, location: str, cancel: CancelFlag | None = None, *,
                    strict: bool = False,
                    policy: RetryPolicy = LOOKUP_RETRIES) -> list[tuple[str, str]]:
    """``(image id, state)`` of each of your images registered from ``location``.

    An image keeps what the cloud read of its bundle (nodes cache a prepared
    image): a bundle sent again under its manifest is not that image. Without
    ``strict`` a failing lookup (or no EC2 URL) is logged and answers [];
    with it, it raises: a caller about to replace a bundle must not take
    "could not ask" for "nothing is registered".
    """
    if cloud.ec2 is None:
        if strict:
            raise WizardError(f"cannot check whether {location} is registered: no EC2 URL "
                              "is set", "give the EC2 URL", key="cloud.ec2_url")
        return []
    try:
        ec2 = cloud.ec2_client()
        answer = call(lambda: ec2.describe_images(Owners=["self"]),
                      what="list your registered images", endpoint=cloud.ec2,
                      cancel=cancel or CancelFlag(), policy=policy,
                      key_source=cloud.key_source, secret_source=cloud.secret_source)
    except Cancelled:
        raise
    except WizardError as exc:
        if strict:
            raise
        log.info("not checking for images registered from %s: %s", location, exc)
        return []
    return [(str(image.get("ImageId")), str(image.get("State") or "registered"))
            for image in answer.get("Images", [])
            if (image.get("ImageLocation") or "").lstrip("/") == location
            and not is_deregistered(image)]


def _send_parts(up: _Uploader, parts: list[LocalFile],
                on_stored: Callable[[LocalFile], None]) -> None:
    """PUT ``parts``, ``up.concurrency`` at a time, calling ``on_stored`` for each.

    ``on_stored`` runs in the calling thread. At most ``up.concurrency``
    parts are handed to the pool at once, so a stop leaves nothing queued
    behind it. On the first failure (or a cancel) no new part starts; parts
    already on the wire finish, then the error is raised. Anything raised in
    the calling thread (a termination signal's ``Stopped``, Ctrl+C as
    KeyboardInterrupt) stops the upload at once: no new part starts, the
    parts on the wire are left to end by themselves and not waited for.
    """
    first_error: BaseException | None = None
    waiting = iter(parts)
    pool = ThreadPoolExecutor(max_workers=up.concurrency, thread_name_prefix="upload")
    in_flight: set[Future[LocalFile]] = set()
    try:
        while True:
            while first_error is None and not up.halt.cancelled and \
                    len(in_flight) < up.concurrency:
                local = next(waiting, None)
                if local is None:
                    break
                in_flight.add(pool.submit(_send_one, up, local))
            if not in_flight:
                break
            finished, in_flight = wait(in_flight, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    local = future.result()
                except BaseException as exc:
                    up.halt.cancel()
                    if first_error is None or (isinstance(first_error, Cancelled)
                                               and not isinstance(exc, Cancelled)):
                        first_error = exc
                    continue
                log.debug("stored %s", local.filename)
                on_stored(local)
    except BaseException:
        # A signal or Ctrl+C in this thread: nothing new starts, a retry on
        # the wire gives up at its next try, and the pool is not waited for
        # (a leaving ``with`` block would wait for every part queued in it).
        up.halt.cancel()
        for future in in_flight:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if up.cancel.cancelled and (first_error is None or isinstance(first_error, Cancelled)):
        # The operator's stop, whether or not a part was left to notice it.
        raise Cancelled(interrupted(up.cancel.reason, "the parts already stored stay "
                                    "and the manifest was not sent"))
    if first_error is not None:
        raise first_error


def _send_one(up: _Uploader, local: LocalFile) -> LocalFile:
    up.halt.check()
    up.put(local)
    return local

"""The sandbox's bundle check: what a Eucalyptus cloud finds when it first prepares an image.

A registered image stays ``pending`` until this check has read its bundle
from the store the way the cloud does:

1. the manifest is still there and is a manifest of the caller's account;
2. its signature verifies with the account's certificate (the manifest was
   signed with the account's private key and not edited since);
3. the cloud's private key opens ``ec2_encrypted_key`` and ``ec2_encrypted_iv``
   (the bundle was made for this cloud's certificate);
4. every part is in the store beside the manifest, with its SHA-1;
5. the parts, decrypted and inflated, give a tar stream whose SHA-1 is the
   manifest's digest.

Then the image is ``available``, or ``failed`` with the first fault found as
its state reason. One background thread checks one image at a time (parts
are streamed in 1 MiB blocks, never held whole); ``delay`` holds each check
back that many seconds, as a real cloud takes its time to prepare an image
(``euca-windows-wizard sandbox --check-delay``: see the wait work).
The parts are read from moto with S3 calls, as the cloud reads its store.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from wizard.bundle.keys import load_certificate, load_private_key, unwrap, verify
from wizard.bundle.manifest import MAX_MANIFEST_BYTES, Manifest, parse_manifest

# The unbundler's own decrypting and inflating stages: the cloud opens a
# bundle exactly as `unbundle` does.
from wizard.bundle.unbundler import _inflate, _plaintext
from wizard.cloud.imagetable import ImageTable
from wizard.core.errors import WizardError
from wizard.core.logs import get_logger

log = get_logger(__name__)

_CHUNK = 1 << 20


class MotoStore:
    """Objects of moto's S3, read the way the cloud reads its own store."""

    def __init__(self, port: int) -> None:
        import boto3
        from botocore.config import Config

        # moto takes any key; it serves S3 at the root of its port.
        self._s3 = boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="sandbox-cloud",
            aws_secret_access_key="sandbox-cloud",  # noqa: S106 - moto checks no key
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                          signature_version="s3v4"))

    def read_manifest(self, bucket: str, key: str) -> bytes | None:
        """A manifest's bytes, at most the bound + 1: parse_manifest refuses a longer one.

        Never the whole object: a manifest key may name a multi-GiB object.
        """
        body = self._open(bucket, key)
        if body is None:
            return None
        try:
            return bytes(body.read(MAX_MANIFEST_BYTES + 1))
        finally:
            body.close()

    def blocks(self, bucket: str, key: str) -> Iterator[bytes] | None:
        body = self._open(bucket, key)
        if body is None:
            return None
        return iter(lambda: bytes(body.read(_CHUNK)), b"")

    def _open(self, bucket: str, key: str) -> Any:
        from botocore.exceptions import ClientError

        try:
            return self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchBucket", "404"):
                return None
            raise


@dataclass(frozen=True)
class CloudKeys:
    """What the cloud checks a bundle with: the account's certificate, its own private key."""

    account: str
    account_cert: x509.Certificate
    cloud_key: rsa.RSAPrivateKey

    @classmethod
    def load(cls, account: str, account_cert: Path, cloud_key: Path) -> CloudKeys:
        return cls(account, load_certificate(account_cert, "account certificate"),
                   load_private_key(cloud_key))


def bundle_fault(store: MotoStore, location: str, keys: CloudKeys) -> str | None:
    """The first fault of the bundle stored at ``location``, in the cloud's words; None if sound."""
    bucket, _, key = location.partition("/")
    folder = key.rpartition("/")[0]
    data = store.read_manifest(bucket, key)
    if data is None:
        return f"the manifest {location} is no longer in the store"
    try:
        manifest = parse_manifest(data, location)
    except WizardError as exc:
        return f"the manifest cannot be read: {exc.message}"
    if manifest.user and manifest.user != keys.account:
        return (f"the manifest was bundled for the account {manifest.user}, not for this "
                f"account ({keys.account})")
    public = keys.account_cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    if not (manifest.signed_text and manifest.signature
            and verify(public, manifest.signed_text, manifest.signature)):
        return ("the manifest's signature does not verify with the account's certificate "
                "(signed by another key, or edited after bundling)")
    aes_key = unwrap(keys.cloud_key, manifest.ec2_encrypted_key)
    aes_iv = unwrap(keys.cloud_key, manifest.ec2_encrypted_iv)
    if aes_key is None or aes_iv is None:
        return ("the cloud's private key cannot open the manifest's ec2_encrypted_key and "
                "ec2_encrypted_iv (the bundle was encrypted for another cloud's certificate)")
    keys_of_parts = [f"{folder}/{p.filename}" if folder else p.filename for p in manifest.parts]
    fault = _parts_fault(store, bucket, manifest, keys_of_parts)
    if fault is not None:
        return fault
    return _archive_fault(store, bucket, manifest, keys_of_parts, aes_key, aes_iv)


def _parts_fault(store: MotoStore, bucket: str, manifest: Manifest,
                 part_keys: list[str]) -> str | None:
    for part, part_key in zip(manifest.parts, part_keys, strict=True):
        blocks = store.blocks(bucket, part_key)
        if blocks is None:
            return f"the part {part.filename} is not in the store ({bucket}/{part_key})"
        digest = hashlib.sha1()  # noqa: S324 - the format's digest
        for block in blocks:
            digest.update(block)
        if digest.hexdigest() != part.sha1:
            return (f"the part {part.filename} does not match its SHA-1 digest in the "
                    "manifest (damaged or replaced after bundling)")
    return None


def _archive_fault(store: MotoStore, bucket: str, manifest: Manifest, part_keys: list[str],
                   aes_key: bytes, aes_iv: bytes) -> str | None:
    def ciphertext() -> Iterator[bytes]:
        for part_key in part_keys:
            blocks = store.blocks(bucket, part_key)
            if blocks is None:  # removed since the parts were checked
                raise WizardError(f"the part {part_key} went missing during the check")
            yield from blocks

    digest = hashlib.sha1()  # noqa: S324 - the format's digest
    try:
        for block in _inflate(_plaintext(ciphertext(), aes_key, aes_iv)):
            digest.update(block)
    except WizardError as exc:
        return f"the parts do not decrypt with the manifest's key: {exc.message}"
    except Exception as exc:  # isal's inflate error has no importable type
        return f"the decrypted parts do not inflate ({exc})"
    if digest.hexdigest() != manifest.digest:
        return ("the decrypted, inflated archive does not match the manifest's digest "
                "(the manifest belongs to another bundle)")
    return None


class BundleChecker:
    """One background thread that checks registered images, one at a time, in order."""

    def __init__(self, table: ImageTable, store: MotoStore, keys: CloudKeys,
                 delay: float = 0.0) -> None:
        self.table, self.store, self.keys, self.delay = table, store, keys, delay
        self._due: list[tuple[float, int, str]] = []
        self._count = 0
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="bundle-check", daemon=True)

    def start(self) -> BundleChecker:
        for image in self.table.all():
            if image.state == "pending":  # left pending when the sandbox last stopped
                self.submit(image.image_id)
        self._thread.start()
        return self

    def submit(self, image_id: str) -> None:
        with self._wake:
            self._count += 1
            heapq.heappush(self._due, (time.monotonic() + self.delay, self._count, image_id))
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _next(self) -> str | None:
        with self._wake:
            while not self._stopping:
                now = time.monotonic()
                if self._due and self._due[0][0] <= now:
                    return heapq.heappop(self._due)[2]
                self._wake.wait(self._due[0][0] - now if self._due else None)
        return None

    def _run(self) -> None:
        while (image_id := self._next()) is not None:
            image = self.table.get(image_id)
            if image is None or image.state != "pending":
                continue  # deregistered meanwhile
            try:
                fault = bundle_fault(self.store, image.location, self.keys)
            except Exception as exc:  # the store itself failed: say so, never hang pending
                log.exception("sandbox: checking %s failed", image_id)
                fault = f"the cloud could not read the bundle ({type(exc).__name__}: {exc})"
            if fault is None:
                self.table.set_state(image_id, "available")
                log.info("sandbox: %s is available (bundle checked)", image_id)
            else:
                self.table.set_state(image_id, "failed", fault)
                log.info("sandbox: %s failed: %s", image_id, fault)

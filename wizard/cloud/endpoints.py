"""Endpoints as Eucalyptus serves them, and botocore clients configured for them.

Facts (BUNDLE-FORMAT.md sections 3 and 4): endpoints carry a path
(``/services/objectstorage`` and ``/services/compute`` on 4.x,
``/services/Walrus`` and ``/services/Eucalyptus`` on 1.x to 3.x) that must be
kept; S3 needs path-style addressing; Eucalyptus 3.x signs with SigV2 only,
so that is the default for its paths, SigV4 elsewhere.

Clients fail fast and retry nothing themselves: ``wizard.cloud.calls`` owns
retries, so that a retry is visible (logged, cancellable) and a dead endpoint
gives up within about a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wizard import PROGRAM, __version__
from wizard.core.errors import WizardError
from wizard.credentials import Credentials, Value

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_s3 import S3Client

# Seconds to open a connection, and to wait for bytes of an answer. With the
# tries and backoff of ``calls.DEFAULT_RETRIES``, a dead endpoint fails in
# under half a minute and a hung one (connects, never answers) within a
# minute: 4 x 12 s of waiting plus at most 7 s of backoff. A store needs far
# less than 12 s to answer a 10 MiB PUT; a slow link only slows the sending,
# which the timeout does not cover as long as bytes keep moving.
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 12
GIVE_UP_WITHIN = 60  # seconds: the "a dead endpoint fails within about a minute"

# botocore needs a region for SigV4's credential scope; Eucalyptus accepts any
# name, and moto (the sandbox) keeps its state per region.
DEFAULT_REGION = "us-east-1"

_OLD_EUCALYPTUS_PATHS = ("/services/walrus", "/services/eucalyptus")


def default_sigv(url: str) -> int:
    """2 for Eucalyptus 1.x-3.x paths (Walrus speaks only SigV2), 4 otherwise."""
    path = urlsplit(url).path.lower()
    return 2 if any(path.startswith(p) for p in _OLD_EUCALYPTUS_PATHS) else 4


def is_walrus(url: str) -> bool:
    """A Eucalyptus 1.x-3.x Walrus URL (which cannot register bundles under a prefix)."""
    return urlsplit(url).path.lower().startswith("/services/walrus")


@dataclass(frozen=True)
class Endpoint:
    """One service URL with how to talk to it."""

    service: str  # "s3" or "ec2"
    url: str
    source: str  # where the URL came from, in words
    sigv: int
    region: str
    verify: bool | str  # True, False, or the path of a CA bundle

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def signature_name(self) -> str:
        """botocore's name for the signer: s3/s3v4 for S3, v2/v4 for EC2."""
        if self.service == "s3":
            return "s3" if self.sigv == 2 else "s3v4"
        return "v2" if self.sigv == 2 else "v4"


@dataclass(frozen=True)
class Cloud:
    """Where and as whom to talk: the endpoints and the access keys (kept in memory only)."""

    access_key: str
    secret_key: str = field(repr=False)
    key_source: str
    s3: Endpoint | None
    ec2: Endpoint | None
    warnings: tuple[str, ...] = ()
    secret_source: str = ""  # where the secret key came from, in words (never the key)

    def s3_client(self, max_connections: int = 10) -> S3Client:
        endpoint = self._need(self.s3, "s3_url")
        client: S3Client = self._client(endpoint, max_connections)
        return client

    def ec2_client(self) -> EC2Client:
        endpoint = self._need(self.ec2, "ec2_url")
        client: EC2Client = self._client(endpoint, 4)
        return client

    @staticmethod
    def _need(endpoint: Endpoint | None, name: str) -> Endpoint:
        if endpoint is None:  # a programming error: cloud_from_credentials checks
            raise RuntimeError(f"this Cloud was made without {name}")
        return endpoint

    def _client(self, endpoint: Endpoint, max_connections: int) -> Any:
        import boto3.session
        from botocore.config import Config

        config = Config(
            signature_version=endpoint.signature_name(),
            s3={"addressing_style": "path"},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"total_max_attempts": 1},
            # Newer botocore adds CRC32 checksums (aws-chunked bodies under
            # SigV4) that Walrus and objectstorage do not understand; the
            # Content-MD5 we send is the integrity check they do know.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=max_connections,
            user_agent_extra=f"{PROGRAM}/{__version__}",
        )
        if endpoint.verify is False:
            # The operator chose this and is told so in our own words on every run
            # (Cloud.warnings); urllib3's warning would add a Python warning per host.
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        # A session per client: boto3's default session is not thread-safe.
        session = boto3.session.Session()
        return session.client(
            endpoint.service,  # type: ignore[call-overload]
            endpoint_url=endpoint.url,
            region_name=endpoint.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            verify=endpoint.verify,
            config=config,
        )


_URL_KEYS = {"s3_url": "cloud.s3_url", "ec2_url": "cloud.ec2_url"}
_CA_KEY = "cloud.ca_bundle"


def _check_url(name: str, url: str, source: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        example = ("http://HOST:8773/services/objectstorage" if name == "s3_url"
                   else "http://HOST:8773/services/compute")
        raise WizardError(
            f"the endpoint {url!r} (from {source}) is not an http:// or https:// URL",
            f"give the full URL with its path, e.g. {example}",
            key=_URL_KEYS.get(name),
        )
    try:
        parts.port  # noqa: B018 - raises on a garbled port
    except ValueError:
        raise WizardError(f"the endpoint {url!r} (from {source}) has a bad port number",
                          "write the port as digits, e.g. :8773", key=_URL_KEYS.get(name)) from None
    return url.rstrip("/")


def check_ca_bundle(bundle: Path, source: str) -> Path:
    """``bundle`` if it is a readable PEM file of CA certificates, else a WizardError.

    Found here, the problem is named as the CA bundle's; found by the TLS
    handshake, it would read as "the cloud's certificate is not trusted".
    """
    import ssl

    fix = "give the PEM file holding your cloud's CA certificate as the CA bundle"
    where = f"the CA bundle {bundle} (from {source})"
    if bundle.is_dir():
        raise WizardError(f"{where} is a folder", fix, key=_CA_KEY)
    if not bundle.exists():
        raise WizardError(f"{where} does not exist", fix, key=_CA_KEY)
    if not bundle.is_file():
        # A FIFO would block the read forever.
        raise WizardError(f"{where} is not a regular file (a FIFO or a device?)", fix,
                          key=_CA_KEY)
    try:
        ssl.create_default_context(cafile=str(bundle))
    except OSError as exc:
        if not isinstance(exc, ssl.SSLError):
            raise WizardError(f"cannot read {where} ({exc.strerror or exc})",
                              "check the file's permissions", key=_CA_KEY) from None
        raise WizardError(f"{where} holds no PEM certificate ({exc.reason or exc})",
                          fix + " (text starting with -----BEGIN CERTIFICATE-----)",
                          key=_CA_KEY) from None
    return bundle


def cloud_from_credentials(
    creds: Credentials,
    *,
    services: tuple[str, ...] = ("s3",),
    sigv: int | None = None,
) -> Cloud:
    """Check the credentials have what ``services`` need, and describe the endpoints."""
    access = creds.require("access_key")
    secret = creds.require("secret_key")
    region = creds.get("region") or DEFAULT_REGION
    warnings: list[str] = []
    urls: dict[str, Value] = {}
    for service in services:
        name = "s3_url" if service == "s3" else "ec2_url"
        item = creds.require(name)
        urls[service] = Value(_check_url(name, item.value, item.source), item.source)
    verify: bool | str = True
    if not creds.verify:
        verify = False
    elif creds.ca_bundle is not None and (
            "ca_bundle" in creds.given
            or any(u.value.startswith("https:") for u in urls.values())):
        # A stale AWS_CA_BUNDLE or ini setting must not stop an http:// cloud;
        # a CA bundle given for this run (a flag, an answer) is checked all the same.
        verify = str(check_ca_bundle(Path(creds.ca_bundle.value), creds.ca_bundle.source))
    endpoints: dict[str, Endpoint] = {}
    for service, item in urls.items():
        url = item.value
        chosen = sigv if sigv is not None else default_sigv(url)
        endpoints[service] = Endpoint(service, url, item.source, chosen, region, verify)
        if verify is False and url.startswith("https:"):
            source = creds.verify_ssl.source if creds.verify_ssl else "settings"
            warnings.append(
                f"HTTPS certificates of {urlsplit(url).netloc} are NOT checked "
                f"(turned off by {source}); anyone on the path can read your keys and "
                "images. Give the cloud's CA bundle (a PEM file) instead"
            )
    return Cloud(
        access_key=access.value,
        secret_key=secret.value,
        key_source=access.source,
        s3=endpoints.get("s3"),
        ec2=endpoints.get("ec2"),
        warnings=tuple(warnings),
        secret_source=secret.source,
    )

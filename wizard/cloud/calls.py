"""Calls to the cloud: retries of transient failures, and errors in operator words.

A store under load answers 503, drops a connection or times out now and
then (DESIGN.md: "transient store errors are retried with backoff before
they count as failures"). ``call`` retries those with exponential backoff and
jitter, checks the cancel flag while it waits, and turns what is left into a
``WizardError`` that names the URL and what to do. Certificate errors and
refusals of the credentials are never retried: trying again cannot help.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore import exceptions as bx
from botocore.parsers import ResponseParserError

from wizard.cloud import endpoints as _endpoints
from wizard.cloud.endpoints import Endpoint
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag
from wizard.core.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")

_TRANSIENT_CODES = frozenset({
    "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "Throttling",
    "ThrottlingException", "RequestLimitExceeded", "Unavailable", "InternalFailure",
})
_REFUSED_CODES = frozenset({
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthFailure", "InvalidClientTokenId",
    "IncompleteSignature", "MissingAuthenticationToken", "UnrecognizedClientException",
    "InvalidSecurity", "AuthorizationHeaderMalformed",
})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is tried again."""

    attempts: int = 4
    first_delay: float = 1.0
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based), with jitter."""
        base: float = min(self.first_delay * (2 ** (attempt - 1)), self.max_delay)
        return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not crypto


DEFAULT_RETRIES = RetryPolicy()


def error_code(exc: BaseException) -> str | None:
    """The cloud's error code of a ClientError (``NoSuchBucket``…), else None."""
    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def http_status(exc: BaseException) -> int | None:
    if isinstance(exc, bx.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


def connection_refused(exc: BaseException) -> bool:
    """Whether nothing listens at the endpoint: the host said no at once.

    botocore wraps the socket's ConnectionRefusedError (through urllib3)
    in EndpointConnectionError; the cause chain keeps it.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        nested = getattr(current, "kwargs", {}).get("error") if isinstance(
            current, bx.BotoCoreError) else None
        current = nested if isinstance(nested, BaseException) else (
            current.__cause__ or current.__context__)
    return False


def is_transient(exc: BaseException) -> bool:
    """A failure worth trying again: 5xx, throttling, timeouts, resets."""
    if isinstance(exc, bx.SSLError):
        return False
    if connection_refused(exc):
        # Nothing listens there: a wrong port or a cloud that is down. Trying
        # again for seconds only hides that; it is said at once.
        return False
    if isinstance(exc, bx.ClientError):
        status = http_status(exc) or 0
        return status >= 500 or error_code(exc) in _TRANSIENT_CODES
    # Connection refused/reset/closed, timeouts, a half-read answer; and a
    # garbled body, which an overloaded front end sends with a 5xx.
    return isinstance(exc, (bx.ConnectionError, bx.HTTPClientError, ResponseParserError,
                            ConnectionError))


def explain(exc: BaseException, endpoint: Endpoint, what: str, key_source: str = "",
            tries: int = 1, secret_source: str = "") -> WizardError:
    """One operator-facing error for a failed call to ``endpoint`` (after ``tries`` tries)."""
    url = endpoint.url
    tried = f", {tries} tries" if tries > 1 else ""  # goes inside brackets
    if isinstance(exc, WizardError):
        return exc
    if isinstance(exc, bx.SSLError) and _speaks_plain_http(exc):
        return WizardError(
            f"cannot {what}: {endpoint.host} answers plain HTTP, not HTTPS",
            f"write the URL (from {endpoint.source}) with http:// instead of https://",
        )
    if isinstance(exc, bx.SSLError):
        return WizardError(
            f"cannot {what}: the HTTPS certificate of {endpoint.host} is not trusted "
            f"({_short(exc)})",
            "check that the URL names the right host, or give the cloud's CA certificate "
            "as the CA bundle (or in AWS_CA_BUNDLE, or ssl-ca-bundle in ~/.euca)",
            key="cloud.ca_bundle",
        )
    if connection_refused(exc):
        return WizardError(
            f"cannot {what}: {url} refused the connection (nothing listens at "
            f"{endpoint.host})",
            f"check the URL (from {endpoint.source}) and that the cloud is running")
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError)):
        return WizardError(
            f"cannot {what}: {url} does not answer (no connection within "
            f"{_endpoints.CONNECT_TIMEOUT} seconds{tried})",
            f"check the URL (from {endpoint.source}), that the cloud is running and that "
            "no firewall is in the way",
        )
    if isinstance(exc, bx.ReadTimeoutError):
        return WizardError(
            f"cannot {what}: {url} accepted the connection but did not answer within "
            f"{_endpoints.READ_TIMEOUT} seconds ({tries} {'try' if tries == 1 else 'tries'})",
            "check that the cloud's services are healthy, then run the same command again",
        )
    if isinstance(exc, (bx.ConnectionClosedError, bx.HTTPClientError, ConnectionError)):
        return WizardError(
            f"cannot {what}: {url} kept dropping the connection ({_short(exc)})",
            "check the network and the cloud, then run the same command again to resume",
        )
    if isinstance(exc, ResponseParserError) or _wrong_service(exc, endpoint):
        return WizardError(
            f"cannot {what}: the answer from {url} is not what an "
            f"{'S3' if endpoint.service == 's3' else 'EC2'} service sends",
            f"check the URL (from {endpoint.source}): it must be the "
            + ("S3 (object storage) URL, path included, e.g. http://HOST:8773/services/"
               "objectstorage" if endpoint.service == "s3" else
               "EC2 (compute) URL, path included, e.g. http://HOST:8773/services/compute"),
        )
    if isinstance(exc, bx.ClientError):
        code = error_code(exc) or "error"
        message = str(exc.response.get("Error", {}).get("Message") or "").strip()
        detail = f"{code}: {message}" if message else code
        if code in _REFUSED_CODES:
            key = f" (from {key_source})" if key_source else ""
            secret = f" (from {secret_source})" if secret_source else ""
            sigv = "the signature version (--sigv 2 for Eucalyptus 3.x)"
            if code in ("InvalidAccessKeyId", "InvalidClientTokenId"):
                fix = f"check the access key id{key}: this cloud does not know it"
            elif code == "SignatureDoesNotMatch":
                fix = (f"check the secret key{secret}: it must be the one that goes with the "
                       f"access key id{key}; then {sigv}")
            else:
                fix = f"check the access key id{key}, the secret key{secret} and {sigv}"
            return WizardError(
                f"cannot {what}: {endpoint.host} refused your credentials ({detail})", fix)
        if code == "RequestTimeTooSkewed":
            return WizardError(f"cannot {what}: this computer's clock is too far from the "
                               f"cloud's ({detail})", "set the clock right (e.g. enable NTP)")
        if code in ("AccessDenied", "UnauthorizedOperation", "Forbidden"):
            return WizardError(f"cannot {what}: {endpoint.host} denied it ({detail})",
                               "ask the cloud's administrator for the permission, or use "
                               "credentials that have it")
        status = http_status(exc)
        return WizardError(
            f"cannot {what}: {url} answered {status or ''} {detail}".replace("  ", " "),
            "check the request and the cloud's logs; run the same command again to retry",
        )
    return WizardError(f"cannot {what}: {type(exc).__name__}: {_short(exc)}",
                       "run the same command again; if it persists, see the log file")


def _wrong_service(exc: BaseException, endpoint: Endpoint) -> bool:
    """An error answer that shows the URL is not the service it was taken for.

    An EC2 error read by the S3 parser has no code, an S3 one read by the EC2
    parser is "Unknown". (A URL without a path is fine: S3 and EC2 clones
    other than Eucalyptus serve at the root.)
    """
    if not isinstance(exc, bx.ClientError):
        return False
    status = http_status(exc) or 0
    if not 400 <= status < 500:
        return False
    code = error_code(exc) or ""
    if code in ("", "Unknown"):
        return True
    return code in (("MissingAction", "InvalidAction") if endpoint.service == "s3"
                    else ("MethodNotAllowed", "NoSuchBucket", "NoSuchKey"))


# What OpenSSL says when the "TLS" answer is an HTTP response (an https://
# URL for a port that speaks plain HTTP).
_PLAIN_HTTP_SIGNS = ("WRONG_VERSION_NUMBER", "wrong version number", "HTTP_REQUEST",
                     "record layer failure", "packet length too long")


def _speaks_plain_http(exc: BaseException) -> bool:
    text = str(exc)
    return any(sign in text for sign in _PLAIN_HTTP_SIGNS)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def call(
    fn: Callable[[], T],
    *,
    what: str,
    endpoint: Endpoint,
    cancel: CancelFlag | None = None,
    policy: RetryPolicy = DEFAULT_RETRIES,
    on_retry: Callable[[str], None] | None = None,
    key_source: str = "",
    secret_source: str = "",
    passthrough: Callable[[BaseException], bool] | None = None,
) -> T:
    """Run ``fn`` (one call to the cloud), retrying transient failures.

    ``passthrough(exc)`` lets the caller take some errors itself (e.g. a 404
    that means "not there yet"): those are re-raised as they are.
    """
    attempt = 0
    while True:
        if cancel is not None:
            cancel.check()
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            if passthrough is not None and passthrough(exc):
                raise
            if not is_transient(exc) or attempt >= policy.attempts:
                if attempt > 1:
                    log.warning("%s: giving up after %d tries", what, attempt)
                raise explain(exc, endpoint, what, key_source, attempt, secret_source) from exc
            pause = policy.delay(attempt)
            note = (f"{what}: {_transient_reason(exc)}; trying again in {pause:.1f} s "
                    f"(try {attempt + 1} of {policy.attempts})")
            log.info("%s", note)
            if on_retry is not None:
                on_retry(note)
            pause_for(pause, cancel)


def _transient_reason(exc: BaseException) -> str:
    if isinstance(exc, bx.ClientError):
        return f"the store answered {http_status(exc)} {error_code(exc)}"
    return _short(exc) or type(exc).__name__


def pause_for(seconds: float, cancel: CancelFlag | None) -> None:
    """Sleep ``seconds``, waking early (with Cancelled) when the flag is set."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        if cancel is not None:
            cancel.check()
        time.sleep(min(left, 0.1))

"""Check request signatures the way a Eucalyptus front end does (sandbox and tests).

moto checks no signatures, so without this a sandbox would take any secret
key, and a mistyped one would first be noticed on the real cloud. The path
proxy calls ``verify`` for every request under a service prefix; it knows the
sandbox's access keys and their secrets. The four signers botocore uses
against Eucalyptus are understood (BUNDLE-FORMAT.md sections 3 and 4):

- S3 SigV2 (``Authorization: AWS KEY:SIG``, HMAC-SHA1 over method, MD5,
  type, date, ``x-amz-*`` headers and the resource, path prefix included);
- EC2 SigV2 (form fields ``AWSAccessKeyId``, ``SignatureVersion=2``,
  ``Signature``, HMAC-SHA256 over method, host, path and the sorted fields);
- SigV4 for either (``Authorization: AWS4-HMAC-SHA256 Credential=…``).

The signature is computed over the request exactly as it crossed the wire
(the URL path as the client sent it, prefix included), with botocore's own
signers, so what is checked is what a client signed.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["BAD_SIGNATURE", "UNKNOWN_KEY", "verify"]

UNKNOWN_KEY = "unknown access key"
BAD_SIGNATURE = "signature does not match"
UNSIGNED = "not signed"


def verify(method: str, url: str, headers: Mapping[str, str], body: bytes,
           secrets: Mapping[str, str], service_path: str = "") -> str | None:
    """None when the request is signed with a known key and its secret; else why not.

    ``headers`` has lower-case names; ``secrets`` maps access key ids to
    secret keys; ``service_path`` is the endpoint's path (``/services/Walrus``).
    """
    auth = headers.get("authorization", "")
    if auth.startswith("AWS4-HMAC-SHA256 "):
        return _verify_v4(method, url, headers, body, secrets, auth)
    if auth.startswith("AWS "):
        return _verify_s3_v2(method, url, headers, secrets, auth, service_path)
    form = form_fields(headers, body) or _query(url)
    if form.get("SignatureVersion") == "2" and "Signature" in form:
        return _verify_ec2_v2(method, url, headers, form, secrets)
    return UNSIGNED


def form_fields(headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The fields of a form-encoded EC2 query body (empty for anything else)."""
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in fields.items()}


def _query(url: str) -> dict[str, str]:
    fields = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _credentials(key: str, secret: str) -> Any:
    from botocore.credentials import Credentials

    return Credentials(key, secret)


def _between(text: str, start: str, end: str) -> str:
    return text.partition(start)[2].partition(end)[0].strip()


def _verify_v4(method: str, url: str, headers: Mapping[str, str], body: bytes,
               secrets: Mapping[str, str], auth: str) -> str | None:
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest

    scope = _between(auth, "Credential=", ",").split("/")
    if len(scope) != 5:
        return BAD_SIGNATURE
    key, _, region, service, _ = scope
    if key not in secrets:
        return UNKNOWN_KEY
    signed = _between(auth, "SignedHeaders=", ",").split(";")
    given = _between(auth, "Signature=", ",")
    chosen = {name: headers[name] for name in signed if name in headers}
    request = AWSRequest(method=method, url=url, data=body, headers=chosen)
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer_class = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = signer_class(_credentials(key, secrets[key]), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    return None if _same(given, expected) else BAD_SIGNATURE


def _verify_s3_v2(method: str, url: str, headers: Mapping[str, str],
                  secrets: Mapping[str, str], auth: str, service_path: str) -> str | None:
    from botocore.auth import HmacV1Auth
    from botocore.awsrequest import HTTPHeaders

    key, _, given = auth[len("AWS "):].strip().rpartition(":")
    if key not in secrets:
        return UNKNOWN_KEY
    date = headers.get("date", "")

    class Received(HmacV1Auth):
        def _get_date(self) -> str:  # the Date the client signed, not now
            return date

    # The resource signed is the path below the endpoint's (botocore's
    # auth_path: "/bucket/" or "/bucket/key"), or, from other clients, the
    # whole path; Eucalyptus accepts either.
    split = urlsplit(url)
    below = split.path[len(service_path):] if split.path.startswith(service_path) else ""
    resources = {split.path, below}
    if below.count("/") == 1:
        resources.add(below + "/")
    signer = Received(_credentials(key, secrets[key]))
    for resource in resources - {""}:
        copy = HTTPHeaders()
        for name, value in headers.items():
            if name != "authorization":
                copy[name] = value
        # HTTPHeaders: the signer needs get_all(), which the stubs' Mapping lacks.
        expected = signer.get_signature(method, split, copy,  # type: ignore[arg-type]
                                        auth_path=resource)
        if _same(given, expected):
            return None
    return BAD_SIGNATURE


def _verify_ec2_v2(method: str, url: str, headers: Mapping[str, str], form: dict[str, str],
                   secrets: Mapping[str, str]) -> str | None:
    from botocore.auth import SigV2Auth
    from botocore.awsrequest import AWSRequest

    key = form.get("AWSAccessKeyId", "")
    if key not in secrets:
        return UNKNOWN_KEY
    request = AWSRequest(method=method, url=url)
    _, expected = SigV2Auth(_credentials(key, secrets[key])).calc_signature(request, form)
    return None if _same(form["Signature"], expected) else BAD_SIGNATURE

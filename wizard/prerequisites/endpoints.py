"""Is an endpoint answering? One HTTP request with a short timeout.

Any HTTP answer counts, 403 and 404 included: an unsigned GET to
``/services/objectstorage`` or ``/services/compute`` is refused by design,
and a refusal proves the service is there. Only silence, a refused
connection, an unknown host name or a failed TLS handshake count as down.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Probe:
    """The outcome of one request: reachable or not, and what happened."""

    ok: bool
    detail: str
    host: str = ""
    port: int = 0
    # Set when the fix is not "is the cloud up and reachable" (a bad CA bundle),
    # with the answer key of the input to change.
    fix: str | None = None
    key: str | None = None


def probe_endpoint(
    url: str, timeout: float = 3.0, verify: bool = True, ca_bundle: str | None = None
) -> Probe:
    """Send ``GET`` to ``url`` and report whether anything answered."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:  # an unclosed [IPv6 address, a port that is no number
        return Probe(False, f"{url!r} is not a valid URL ({exc})")
    if parts.scheme not in ("http", "https"):
        return Probe(False, f"{url!r} is not an http:// or https:// URL")
    if not parts.hostname:
        return Probe(False, f"{url!r} names no host")
    host = parts.hostname
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        try:
            context = ssl.create_default_context(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            # SSLError is an OSError: test it first.
            why = ("it holds no PEM certificate" if isinstance(exc, ssl.SSLError)
                   else exc.strerror or str(exc))
            return Probe(False, f"the CA bundle {ca_bundle} cannot be used ({why})", host, port,
                         fix=f"unset AWS_CA_BUNDLE / ca-bundle if {ca_bundle} is wrong, or "
                         "give a PEM file of CA certificates as the CA bundle",
                         key="cloud.ca_bundle")
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request("GET", parts.path or "/", headers={"User-Agent": "euca-windows-wizard"})
        status = connection.getresponse().status
    except http.client.InvalidURL as exc:  # spaces or control characters in the path
        return Probe(False, f"{url!r} is not a valid URL ({exc})", host, port)
    except ssl.SSLError as exc:
        return Probe(False, f"TLS handshake with {host}:{port} failed ({exc.reason})", host, port)
    except TimeoutError:
        return Probe(False, f"no answer from {host}:{port} within {timeout:g} s", host, port)
    except ConnectionRefusedError:
        return Probe(False, f"connection to {host}:{port} refused", host, port)
    except socket.gaierror:
        return Probe(False, f"host name {host} not found", host, port)
    except (OSError, http.client.HTTPException) as exc:
        return Probe(False, f"{host}:{port} did not answer over HTTP ({exc})", host, port)
    finally:
        connection.close()
    elapsed = (time.monotonic() - started) * 1000
    return Probe(True, f"HTTP {status} from {host}:{port} in {elapsed:.0f} ms", host, port)

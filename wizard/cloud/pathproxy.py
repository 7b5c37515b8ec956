"""A small in-process HTTP proxy that gives a local S3/EC2 server Eucalyptus paths.

moto serves S3 and EC2 at the root of one port; Eucalyptus serves them under
``/services/objectstorage`` (``/services/Walrus``) and ``/services/compute``
(``/services/Eucalyptus``). The proxy strips those prefixes so the wizard's
real endpoint handling (paths kept, path-style S3) is what the sandbox and the
tests exercise.

Two more jobs, for the sandbox and the tests alike:
- moto picks S3 or EC2 from a SigV4 ``Authorization`` header; a SigV2 EC2
  call (form-encoded, no such header) would land in S3. Requests under the
  compute prefixes without a SigV4 header get a routing hint naming ec2
  (moto checks no signatures).
- It can keep a log of what crossed the wire (method, path, headers, status)
  and inject faults (a 503 answer, a dropped connection) for chosen requests,
  so tests can show retries and resumes against a real HTTP peer.

Loopback only: it binds 127.0.0.1 and forwards to a loopback upstream.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from wizard.core.logs import get_logger

log = get_logger(__name__)

# Prefix -> the moto service behind it.
PREFIXES: dict[str, str] = {
    "/services/objectstorage": "s3",
    "/services/Walrus": "s3",
    "/services/compute": "ec2",
    "/services/Eucalyptus": "ec2",
}

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection",
                         "te", "trailer", "upgrade"})


@dataclass(frozen=True)
class Exchange:
    """One request as the proxy saw it, and what it answered."""

    method: str
    path: str  # as the client sent it, prefix included
    headers: dict[str, str]  # lower-case names
    status: int  # 0 when the connection was dropped on purpose
    body_size: int

    @property
    def key(self) -> str:
        """For S3 object requests: ``bucket/key`` without the prefix and query."""
        path = self.path.split("?", 1)[0]
        for prefix in PREFIXES:
            if path.startswith(prefix):
                path = path[len(prefix):]
                break
        return path.lstrip("/")


@dataclass
class Fault:
    """Answer ``times`` requests matching ``match`` with ``kind`` instead of forwarding."""

    kind: str  # "503" or "drop"
    match: Callable[[str, str], bool]  # (method, path) -> bool
    times: int = 1
    hits: int = field(default=0)


class PathProxy:
    """Serve Eucalyptus-style paths on 127.0.0.1 and forward them to ``upstream_port``."""

    def __init__(self, upstream_port: int, *, record: bool = False, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self.record = record
        self.log: list[Exchange] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, prefix: str = "/services/objectstorage") -> str:
        return f"http://127.0.0.1:{self.port}{prefix}"

    def start(self) -> PathProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="path-proxy",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def inject(self, kind: str, match: Callable[[str, str], bool], times: int = 1) -> Fault:
        if kind not in ("503", "drop"):
            raise ValueError(f"unknown fault {kind!r}")
        fault = Fault(kind, match, times)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.log.clear()
            self.faults.clear()

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.hits < fault.times and fault.match(method, path):
                    fault.hits += 1
                    return fault
        return None

    def _note(self, exchange: Exchange) -> None:
        if self.record:
            with self._lock:
                self.log.append(exchange)


def _make_handler(proxy: PathProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore expects

        def log_message(self, format: str, *args: object) -> None:
            log.debug("proxy: " + format, *args)

        def _relay(self) -> None:
            method = self.command
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            prefix = next((p for p in PREFIXES
                           if self.path == p or self.path.startswith(p + "/")
                           or self.path.startswith(p + "?")), None)
            if prefix is None:
                self._answer(404, b"<Error><Code>NoSuchService</Code><Message>use "
                             b"/services/objectstorage or /services/compute</Message></Error>")
                proxy._note(Exchange(method, self.path, headers, 404, len(body)))
                return
            fault = proxy._fault_for(method, self.path)
            if fault is not None and fault.kind == "drop":
                proxy._note(Exchange(method, self.path, headers, 0, len(body)))
                self.close_connection = True
                # Shut the socket without a word, as a crashed front end would.
                self.connection.close()
                return
            if fault is not None:
                self._answer(503, b"<?xml version='1.0'?><Error><Code>ServiceUnavailable"
                             b"</Code><Message>injected by the test proxy</Message></Error>")
                proxy._note(Exchange(method, self.path, headers, 503, len(body)))
                return
            service = PREFIXES[prefix]
            upstream_path = self.path[len(prefix):] or "/"
            if not upstream_path.startswith("/"):
                upstream_path = "/" + upstream_path
            forward = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if service == "ec2" and "AWS4-" not in headers.get("authorization", ""):
                forward["Authorization"] = _ec2_routing_hint(body)
            conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
            try:
                conn.request(method, upstream_path, body=body or None, headers=forward)
                answer = conn.getresponse()
                data = answer.read()
                status = answer.status
                answer_headers = answer.getheaders()
            except OSError as exc:
                log.warning("proxy: upstream failed: %s", exc)
                self._answer(502, b"<Error><Code>BadGateway</Code></Error>")
                proxy._note(Exchange(method, self.path, headers, 502, len(body)))
                return
            finally:
                conn.close()
            self.send_response(status)
            for name, value in answer_headers:
                if name.lower() in _HOP_BY_HOP or name.lower() == "content-length":
                    continue
                self.send_header(name, value)
            if method == "HEAD":
                upstream_length = dict((k.lower(), v) for k, v in answer_headers).get(
                    "content-length", "0")
                self.send_header("Content-Length", upstream_length)
                self.end_headers()
            else:
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            proxy._note(Exchange(method, self.path, headers, status, len(body)))

        def _answer(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

    return Handler


def _ec2_routing_hint(body: bytes) -> str:
    # A SigV4-shaped header is how moto tells EC2 from S3; the key id from the
    # SigV2 form keeps moto's account the same as the caller's.
    try:
        form = parse_qs(body.decode("ascii", "replace"))
        key = form.get("AWSAccessKeyId", ["sandbox"])[0]
    except ValueError:
        key = "sandbox"
    return (f"AWS4-HMAC-SHA256 Credential={key}/20200101/us-east-1/ec2/aws4_request, "
            "SignedHeaders=host, Signature=0")

"""A small in-process HTTP proxy that gives a local S3/EC2 server Eucalyptus paths.

moto serves S3 and EC2 at the root of one port; Eucalyptus serves them under
``/services/objectstorage`` (``/services/Walrus``) and ``/services/compute``
(``/services/Eucalyptus``). The proxy strips those prefixes so the wizard's
real endpoint handling (paths kept, path-style S3) is what the sandbox and the
tests exercise.

Four more jobs, for the sandbox and the tests alike:
- Given a ``front`` (the sandbox's ``ImageFront``), it lets it answer the EC2
  calls moto does not answer as Eucalyptus does (the image calls), after
  the signature check; the rest goes to moto.
- Given the access keys and their secrets, it checks every request's
  signature (``signatures.py``) and answers InvalidAccessKeyId,
  SignatureDoesNotMatch or AuthFailure as Eucalyptus does: moto itself
  takes any key, and a sandbox that did too would hide a wrong secret key.
- moto picks S3 or EC2 from a SigV4 ``Authorization`` header; a SigV2 EC2
  call (form-encoded, no such header) would land in S3. Requests under the
  compute prefixes without a SigV4 header get a routing hint naming ec2
  (moto checks no signatures).
- It can keep a log of what crossed the wire (method, path, headers, status)
  and inject faults (a 503 answer, a dropped connection, a delay, an answer
  rewritten) for chosen requests, so tests can show retries, resumes and
  other stores' ways against a real HTTP peer.

Loopback only: it binds 127.0.0.1 and forwards to a loopback upstream.
"""

from __future__ import annotations

import contextlib
import http.client
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from wizard.cloud import signatures
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
# Not passed back: hop-by-hop headers, and the two that send_response writes itself.
_ANSWER_DROP = _HOP_BY_HOP | {"date", "server"}


@dataclass(frozen=True)
class Exchange:
    """One request as the proxy saw it, and what it answered."""

    method: str
    path: str  # as the client sent it, prefix included
    headers: dict[str, str]  # lower-case names
    status: int  # 0 when the connection was dropped on purpose
    body_size: int
    # EC2 query calls: the form fields but the signature (Action, ImageLocation…).
    form: dict[str, str] = field(default_factory=dict)

    @property
    def action(self) -> str | None:
        return self.form.get("Action")

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
    """Treat ``times`` requests matching ``match`` as ``kind`` says.

    Kinds: "503" (answer 503 ServiceUnavailable), "drop" (close the
    connection without an answer), "error" (answer ``status`` with the error
    ``code`` and ``message``, in the service's XML), "delay" (wait
    ``seconds`` before forwarding), "rewrite" (forward the request with its
    upstream path through ``path``, e.g. a query a store ignores taken off,
    and pass the answer's body through ``body``: a store that answers
    otherwise than moto, shown with moto's own state).
    """

    kind: str
    match: Callable[[str, str], bool]  # (method, path) -> bool
    times: int = 1
    hits: int = field(default=0)
    status: int = 503
    code: str = "ServiceUnavailable"
    message: str = "injected by the test proxy"
    seconds: float = 0.0
    path: Callable[[str], str] | None = None  # "rewrite": upstream path (no prefix) -> path
    body: Callable[[bytes], bytes] | None = None  # "rewrite": the answer's body -> body


class PathProxy:
    """Serve Eucalyptus-style paths on 127.0.0.1 and forward them to ``upstream_port``."""

    def __init__(self, upstream_port: int, *, record: bool = False, port: int = 0,
                 tls: ssl.SSLContext | None = None,
                 secrets: Mapping[str, str] | None = None,
                 front: Callable[[dict[str, str]], tuple[int, bytes] | None] | None = None,
                 ) -> None:
        self.upstream_port = upstream_port
        # EC2 calls answered in front of moto (form fields -> status and XML), or None.
        self.front = front
        # Access key id -> secret key; None: signatures are not checked.
        self.secrets: dict[str, str] | None = dict(secrets) if secrets is not None else None
        self.record = record
        self.log: list[Exchange] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._busy = 0  # requests being handled (read, maybe forwarded, not yet answered)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            # Each connection's handshake happens in its own handler thread.
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, prefix: str = "/services/objectstorage") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{prefix}"

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

    def inject(self, kind: str, match: Callable[[str, str], bool], times: int = 1,
               **details: object) -> Fault:
        if kind not in ("503", "drop", "error", "delay", "rewrite"):
            raise ValueError(f"unknown fault {kind!r}")
        fault = Fault(kind, match, times, **details)  # type: ignore[arg-type]
        with self._lock:
            self.faults.append(fault)
        return fault

    def allow(self, access_key: str, secret_key: str) -> None:
        """Accept requests signed with this key too (another account's, in tests)."""
        with self._lock:
            if self.secrets is not None:
                self.secrets[access_key] = secret_key

    def refusal(self, method: str, url: str, headers: dict[str, str], body: bytes,
                service_path: str) -> str | None:
        """Why the request's signature is not accepted, or None when it is."""
        if self.secrets is None:
            return None
        with self._lock:
            secrets = dict(self.secrets)
        return signatures.verify(method, url, headers, body, secrets, service_path)

    def clear(self) -> None:
        with self._lock:
            self.log.clear()
            self.faults.clear()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is in the proxy's hands (e.g. after killing a client)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if self._busy == 0:
                    return True
            time.sleep(0.01)
        return False

    def _busy_change(self, delta: int) -> None:
        with self._lock:
            self._busy += delta

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

        def handle(self) -> None:
            if isinstance(self.connection, ssl.SSLSocket):
                try:
                    self.connection.do_handshake()
                except (ssl.SSLError, OSError) as exc:
                    # A client that does not trust our certificate hangs up here.
                    log.debug("proxy: TLS handshake failed: %s", exc)
                    return
            # A client that drops the connection is not the proxy's failure.
            with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
                super().handle()

        def _relay(self) -> None:
            proxy._busy_change(1)
            try:
                self._relay_one()
            finally:
                proxy._busy_change(-1)

        def _relay_one(self) -> None:
            method = self.command
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            if len(body) < length:
                # The client hung up in the middle of its body (killed mid-upload). A
                # short body sent on under the full Content-Length would hold moto
                # waiting for bytes that never come, until its timeout.
                proxy._note(Exchange(method, self.path, headers, 0, len(body), {}))
                self.close_connection = True
                return
            form = _form(headers, body)
            prefix = next((p for p in PREFIXES
                           if self.path == p or self.path.startswith(p + "/")
                           or self.path.startswith(p + "?")), None)
            if prefix is None:
                proxy._note(Exchange(method, self.path, headers, 404, len(body), form))
                self._answer(404, b"<Error><Code>NoSuchService</Code><Message>use "
                             b"/services/objectstorage or /services/compute</Message></Error>")
                return
            service = PREFIXES[prefix]
            fault = proxy._fault_for(method, self.path)
            if fault is not None and fault.kind == "drop":
                proxy._note(Exchange(method, self.path, headers, 0, len(body), form))
                self.close_connection = True
                # Shut the socket without a word, as a crashed front end would.
                self.connection.close()
                return
            rewrite = fault if fault is not None and fault.kind == "rewrite" else None
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault is not None and rewrite is None:
                # Logged before answering: a client that has its answer may look at the log.
                proxy._note(Exchange(method, self.path, headers, fault.status, len(body), form))
                self._answer(fault.status, _error_xml(service, fault.code, fault.message))
                return
            if service == "ec2" and "Action" not in form and "Action=" not in self.path:
                # An S3 client sent to a compute URL, as Eucalyptus would answer it.
                proxy._note(Exchange(method, self.path, headers, 400, len(body), form))
                self._answer(400, _error_xml(service, "MissingAction",
                                             "The request must contain the parameter Action"))
                return
            if service == "s3" and "Action" in form:
                # An EC2 client sent to an object storage URL.
                proxy._note(Exchange(method, self.path, headers, 405, len(body), form))
                self._answer(405, _error_xml(service, "MethodNotAllowed", "The specified "
                                             "method is not allowed against this resource."))
                return
            refused = proxy.refusal(method, f"{proxy.scheme}://{headers.get('host', '')}"
                                    f"{self.path}", headers, body, prefix)
            if refused is not None:
                status, code, text = _refusal_answer(service, refused)
                proxy._note(Exchange(method, self.path, headers, status, len(body), form))
                self._answer(status, _error_xml(service, code, text))
                return
            if service == "ec2" and proxy.front is not None:
                fields = {**_query_fields(self.path), **signatures.form_fields(headers, body)}
                try:
                    answered = proxy.front(fields)
                except Exception:  # a bug in the front: answer as a cloud would, keep serving
                    log.exception("proxy: the EC2 front failed")
                    answered = (500, _error_xml(service, "InternalError",
                                                "the sandbox failed to answer; see its log"))
                if answered is not None:
                    status, data = answered
                    proxy._note(Exchange(method, self.path, headers, status, len(body), form))
                    self._answer(status, data)
                    return
            upstream_path = self.path[len(prefix):] or "/"
            if not upstream_path.startswith("/"):
                upstream_path = "/" + upstream_path
            if rewrite is not None and rewrite.path is not None:
                upstream_path = rewrite.path(upstream_path)
            forward = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if service == "ec2" and "AWS4-" not in headers.get("authorization", ""):
                forward["Authorization"] = _ec2_routing_hint(body)
            conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
            try:
                conn.request(method, upstream_path, body=body or None, headers=forward)
                answer = conn.getresponse()
                data = answer.read()
                if rewrite is not None and rewrite.body is not None:
                    data = rewrite.body(data)
                status = answer.status
                answer_headers = answer.getheaders()
            except OSError as exc:
                log.warning("proxy: upstream failed: %s", exc)
                proxy._note(Exchange(method, self.path, headers, 502, len(body), form))
                self._answer(502, b"<Error><Code>BadGateway</Code></Error>")
                return
            finally:
                conn.close()
            proxy._note(Exchange(method, self.path, headers, status, len(body), form))
            self.send_response(status)
            for name, value in answer_headers:
                if name.lower() in _ANSWER_DROP or name.lower() == "content-length":
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

        def _answer(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

    return Handler


def _form(headers: dict[str, str], body: bytes) -> dict[str, str]:
    # The wire log keeps the call's fields, but never its signature.
    fields = signatures.form_fields(headers, body)
    return {k: v for k, v in fields.items() if k != "Signature"}


def _query_fields(path: str) -> dict[str, str]:
    query = path.partition("?")[2]
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def _refusal_answer(service: str, reason: str) -> tuple[int, str, str]:
    """(status, code, message) as Eucalyptus and S3 answer a request they do not accept."""
    if service == "ec2":
        return 401, "AuthFailure", "AWS was not able to validate the provided access credentials"
    if reason == signatures.UNKNOWN_KEY:
        return 403, "InvalidAccessKeyId", ("The AWS Access Key Id you provided does not exist "
                                           "in our records.")
    if reason == signatures.BAD_SIGNATURE:
        return 403, "SignatureDoesNotMatch", ("The request signature we calculated does not "
                                              "match the signature you provided. Check your key "
                                              "and signing method.")
    return 403, "AccessDenied", "Anonymous access is not allowed here"


def _error_xml(service: str, code: str, message: str) -> bytes:
    from xml.sax.saxutils import escape

    code, message = escape(code), escape(message)
    if service == "ec2":
        text = (f"<?xml version='1.0'?><Response><Errors><Error><Code>{code}</Code>"
                f"<Message>{message}</Message></Error></Errors>"
                "<RequestID>injected</RequestID></Response>")
    else:
        text = (f"<?xml version='1.0'?><Error><Code>{code}</Code>"
                f"<Message>{message}</Message></Error>")
    return text.encode()


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

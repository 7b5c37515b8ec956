"""check: free space where bundle writes; an endpoint is ok only when a signed request is."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.prerequisites.kit import SECRET, make_kit
from wizard.prerequisites.checks import CheckResult, run_checks


def free_space_row(tmp_path: Path) -> str:
    rows = {row.name: row for row in run_checks("memdisk", environ={}, ini_paths=[],
                                                timeout=1)}
    return rows["free space"].value


def test_free_space_is_measured_in_the_bundle_folder(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    monkeypatch.setenv("TMPDIR", str(bundles))
    assert f"free in {bundles}" in free_space_row(tmp_path)
    monkeypatch.delenv("TMPDIR")
    assert "free in /var/tmp" in free_space_row(tmp_path)  # bundle's default without TMPDIR


class _Answers400(http.server.BaseHTTPRequestHandler):
    """Answers every request 400, as a wrong service or a proxy may."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"<Response><Errors><Error><Code>BadRequest</Code></Error></Errors></Response>"
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def answers_400() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers400)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/compute"
    finally:
        server.shutdown()
        server.server_close()


def endpoint_rows(eucarc: Path, tmp_path: Path) -> dict[str, CheckResult]:
    rows = run_checks("memdisk", eucarc=eucarc, work_dir=tmp_path, environ={}, ini_paths=[],
                      timeout=2)
    return {row.name: row for row in rows if row.name.endswith("endpoint")}


def test_an_http_400_is_not_an_ok_endpoint(tmp_path: Path, answers_400: str,
                                          cloud: tuple[str, str]) -> None:
    rows = endpoint_rows(make_kit(tmp_path / "creds", answers_400, cloud[1]), tmp_path)
    assert rows["EC2 endpoint"].status == "FAIL", rows["EC2 endpoint"]
    assert rows["EC2 endpoint"].fix
    assert rows["S3 endpoint"].ok, rows["S3 endpoint"]


def test_the_s3_url_given_as_the_ec2_url_fails(tmp_path: Path,
                                                cloud: tuple[str, str]) -> None:
    rows = endpoint_rows(make_kit(tmp_path / "creds", cloud[1], cloud[1]), tmp_path)
    assert rows["EC2 endpoint"].status == "FAIL"
    assert "EC2" in rows["EC2 endpoint"].value


def test_a_wrong_secret_key_fails_both_endpoints(tmp_path: Path,
                                                 cloud: tuple[str, str]) -> None:
    eucarc = make_kit(tmp_path / "creds", *cloud)
    eucarc.write_text(eucarc.read_text().replace(SECRET, "x" * len(SECRET)))
    rows = endpoint_rows(eucarc, tmp_path)
    for row in rows.values():
        assert row.status == "FAIL" and "refused your credentials" in row.value, row
        assert "x" * len(SECRET) not in row.value + (row.fix or "")

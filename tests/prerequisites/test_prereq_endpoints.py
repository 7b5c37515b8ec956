"""Endpoint reachability, only against servers the tests start on 127.0.0.1."""

from __future__ import annotations

from tests.prerequisites.servers import closed_port, http_server, silent_server
from wizard.prerequisites.endpoints import probe_endpoint


def test_an_answering_server_is_reachable_even_when_it_refuses() -> None:
    with http_server() as url:
        probe = probe_endpoint(url, timeout=2)
    assert probe.ok
    assert probe.detail.startswith("HTTP 403 from 127.0.0.1:")


def test_closed_port_is_refused() -> None:
    port = closed_port()
    probe = probe_endpoint(f"http://127.0.0.1:{port}/services/compute", timeout=2)
    assert not probe.ok
    assert probe.detail == f"connection to 127.0.0.1:{port} refused"
    assert probe.port == port


def test_silent_server_times_out() -> None:
    with silent_server() as url:
        probe = probe_endpoint(url, timeout=0.5)
    assert not probe.ok
    assert "no answer" in probe.detail and "within 0.5 s" in probe.detail


def test_not_a_url() -> None:
    assert not probe_endpoint("ftp://127.0.0.1/").ok
    assert not probe_endpoint("127.0.0.1:8773").ok
    assert not probe_endpoint("http://127.0.0.1:99999/").ok
    # urlsplit raises on these; the probe must say so, not raise.
    unclosed = probe_endpoint("http://[::1/services/compute")
    assert not unclosed.ok and "is not a valid URL (Invalid IPv6 URL)" in unclosed.detail
    port = probe_endpoint("http://127.0.0.1:abc/")
    assert not port.ok and "is not a valid URL" in port.detail
    assert probe_endpoint("http://").detail == "'http://' names no host"
    spaces = probe_endpoint("http://127.0.0.1:1/services/ compute")
    assert not spaces.ok and "is not a valid URL (URL can't contain control" in spaces.detail


def test_tls_to_a_plain_http_server_fails_cleanly() -> None:
    with http_server() as url:
        probe = probe_endpoint(url.replace("http://", "https://"), timeout=2)
    assert not probe.ok
    assert "127.0.0.1" in probe.detail


def test_an_unusable_ca_bundle_is_a_failed_probe_with_its_fix(tmp_path) -> None:
    # Before: ssl.create_default_context raised out of the probe, and check
    # ended in "unexpected SSLError" (or FileNotFoundError, IsADirectoryError).
    text = tmp_path / "not-pem.txt"
    text.write_text("hello\n")
    for bundle, why in ((text, "it holds no PEM certificate"),
                        (tmp_path / "missing.pem", "No such file or directory"),
                        (tmp_path, "Is a directory")):
        probe = probe_endpoint("https://127.0.0.1:1/services/compute", timeout=1,
                               ca_bundle=str(bundle))
        assert not probe.ok
        assert probe.detail == f"the CA bundle {bundle} cannot be used ({why})"
        assert probe.fix is not None and "as the CA bundle" in probe.fix
        assert probe.key == "cloud.ca_bundle"

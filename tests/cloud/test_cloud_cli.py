"""The upload and register commands as an operator runs them: output, errors, exit status."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.cloud.conftest import PYTHON, cli_env, make_bundle
from wizard.cloud.sandbox import Sandbox


def run(sb: Sandbox, *args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "wizard", *args], env=env or cli_env(sb),
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("euca-windows-wizard")]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("euca-windows-wizard: error: ")
    assert "Fix:" in line
    for needle in needles:
        assert needle in line, line
    return line


def test_upload_then_register_by_hand(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=5 * 64 * 1024)
    rc = str(cloud_box.eucarc)
    log_file = tmp_path / "run.log"
    up = run(cloud_box, "-vv", "--log-file", str(log_file), "upload", "--eucarc", rc,
             "-b", "cli-bucket/xp", "-m", str(made.manifest))
    assert up.returncode == 0, up.stderr
    assert "sample.img" in log_file.read_text()
    assert cloud_box.secret_key not in log_file.read_text()
    assert up.stdout.splitlines()[-1] == "Uploaded cli-bucket/xp/sample.img.manifest.xml"
    assert "Uploading sample.img" in up.stderr and "100%" in up.stderr
    assert cloud_box.secret_key not in up.stderr + up.stdout
    reg = run(cloud_box, "register", "--eucarc", rc, "cli-bucket/xp/sample.img.manifest.xml",
              "-n", "cli-image", "-a", "i386")
    assert reg.returncode == 0, reg.stderr
    last = reg.stdout.splitlines()[-1]
    assert last.startswith("IMAGE\temi-")
    again = run(cloud_box, "register", "--eucarc", rc, "cli-bucket/xp/sample.img.manifest.xml",
                "-n", "cli-image")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == last
    assert "already registered" in again.stderr
    assert len([e for e in cloud_box.proxy.log if e.action == "RegisterImage"]) == 1


def test_flags_and_environment_instead_of_an_eucarc(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=2 * 64 * 1024)
    env = cli_env(cloud_box, AWS_ACCESS_KEY_ID=cloud_box.access_key)
    up = run(cloud_box, "upload", "-U", cloud_box.s3_url, "-S", cloud_box.secret_key,
             "-b", "flag-bucket", "-m", str(made.manifest), "--sigv", "2", env=env)
    assert up.returncode == 0, up.stderr
    puts = [e for e in cloud_box.proxy.log if e.method == "PUT" and "flag-bucket/" in e.path]
    assert puts and all(e.headers["authorization"].startswith("AWS ") for e in puts)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dead_endpoint_fails_within_a_minute_naming_the_url(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    url = f"http://127.0.0.1:{closed_port()}/services/objectstorage"
    start = time.monotonic()
    result = run(cloud_box, "upload", "--eucarc", str(cloud_box.eucarc), "-U", url,
                 "-b", "dead", "-m", str(made.manifest))
    assert time.monotonic() - start < 60
    assert_one_line_error(result, url, "refused the connection", "--url")


def test_https_verification_off_warns_on_every_run(cloud_box: Sandbox, tmp_path: Path,
                                                   tls_proxy_url: str):
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    for _ in range(2):
        result = run(cloud_box, "upload", "--eucarc", str(cloud_box.eucarc), "-U", tls_proxy_url,
                     "--no-verify-ssl", "-b", "insecure", "-m", str(made.manifest))
        assert result.returncode == 0, result.stderr
        assert "warning: HTTPS certificates of 127.0.0.1" in result.stderr
        assert "NOT checked" in result.stderr
        assert "InsecureRequestWarning" not in result.stderr  # ours is the one warning
        assert len([line for line in result.stderr.splitlines() if "warning" in line]) == 1


def test_https_url_for_a_plain_http_port_says_so(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    plain = cloud_box.s3_url.replace("http://", "https://")
    host = plain.split("/")[2]
    result = run(cloud_box, "upload", "--eucarc", str(cloud_box.eucarc), "-U", plain,
                 "-b", "tls-bucket", "-m", str(made.manifest))
    line = assert_one_line_error(result, f"{host} answers plain HTTP, not HTTPS", "http://")
    assert "not trusted" not in line


def test_s3_and_ec2_urls_swapped_say_which_url_is_wrong(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    rc = str(cloud_box.eucarc)
    up = run(cloud_box, "upload", "--eucarc", rc, "-U", cloud_box.ec2_url, "-b", "swapped",
             "-m", str(made.manifest))
    assert_one_line_error(up, f"the answer from {cloud_box.ec2_url} is not what an S3 service "
                          "sends", "--url flag", "S3 (object storage) URL")
    assert run(cloud_box, "upload", "--eucarc", rc, "-b", "swapped",
               "-m", str(made.manifest)).returncode == 0
    reg = run(cloud_box, "register", "--eucarc", rc, "-U", cloud_box.s3_url,
              "swapped/sample.img.manifest.xml", "-n", "swapped")
    assert_one_line_error(reg, f"the answer from {cloud_box.s3_url} is not what an EC2 "
                          "service sends", "EC2 (compute) URL")


def test_untrusted_certificate_names_host_and_fix(cloud_box: Sandbox, tmp_path: Path,
                                                  tls_proxy_url: str, tls_ca: Path):
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    host = tls_proxy_url.split("/")[2]
    result = run(cloud_box, "upload", "--eucarc", str(cloud_box.eucarc), "-U", tls_proxy_url,
                 "-b", "tls-bucket", "-m", str(made.manifest))
    assert_one_line_error(result, f"certificate of {host} is not trusted", "--ca-bundle")
    trusted = run(cloud_box, "upload", "--eucarc", str(cloud_box.eucarc), "-U", tls_proxy_url,
                  "--ca-bundle", str(tls_ca), "-b", "tls-bucket", "-m", str(made.manifest))
    assert trusted.returncode == 0, trusted.stderr
    assert "warning" not in trusted.stderr
    env = cli_env(cloud_box, AWS_CA_BUNDLE=str(tls_ca))
    also = run(cloud_box, "upload", "--eucarc", str(cloud_box.eucarc), "-U", tls_proxy_url,
               "-b", "tls-bucket", "-m", str(made.manifest), env=env)
    assert also.returncode == 0, also.stderr


def test_bad_inputs_are_one_line_errors(cloud_box: Sandbox, tmp_path: Path):
    made = make_bundle(cloud_box, tmp_path, size=64 * 1024)
    rc = str(cloud_box.eucarc)
    manifest = str(made.manifest)
    not_xml = tmp_path / "notes.manifest.xml"
    not_xml.write_text("hello")
    empty_env = cli_env(cloud_box)
    cases: list[tuple[list[str], tuple[str, ...]]] = [
        (["upload", "--eucarc", rc, "-b", "x", "-m", manifest], ("valid bucket name",)),
        (["upload", "--eucarc", rc, "-b", "good-bucket", "-m", str(tmp_path / "nope.xml")],
         ("does not exist",)),
        (["upload", "--eucarc", rc, "-b", "good-bucket", "-m", str(not_xml)], ("notes",)),
        (["upload", "--eucarc", str(tmp_path / "no-eucarc"), "-b", "good-bucket", "-m",
          manifest], ("no-eucarc", "--eucarc")),
        (["upload", "-b", "good-bucket", "-m", manifest], ("no access key id", "EC2_ACCESS_KEY")),
        (["upload", "--eucarc", rc, "-U", "ftp://127.0.0.1/x", "-b", "good-bucket", "-m",
          manifest], ("not an http:// or https:// URL",)),
        (["upload", "--eucarc", rc, "--ca-bundle", str(tmp_path / "ca.pem"), "-b",
          "good-bucket", "-m", manifest], ("CA bundle",)),
        (["upload", "--eucarc", rc, "--concurrency", "0", "-b", "good-bucket", "-m", manifest],
         ("0 parts sent at once is out of range", "(--concurrency).")),
        (["register", "--eucarc", rc, "good-bucket/a.img", "-n", "name"],
         ("not a manifest location",)),
        (["register", "--eucarc", rc, "good-bucket/a.manifest.xml", "-n", "name"],
         ("not in the store", "upload")),
        (["register", "-U", cloud_box.ec2_url, "good-bucket/a.manifest.xml", "-n", "name"],
         ("no access key id",)),
    ]
    for args, needles in cases:
        assert_one_line_error(run(cloud_box, *args, env=empty_env), *needles)
    bad_account = tmp_path / "bad-eucarc"
    bad_account.write_text(cloud_box.eucarc.read_text() + "export EC2_USER_ID=12-34\n"
                           "export EC2_ACCOUNT_NUMBER=12-34\n")
    assert_one_line_error(run(cloud_box, "upload", "--eucarc", str(bad_account), "-b",
                              "good-bucket", "-m", manifest), "12 digits")


@pytest.mark.parametrize("command", ["upload", "register", "sandbox"])
def test_help_lists_the_options(cloud_box: Sandbox, command: str):
    result = run(cloud_box, command, "--help")
    assert result.returncode == 0
    if command != "sandbox":
        for flag in ("--url", "--access-key-id", "--secret-key", "--eucarc", "--sigv",
                     "--ca-bundle", "--no-verify-ssl", "--region"):
            assert flag in result.stdout

"""An eucarc that is not one, or that is broken: said as such, by line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.bundle.bundle_checks import CliResult
from tests.bundle.conftest import KeyFiles
from tests.disk.oddpaths import one_error_line

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_a_certificate_given_as_the_eucarc_is_named(cli: Callable[..., CliResult],
                                                   key_files: KeyFiles, tmp_path: Path) -> None:
    image = tmp_path / "xp.img"
    image.write_bytes(b"x" * 4096)
    result = cli("bundle", "-i", image, "-d", tmp_path / "out", "--eucarc", key_files.user_cert)
    assert result.code == 1
    line = one_error_line(result.err)
    assert f"{key_files.user_cert} is not an eucarc: it is a PEM certificate" in line
    assert "no access key" not in line and "is set" not in line.split("Fix:")[0]


def test_a_private_key_given_as_the_eucarc_is_named(cli: Callable[..., CliResult],
                                                   key_files: KeyFiles) -> None:
    result = cli("upload", "-b", "images", "-m", "x.manifest.xml",
                 "--eucarc", key_files.user_key)
    assert result.code == 1
    assert "is not an eucarc: it is a PEM private key" in one_error_line(result.err)


def test_an_unclosed_quote_names_the_line_not_its_text(cli: Callable[..., CliResult],
                                                       tmp_path: Path) -> None:
    eucarc = tmp_path / "eucarc"
    eucarc.write_text("export EC2_URL=http://127.0.0.1:1/services/compute\n"
                      "export EC2_ACCESS_KEY='AKIAEXAMPLE'\n"
                      f"export EC2_SECRET_KEY='{SECRET}\n"
                      "export S3_URL=http://127.0.0.1:1/services/objectstorage\n")
    result = cli("upload", "-b", "images", "-m", tmp_path / "x.manifest.xml",
                 "--eucarc", eucarc)
    assert result.code == 1
    line = one_error_line(result.err)
    assert f"the eucarc {eucarc} line 3 (EC2_SECRET_KEY=...) opens a quote it never closes" \
        in line
    assert "no secret key" not in line
    assert SECRET not in result.err and SECRET not in result.out


def test_a_missing_certificate_reads_as_a_sentence(cli: Callable[..., CliResult],
                                                   tmp_path: Path) -> None:
    image = tmp_path / "xp.img"
    image.write_bytes(b"x" * 4096)
    line = one_error_line(cli("bundle", "-i", image, "-d", tmp_path / "out").err)
    assert line.startswith("euca-windows-wizard: error: no certificate is set. Fix:")

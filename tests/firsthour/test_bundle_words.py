"""What bundle says: nothing about a bundle it refuses to make; a last line a script can read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.bundle.bundle_checks import CliResult
from tests.disk.oddpaths import one_error_line


def test_an_empty_image_is_refused_before_any_bundle_line(
    cli: Callable[..., CliResult], key_flags: tuple[str, ...], tmp_path: Path,
) -> None:
    image = tmp_path / "empty.img"
    image.write_bytes(b"")
    for destination in ((), ("-d", str(tmp_path / "out"))):
        result = cli("bundle", "-i", image, *destination, *key_flags)
        assert result.code == 1
        line = one_error_line(result.err)  # the error, and nothing before it
        assert f"the image {image} is empty" in line
        assert "Bundle folder" not in result.err and "Architecture" not in result.err
    assert not (tmp_path / "out").exists()


def test_a_bundle_made_for_other_ids_is_said_without_python(
    cli: Callable[..., CliResult], key_flags: tuple[str, ...], tmp_path: Path,
) -> None:
    image = tmp_path / "xp.img"
    image.write_bytes(b"\x01" * 65536)
    out = tmp_path / "out"
    first = cli("bundle", "-i", image, "-d", out, "-r", "i386", *key_flags)
    assert first.code == 0, first.err
    again = cli("bundle", "-i", image, "-d", out, "-r", "i386", "--kernel", "eki-01CB2E3F",
                *key_flags)
    assert again.code == 1
    line = one_error_line(again.err)
    assert "was made with the kernel id none, not eki-01CB2E3F" in line
    assert "None" not in line and "'" not in line.split("Fix:")[0]

"""check measures free space where bundle writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.prerequisites.checks import run_checks


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

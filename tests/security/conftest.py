"""Fixtures the hostile-input suite shares with the bundle tests (keys, bundles)."""

from __future__ import annotations

from tests.bundle.conftest import bundle_keys, key_files  # noqa: F401 - fixtures, by name

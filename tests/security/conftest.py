"""Fixtures the hostile-input suite shares with the bundle tests (keys, bundles)."""

from __future__ import annotations

from tests.bundle.conftest import (  # noqa: F401 - fixtures, by name
    big_bundle,
    big_image,
    bundle_keys,
    images,
    key_files,
)

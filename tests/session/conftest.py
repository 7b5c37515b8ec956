"""The cloud tests' sandbox (one moto behind the path proxy, session-scoped) and its
per-test reset, for the session tests that run builds against it."""

from tests.cloud.conftest import cloud_box, sandbox  # noqa: F401

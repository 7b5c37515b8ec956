"""The bundle suite's key files and in-process CLI runner, for the first-hour tests."""

from tests.bundle.conftest import clean_env, cli, key_files, key_flags  # noqa: F401
from tests.cloud.conftest import cloud_box, sandbox  # noqa: F401
from tests.prerequisites.conftest import cloud  # noqa: F401

"""Shared fixtures: every test runs with its own XDG folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools import DEBIAN_PACKAGES, missing_tool_line


@pytest.fixture(autouse=True)
def private_xdg(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep logs and state of each test out of the real home folder."""
    home = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    return home


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A tool missing from PATH fails the test with one line naming its Debian package.

    Tests run real tools with subprocess; when one is absent Python raises
    FileNotFoundError deep in a fixture, with a traceback that names no
    package. Those known tools get the line ``tests.tools.need`` gives.
    """
    outcome = yield
    report = outcome.get_result()
    error = call.excinfo.value if call.excinfo is not None else None
    if report.failed and isinstance(error, FileNotFoundError) and error.filename is not None:
        tool = Path(str(error.filename)).name
        if tool in DEBIAN_PACKAGES:
            report.longrepr = missing_tool_line(tool)

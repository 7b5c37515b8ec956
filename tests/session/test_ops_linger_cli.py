"""``check`` and ``run --detach`` warn where logout kills a detached build, with the fix.

Run in a private mount namespace (``unshare -m``; ``-r`` too when not root)
whose /run is a folder of the test's: systemd's "running" marker
(/run/systemd/system) and a logind drop-in with ``KillUserProcesses=yes``
(/run/systemd/logind.conf.d, which logind reads as it reads /etc's). Nothing
outside the namespace changes; the system bus is out of reach in there, so
the configuration is what is read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.session.ops_kit import env, new_session
from tests.tools import need

# KillExcludeUsers emptied: root is excluded by default, and CI runs as root.
DROP_IN = "[Login]\nKillUserProcesses=yes\nKillExcludeUsers=\n"


def _with_logout_kills(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    unshare = need("unshare")
    fake_run = tmp_path / "run"
    (fake_run / "systemd" / "system").mkdir(parents=True)
    # Named to sort after any drop-in the machine has: the last one read wins.
    (fake_run / "systemd" / "logind.conf.d").mkdir()
    (fake_run / "systemd" / "logind.conf.d" / "zzzz-sessionsops-test.conf").write_text(DROP_IN)
    namespace = [unshare, "-m", "--propagation", "private"]
    if os.geteuid() != 0:
        namespace.append("-r")
    script = f'mount --bind "{fake_run}" /run && exec "$@"'
    return subprocess.run([*namespace, "sh", "-c", script, "sh", sys.executable, "-m",
                           "wizard", *args], capture_output=True, text=True, env=env(),
                          timeout=240, stdin=subprocess.DEVNULL)


def test_check_warns_that_logout_would_kill_a_detached_build(tmp_path: Path,
                                                              private_xdg: Path) -> None:
    result = _with_logout_kills(tmp_path, "check", "--recipe", "native")
    assert "Prerequisites of the native recipe" in result.stdout, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, result.stderr
    assert "KillUserProcesses=yes" in warnings[0]
    assert "loginctl enable-linger " in warnings[0]


def test_run_detach_warns_before_it_starts_the_build(tmp_path: Path,
                                                      private_xdg: Path) -> None:
    paths = new_session("winxp", mode="native", folder=tmp_path)
    result = _with_logout_kills(tmp_path, "run", "--session", paths.name, "--detach", "--yes")
    assert "warning: systemd-logind here kills your processes when you log out" in \
        result.stderr, result.stderr
    assert "loginctl enable-linger " in result.stderr


def test_no_warning_where_systemd_does_not_run(tmp_path: Path, private_xdg: Path) -> None:
    if Path("/run/systemd/system").is_dir():
        pytest.skip("systemd runs here: its own logind settings decide (tested above)")
    result = subprocess.run([sys.executable, "-m", "wizard", "check", "--recipe", "native"],
                            capture_output=True, text=True, env=env(), timeout=240,
                            stdin=subprocess.DEVNULL)
    assert "Prerequisites of the native recipe" in result.stdout, result.stderr
    assert "enable-linger" not in result.stderr

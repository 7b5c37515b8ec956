"""Logout kills a detached build where logind says KillUserProcesses=yes: warned, with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.session.detach import linger_warning


def _system(root: Path, conf: str | None = None, dropins: dict[str, str] | None = None,
            lingering: str | None = None) -> Path:
    (root / "run/systemd/system").mkdir(parents=True)
    if conf is not None:
        (root / "etc/systemd").mkdir(parents=True)
        (root / "etc/systemd/logind.conf").write_text(conf)
    for relative, text in (dropins or {}).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if lingering:
        (root / "var/lib/systemd/linger").mkdir(parents=True)
        (root / "var/lib/systemd/linger" / lingering).write_text("")
    return root


KILL = "[Login]\n#KillUserProcesses=no\nKillUserProcesses=yes\n"


def test_kill_user_processes_yes_warns_with_the_linger_fix(tmp_path: Path) -> None:
    warning = linger_warning(_system(tmp_path, KILL), user="alice")
    assert warning is not None
    assert "KillUserProcesses=yes" in warning
    assert "loginctl enable-linger alice" in warning


@pytest.mark.parametrize("conf, dropins", [
    (None, {}),  # the distribution's default: no
    ("[Login]\n#KillUserProcesses=yes\n", {}),  # commented out
    ("[Other]\nKillUserProcesses=yes\n", {}),  # another section
    (KILL, {"etc/systemd/logind.conf.d/50-keep.conf": "[Login]\nKillUserProcesses=no\n"}),
    (KILL, {"usr/lib/systemd/logind.conf.d/10-keep.conf": "[Login]\nKillUserProcesses=0\n"}),
    (KILL, {"etc/systemd/logind.conf.d/x.conf": "[Login]\nKillExcludeUsers=root alice\n"}),
    (KILL, {"etc/systemd/logind.conf.d/x.conf": "[Login]\nKillOnlyUsers=bob\n"}),
])
def test_no_warning_where_logout_does_not_kill_alice(tmp_path: Path, conf: str | None,
                                                     dropins: dict[str, str]) -> None:
    assert linger_warning(_system(tmp_path, conf, dropins), user="alice") is None


def test_a_drop_in_that_turns_killing_on_warns(tmp_path: Path) -> None:
    root = _system(tmp_path, "[Login]\n", {
        "usr/lib/systemd/logind.conf.d/10-vendor.conf": "[Login]\nKillUserProcesses=no\n",
        "etc/systemd/logind.conf.d/90-site.conf": "[Login]\nKillUserProcesses=yes\n"})
    assert linger_warning(root, user="alice") is not None


def test_etc_overrides_usr_for_the_same_drop_in_name(tmp_path: Path) -> None:
    root = _system(tmp_path, KILL, {
        "usr/lib/systemd/logind.conf.d/50-x.conf": "[Login]\nKillUserProcesses=no\n",
        "etc/systemd/logind.conf.d/50-x.conf": "[Login]\nKillUserProcesses=yes\n"})
    assert linger_warning(root, user="alice") is not None


def test_a_lingering_user_is_not_warned(tmp_path: Path) -> None:
    assert linger_warning(_system(tmp_path, KILL, lingering="alice"), user="alice") is None
    assert linger_warning(_system(tmp_path / "b", KILL, lingering="bob"), user="alice")


def test_root_is_excluded_by_default(tmp_path: Path) -> None:
    assert linger_warning(_system(tmp_path, KILL), user="root") is None


def test_without_systemd_nothing_kills_at_logout(tmp_path: Path) -> None:
    (tmp_path / "etc/systemd").mkdir(parents=True)
    (tmp_path / "etc/systemd/logind.conf").write_text(KILL)
    assert linger_warning(tmp_path, user="alice") is None

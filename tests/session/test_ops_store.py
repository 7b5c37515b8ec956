"""Session folders: where they live, their modes, and names that are never paths."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wizard.core.errors import WizardError
from wizard.session.store import (
    SessionPaths,
    check_name,
    claim_session,
    name_from,
    open_session,
    session_names,
    sessions_root,
    write_session_file,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_sessions_live_under_xdg_state_home(private_xdg: Path) -> None:
    root = sessions_root()
    assert root == private_xdg / "xdg_state_home" / "euca-windows-wizard" / "sessions"
    assert root.is_dir()


def test_folders_are_0700_and_files_0600_even_under_a_loose_umask(private_xdg: Path) -> None:
    old = os.umask(0o022)
    try:
        paths = claim_session("winxp")
        write_session_file(paths.answers, "[build]\n")
    finally:
        os.umask(old)
    for folder in (paths.folder, paths.folder.parent, paths.folder.parent.parent):
        assert _mode(folder) == 0o700, folder
    assert _mode(paths.answers) == 0o600


def test_a_taken_name_gets_a_number(private_xdg: Path) -> None:
    first = claim_session("winxp")
    second = claim_session("winxp")
    third = claim_session("winxp")
    assert (first.name, second.name, third.name) == ("winxp", "winxp-2", "winxp-3")
    assert session_names() == ["winxp", "winxp-2", "winxp-3"]


def test_a_full_length_name_stays_within_the_rule_when_numbered(private_xdg: Path) -> None:
    long = "w" * 64
    claim_session(long)
    second = claim_session(long)
    assert second.name == "w" * 62 + "-2"
    check_name(second.name)


@pytest.mark.parametrize("name", [
    "../escape", "a/b", "/etc", ".hidden", "-rf", "", "a..b", "x" * 65, "space name",
    "tab\tname", "new\nline", "é", "..",
])
def test_a_name_that_is_not_plain_is_refused(name: str, private_xdg: Path) -> None:
    with pytest.raises(WizardError) as caught:
        SessionPaths(name)
    assert "is not a session name" in caught.value.message
    assert caught.value.fix
    # Nothing was created for it, anywhere.
    assert not (private_xdg / "xdg_state_home").exists()


def test_names_from_disk_image_file_names_are_plain() -> None:
    assert name_from("/images/Win XP (SP3).img") == "Win-XP-SP3"
    assert name_from("xp.raw") == "xp"
    assert name_from("../../..") == "session"
    assert name_from(".img") == "img"
    assert name_from("ä" * 10 + ".img") == "session"
    for text in ("a" * 200 + ".img", "-x-.y", "..a..b..c"):
        check_name(name_from(text))


def test_opening_a_missing_session_says_how_to_list_them(private_xdg: Path) -> None:
    with pytest.raises(WizardError) as caught:
        open_session("nothere")
    assert "no session named 'nothere'" in caught.value.message
    assert "euca-windows-wizard sessions" in (caught.value.fix or "")


def test_listing_leaves_out_what_is_not_a_session(private_xdg: Path) -> None:
    claim_session("real")
    root = sessions_root()
    (root / ".partial").mkdir()
    (root / "stray-file").write_text("x")
    os.symlink("/tmp", root / "link")
    assert session_names() == ["real"]

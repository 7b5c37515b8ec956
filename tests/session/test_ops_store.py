"""Session folders: where they live, their modes, and names that are never paths."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wizard.core.errors import WizardError
from wizard.session.answers import Answers, BuildAnswers, CloudAnswers, parse_answers
from wizard.session.store import (
    SessionPaths,
    check_name,
    claim_session,
    create_session,
    open_session,
    session_names,
    sessions_root,
    write_session_file,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


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
    # Every level the wizard created, XDG_STATE_HOME itself included (it did not exist).
    levels = [paths.folder, *paths.folder.parents]
    created = levels[: levels.index(private_xdg / "xdg_state_home") + 1]
    assert len(created) == 4
    for folder in created:
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
    "../escape", "a/b", "/etc", ".hidden", "-rf", "", "x" * 65, "space name",
    "tab\tname", "new\nline", "é", "..", "a/../b",
])
def test_a_name_that_is_not_plain_is_refused(name: str, private_xdg: Path) -> None:
    with pytest.raises(WizardError) as caught:
        SessionPaths(name)
    assert "is not a session name" in caught.value.message
    assert caught.value.fix
    # Nothing was created for it, anywhere.
    assert not (private_xdg / "xdg_state_home").exists()


def test_a_session_keeps_its_answers_without_the_secret_key(private_xdg: Path,
                                                           tmp_path: Path) -> None:
    answers = Answers(
        CloudAnswers(s3_url="http://127.0.0.1:1/services/objectstorage",
                     ec2_url="http://127.0.0.1:1/services/compute", access_key="AKIATEST",
                     secret_key=SECRET, account="123456789012"),
        BuildAnswers(name="winxp", bucket="b", arch="i386", mode="native",
                     disk=tmp_path / "xp.img"))
    assert create_session(answers) == "winxp"
    assert create_session(answers) == "winxp-2"
    for name in ("winxp", "winxp-2"):
        paths = SessionPaths(name)
        assert _mode(paths.answers) == 0o600
        text = paths.answers.read_text()
        assert SECRET not in text
        saved = parse_answers(text, str(paths.answers))
        assert saved.build.name == name  # the name the session got
        assert saved.cloud.secret_key is None
        assert saved.build.disk == tmp_path / "xp.img"


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

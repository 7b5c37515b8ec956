"""Links planted where the tool writes are refused or replaced, never followed (issue 9).

Each test plants a symbolic link (or a hard link) under a name the tool is
about to write (a ``--log-file``, a run log's name in the log folder, the
sandbox's lock and output files, the atomic writer's final name), pointing
at a victim file of the operator's outside the folder. The victim's bytes
and mode are unchanged afterwards, and what is refused is refused with one
line that says the fix.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.crafted import Outside, assert_refused
from tests.wizard_cli import run_wizard
from wizard.core.errors import WizardError
from wizard.core.files import write_atomic
from wizard.core.logs import LOGGER_NAME, setup_logging

VICTIM_BYTES = b"the operator's own file\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim" / ".bashrc"
    path.parent.mkdir()
    path.write_bytes(VICTIM_BYTES)
    path.chmod(0o644)
    return path


def assert_victim_intact(victim: Path) -> None:
    assert victim.read_bytes() == VICTIM_BYTES
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """setup_logging in this process: the wizard logger's handlers are put back after."""
    logger = logging.getLogger(LOGGER_NAME)
    before = list(logger.handlers)
    yield
    for handler in list(logger.handlers):
        if handler not in before:
            logger.removeHandler(handler)
            handler.close()
    for handler in before:
        if handler not in logger.handlers:
            logger.addHandler(handler)


# --- the log file (--log-file, and the run logs in the log folder) ----------

def test_a_link_at_the_log_file_path_is_refused_and_its_target_untouched(
        tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "logs" / "run.log"
    link.parent.mkdir()
    link.symlink_to(victim)
    outside = Outside(tmp_path)
    result = run_wizard("--log-file", link, "sessions", "list", home=tmp_path,
                        env={"XDG_STATE_HOME": str(tmp_path / "state")})
    line = assert_refused(result.returncode, result.stderr, "symbolic link", str(link))
    assert "remove the link" in line
    assert_victim_intact(victim)
    assert os.readlink(link) == str(victim)
    outside.assert_unchanged()


def test_a_hard_link_at_the_log_file_path_is_refused(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "run.log"
    os.link(victim, link)
    result = run_wizard("--log-file", link, "sessions", "list", home=tmp_path,
                        env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert_refused(result.returncode, result.stderr, "hard links", str(link))
    assert_victim_intact(victim)


def test_a_log_file_of_its_own_is_written_and_made_private(tmp_path: Path) -> None:
    log_file = tmp_path / "deep" / "run.log"
    result = run_wizard("--log-file", log_file, "sessions", "list", home=tmp_path,
                        env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    assert "sessions list" in log_file.read_text()
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    again = run_wizard("--log-file", log_file, "sessions", "list", home=tmp_path,
                       env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert again.returncode == 0, again.stderr
    assert log_file.read_text().count("sessions list") == 2  # appended, not replaced


def test_links_planted_under_the_next_run_logs_names_are_never_followed(
        tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch,
        restore_logging: None) -> None:
    """The run log's name (date, time, pid) can be guessed: links planted under
    every name of the coming minute are refused, not written through."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = tmp_path / "state" / "euca-windows-wizard" / "log"
    folder.mkdir(parents=True)
    now = time.time()
    for second in range(-5, 60):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now + second))
        (folder / f"run-{stamp}-{os.getpid()}.log").symlink_to(victim)
    outside = Outside(tmp_path)
    with pytest.raises(WizardError) as caught:
        setup_logging(0)
    line = caught.value.one_line()
    assert "\n" not in line and ". Fix: " in line, line
    assert "symbolic link" in line, line
    assert_victim_intact(victim)
    outside.assert_unchanged()


def test_a_new_run_log_is_created_by_this_run_mode_0600(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    written = setup_logging(0)
    logging.getLogger(LOGGER_NAME).info("a line")
    assert written.parent == tmp_path / "state" / "euca-windows-wizard" / "log"
    assert not written.is_symlink() and "a line" in written.read_text()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


# --- the atomic writer: the final name is replaced, never written through -----

def test_the_atomic_writer_replaces_a_link_at_the_final_name(
        tmp_path: Path, victim: Path) -> None:
    target = tmp_path / "out" / "eucarc"
    target.parent.mkdir()
    target.symlink_to(victim)
    write_atomic(target, b"new\n", mode=0o600)
    assert not target.is_symlink()
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert_victim_intact(victim)
    assert os.listdir(target.parent) == ["eucarc"]


# --- the sandbox's folder: its lock and its .cloud folder --------------------

def _start_refused(folder: Path) -> str:
    """start_sandbox on ``folder`` must refuse; a sandbox that started is stopped first."""
    from wizard.cloud.sandbox import start_sandbox

    try:
        started = start_sandbox(folder, samples=False)
    except WizardError as exc:
        return exc.one_line()
    started.stop()
    pytest.fail("the sandbox started in a folder with a planted link")


def test_a_link_planted_at_the_sandbox_lock_is_refused(tmp_path: Path, victim: Path) -> None:
    folder = tmp_path / "sandbox"
    (folder / ".cloud").mkdir(parents=True)
    (folder / ".cloud" / "lock").symlink_to(victim)
    outside = Outside(tmp_path, folder)
    line = _start_refused(folder)
    assert "\n" not in line and ". Fix: " in line, line
    assert "symbolic link" in line and "lock" in line, line
    assert_victim_intact(victim)
    outside.assert_unchanged()


def test_a_hard_link_at_the_sandbox_lock_is_refused(tmp_path: Path, victim: Path) -> None:
    folder = tmp_path / "sandbox"
    (folder / ".cloud").mkdir(parents=True)
    os.link(victim, folder / ".cloud" / "lock")
    line = _start_refused(folder)
    assert "not a file of its own" in line and ". Fix: " in line, line
    assert_victim_intact(victim)


def test_a_planted_cloud_folder_link_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "sandbox"
    folder.mkdir()
    (folder / ".cloud").symlink_to(elsewhere)
    line = _start_refused(folder)
    assert "symbolic link" in line and ". Fix: " in line, line
    assert os.listdir(elsewhere) == []


# --- the wizard's sandbox process: its output and pid files ------------------

def test_links_planted_at_the_sandbox_process_files_are_replaced_not_followed(
        tmp_path: Path, victim: Path) -> None:
    from wizard.tui.sandbox_host import start_sandbox_process

    other = victim.parent / "profile"
    other.write_bytes(VICTIM_BYTES)
    other.chmod(0o644)
    folder = tmp_path / "tui-sandbox"
    folder.mkdir()
    (folder / "sandbox.out").symlink_to(victim)
    (folder / "pid").symlink_to(other)
    outside = Outside(tmp_path, folder)
    host = start_sandbox_process(folder)
    try:
        assert_victim_intact(victim)
        assert_victim_intact(other)
        for name in ("sandbox.out", "pid"):
            assert not (folder / name).is_symlink(), name
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
        assert "Serving until Ctrl+C." in (folder / "sandbox.out").read_text()
        assert (folder / "pid").read_text() == f"{host.pid}\n"
    finally:
        host.stop()
        os.waitpid(host.pid, 0)
    outside.assert_unchanged()


# --- convert --convert-to: the raw image's temporary name --------------------

# The attacker: another user who may write in the work folder, acting in the
# moment after the wizard named qemu-img's output and before qemu-img opens
# it. Every name in the work folder that is not the source image is swapped
# for a link: a file's name for a link to the victim file, a folder's for a
# link to the victim's folder.
ATTACK = r"""
import os, sys
work, victim = sys.argv[1], sys.argv[2]
for name in os.listdir(work):
    path = os.path.join(work, name)
    if name == "disk.qcow2" or os.path.islink(path):
        continue
    target = os.path.dirname(victim) if os.path.isdir(path) else victim
    planted = os.path.join(work, ".planted")
    try:
        os.symlink(target, planted)
        os.rename(path, os.path.join(work, ".moved-" + name))
        os.rename(planted, path)
        print("swapped", name)
    except OSError as exc:
        print("could not swap", name, exc)
        if os.path.islink(planted):
            os.unlink(planted)
"""

# On PATH as qemu-img: runs the attacker as nobody, then the real qemu-img.
WRAPPER = """#!{python}
import os, subprocess, sys
if sys.argv[1:2] == ["convert"]:
    subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                    {python!r}, "-c", {attack!r}, {work!r}, {victim!r}], check=False)
os.execv({qemu!r}, [{qemu!r}, *sys.argv[1:]])
"""


@pytest.fixture
def shared_work() -> Iterator[Path]:
    """A work folder another user may write in (0777, no sticky bit), reachable by nobody."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="wizard-shared-"))
    base.chmod(0o755)
    work = base / "work"
    work.mkdir()
    work.chmod(0o777)
    yield work
    shutil.rmtree(base)


def test_a_co_writer_of_the_work_folder_cannot_redirect_the_conversion(
        tmp_path: Path, victim: Path, shared_work: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    import subprocess
    import sys

    from wizard.disk.convert import convert_to_raw

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("the attacker runs as another user (nobody): needs root and setpriv")
    qemu = shutil.which("qemu-img")
    assert qemu is not None
    source = shared_work / "disk.qcow2"
    plain = tmp_path / "plain.img"
    plain.write_bytes(b"\x5a" * 65536 + bytes(1024 * 1024 - 65536))
    subprocess.run([qemu, "convert", "-q", "-f", "raw", "-O", "qcow2", str(plain), str(source)],
                   check=True)
    tools = tmp_path / "bin"
    tools.mkdir()
    wrapper = tools / "qemu-img"
    wrapper.write_text(WRAPPER.format(python=sys.executable, attack=ATTACK,
                                      work=str(shared_work), victim=str(victim), qemu=qemu))
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    outside = Outside(tmp_path, tools)
    raw = convert_to_raw(source, shared_work)
    assert_victim_intact(victim)
    outside.assert_unchanged()
    assert raw == shared_work / "disk.raw" and not raw.is_symlink()
    data = raw.read_bytes()
    assert len(data) == 1024 * 1024 and data[:65536] == b"\x5a" * 65536
    assert stat.S_IMODE(raw.stat().st_mode) == 0o600
    # The attack did happen: the private folder's name now holds the attacker's link.
    planted = [p for p in shared_work.iterdir() if p.is_symlink()]
    assert [os.readlink(p) for p in planted] == [str(victim.parent)], planted

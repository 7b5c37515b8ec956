"""Crafted or damaged session files never crash a command: a state file nested thousands
deep, an event whose field has the wrong type, a session whose files nothing expects; and a
detached build that fails at once after a long history still reports its own error. Real
CLI processes (``sessions``, ``attach``, ``run``) on session folders written here."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.session.ops_kit import new_session, write_events, write_state
from tests.session.test_ops_cli import cli
from tests.session.test_run_confirm import ANSWERS
from wizard.core.errors import WizardError
from wizard.core.events import LogLine, Stamped, StepFinished, StepStarted, stamped_to_json
from wizard.session import detach
from wizard.session.answers import parse_answers
from wizard.session.detach import start_detached
from wizard.session.lock import running_pid
from wizard.session.store import SessionPaths, create_session

DEEP = '{"version": 1, "steps": ' + "[" * 200_000 + "]" * 200_000 + "}"


def no_crash(result: object) -> None:
    text = getattr(result, "stderr", "")
    assert "unexpected" not in text and "Traceback" not in text, text


def test_a_state_file_nested_too_deep_is_damaged_not_a_crash(private_xdg: Path) -> None:
    good = new_session("good")
    write_state(good, {"prerequisites": ("done", {})})
    deep = new_session("deep")
    deep.state.write_text(DEEP)
    write_events(deep, [StepStarted("prerequisites", "Check")])
    with open(deep.events, "a") as handle:
        handle.write('{"seq": 2, "ts": 1, "kind": "LogLine", "step": "x", "text": '
                     + "[" * 200_000 + "]" * 200_000 + "}\n")
    listed = cli("sessions")
    no_crash(listed)
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert sorted(names) == ["deep", "good"]
    shown = cli("sessions", "show", "deep")
    no_crash(shown)
    assert shown.returncode == 0
    attached = cli("attach", "deep")
    no_crash(attached)
    assert f"line 2 of the event log {deep.events} is not an event" in attached.stderr
    ran = cli("run", "--session", "deep", "--yes")
    no_crash(ran)
    assert ran.returncode == 1
    assert (f"the state file {deep.state} of session 'deep' is damaged (nested too deep)"
            in ran.stderr.strip().splitlines()[-1])


def test_an_event_of_the_wrong_type_is_reported_not_a_crash(private_xdg: Path) -> None:
    paths = new_session("odd")
    write_events(paths, [StepStarted("image.upload", "Uploading the disk image")])
    with open(paths.events, "a") as handle:
        handle.write(json.dumps({"seq": 2, "ts": time.time(), "kind": "StepProgress",
                                 "step": "image.upload", "done": "lots", "total": 100}) + "\n")
        handle.write(stamped_to_json(Stamped(3, time.time(), StepFinished("image.upload")))
                     + "\n")
    write_state(paths, {"image.upload": ("done", {})})
    attached = cli("attach", "odd")
    no_crash(attached)
    assert f"line 2 of the event log {paths.events} is not an event" in attached.stderr
    listed = cli("sessions")
    no_crash(listed)
    assert listed.returncode == 0 and "odd" in listed.stdout


def test_one_session_nothing_can_read_is_listed_as_damaged(private_xdg: Path) -> None:
    new_session("fine")
    odd = new_session("locked")
    odd.lock.unlink(missing_ok=True)
    odd.lock.symlink_to("/nonexistent/elsewhere")  # no build writes a link there
    listed = cli("sessions")
    no_crash(listed)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows["fine"][2] == "new" and rows["locked"][2] == "failed"
    shown = cli("sessions", "show", "fine")
    assert shown.returncode == 0


def test_a_build_failing_at_once_after_a_long_history_reports_its_error(
        tmp_path: Path, private_xdg: Path) -> None:
    # More than one poll's worth (4 MiB) of an earlier run's events come before the
    # failure: it is read from the end of the log.
    name = create_session(parse_answers(ANSWERS.replace('name = "asked"', 'name = "long"'),
                                        "answers", base=tmp_path))
    paths = SessionPaths(name)
    line = LogLine("image.upload", "x" * 1000)
    with open(paths.events, "w") as handle:
        handle.writelines(stamped_to_json(Stamped(seq, time.time(), line)) + "\n"
                          for seq in range(1, 6001))
    assert paths.events.stat().st_size > 5 * 1024 * 1024
    write_state(paths, {})  # that run's state: nothing done
    missing = f"the disk image {tmp_path / 'xp.img'} does not exist"
    try:
        start_detached(name)
    except WizardError as exc:  # the child ended before its starter saw it run
        assert (exc.message, exc.key) == (missing, "build.disk")
    else:  # seen running first (a loaded machine): it ends by itself
        deadline = time.monotonic() + 60
        while running_pid(paths.lock) is not None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    # Either way, what the starter reads when the child ended first is this failure.
    failed = detach._last_failure(paths.events, 6000)
    assert failed is not None and (failed.message, failed.key) == (missing, "build.disk")


def test_a_link_or_fifo_planted_as_the_build_lock_is_one_line_everywhere(
        private_xdg: Path, tmp_path: Path) -> None:
    import os

    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    for name, plant in (("linked", lambda p: p.symlink_to(victim)),
                        ("piped", lambda p: os.mkfifo(p))):
        paths = new_session(name)
        paths.lock.unlink(missing_ok=True)
        plant(paths.lock)
        for args in (("sessions", "show", name), ("attach", name),
                     ("run", "--session", name, "--yes")):
            result = cli(*args)
            no_crash(result)
            assert result.returncode == 1, (args, result.stdout, result.stderr)
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            assert len(lines) == 1, (args, result.stderr)
            assert f"the build lock {paths.lock} is " in lines[0], lines[0]
            assert "remove it (rm " in lines[0]
    assert victim.read_text() == "keep me\n"

"""A detached build that fails at once (a disk image that is not there) reports its own
error, with the answer key, however quickly it ended: a face focuses the field."""

from __future__ import annotations

import time
from pathlib import Path

from tests.session.test_run_confirm import ANSWERS
from wizard.core.errors import WizardError
from wizard.core.events import StepFailed
from wizard.session.answers import parse_answers
from wizard.session.detach import start_detached
from wizard.session.eventlog import EventLogReader
from wizard.session.lock import running_pid
from wizard.session.store import SessionPaths, create_session


def test_a_build_failing_at_once_reports_its_error_and_key(tmp_path: Path) -> None:
    # The child often ends before its starter sees it holding the lock: that case must
    # not lose the error (it said 'ended at once', without the key); the other case
    # finds it in the event log. Several tries, so both cases are likely met.
    raised = 0
    for number in range(8):
        text = ANSWERS.replace('name = "asked"', f'name = "fast{number}"')
        name = create_session(parse_answers(text, "answers", base=tmp_path))
        paths = SessionPaths(name)
        try:
            start_detached(name)
        except WizardError as exc:
            raised += 1
            assert exc.message == f"the disk image {tmp_path / 'xp.img'} does not exist"
            assert exc.key == "build.disk"
            continue
        deadline = time.monotonic() + 60
        while running_pid(paths.lock) is not None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        last = EventLogReader(paths.events).poll(final=True)[-1].event
        assert isinstance(last, StepFailed) and last.key == "build.disk"
    print(f"{raised} of 8 starts ended before their starter saw them run")

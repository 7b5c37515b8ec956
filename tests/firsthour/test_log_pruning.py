"""Run logs in the user log folder are pruned: the newest kept, by count and by age."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.disk.oddpaths import run_wizard


def test_old_and_surplus_run_logs_are_removed_and_nothing_else(tmp_path: Path) -> None:
    from wizard.core.logs import KEEP_DAYS, KEEP_LOGS

    # The tests' own XDG_STATE_HOME (tests/conftest.py), which the child inherits.
    folder = Path(os.environ["XDG_STATE_HOME"]) / "euca-windows-wizard" / "log"
    folder.mkdir(parents=True)
    now = time.time()
    made = []
    for number in range(84):  # an hour of trying: 84 runs, the first ten long ago
        path = folder / f"run-20261201-{number:06d}-{1000 + number}.log"
        path.write_text("old run\n")
        age = (KEEP_DAYS + 1) * 86400 + number if number < 10 else (84 - number) * 60
        os.utime(path, (now - age, now - age))
        made.append(path)
    mine = folder / "notes.txt"  # not a run log: never touched
    mine.write_text("mine")
    result = run_wizard("memdisk", "find", home=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    logs = set(folder.glob("run-*.log"))
    assert len(logs) == KEEP_LOGS
    this_run = logs - set(made)
    assert len(this_run) == 1 and "memdisk find" in next(iter(this_run)).read_text()
    # The newest of the others stay; the rest, and all older than KEEP_DAYS, are gone.
    assert logs - this_run == set(made[-(KEEP_LOGS - 1):])
    assert mine.read_text() == "mine"


def test_a_log_file_named_by_the_operator_prunes_nothing(tmp_path: Path) -> None:
    folder = Path(os.environ["XDG_STATE_HOME"]) / "euca-windows-wizard" / "log"
    folder.mkdir(parents=True)
    old = folder / "run-20200101-000000-1.log"
    old.write_text("old run\n")
    os.utime(old, (0, 0))
    result = run_wizard("--log-file", str(tmp_path / "mine.log"), "memdisk", "find",
                        home=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    assert old.exists()

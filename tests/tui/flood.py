"""A load generator for the Build screen: a process that holds a session's lock
and writes a flood of real events through the engine's EventLog.

Run as ``python -m tests.tui.flood NAME COUNT GO_FILE``: it takes the lock,
waits until GO_FILE exists, writes COUNT progress events (a log line every
100) spread over about two seconds, but for the last ``TAIL``: those wait
until GO_FILE + ".last" exists (so a test knows events are still to come
while it presses keys). It then finishes the step, and holds the lock until
it is killed or GO_FILE + ".stop" appears.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from wizard.core.events import LogLine, StepFinished, StepProgress, StepStarted
from wizard.session.eventlog import EventLog
from wizard.session.lock import BuildLock
from wizard.session.store import SessionPaths

TAIL = 500


def wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.01)


def main(name: str, count: int, go: Path) -> None:
    paths = SessionPaths(name)
    with BuildLock(paths.lock, name), EventLog(paths.events) as events:
        print("locked", flush=True)
        wait_for(go)
        events.log(StepStarted("image.upload", "Uploading the disk image"))
        for i in range(1, count + 1):
            if i == count - TAIL + 1:
                wait_for(Path(str(go) + ".last"))
            events.log(StepProgress("image.upload", i * 1024, count * 1024,
                                    i * 100 // count, 100))
            if i % 100 == 0:
                events.log(LogLine("image.upload", f"sent part {i // 100}"))
                time.sleep(0.02)
        events.log(StepFinished("image.upload", {"location": "b/x.manifest.xml"}))
        wait_for(Path(str(go) + ".stop"))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))

"""``euca-windows-wizard attach NAME``: follow a session's build from its event log.

The whole history first, then live (a poll every ~200 ms), with the same
progress display as ``run``, until the build ends: its process lets go of
the session's lock (after the last step's StepFinished or a StepFailed).
Then the image ids, as ``run`` prints them (``KERNEL<TAB>id``, ...), or the
build's error as one line. Ctrl+C stops following, never the build: the
viewer only reads. A session that is not running shows its history and says
its status.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any, TextIO

from wizard import PROGRAM
from wizard.cli.progress import ConsoleProgress
from wizard.core.errors import WizardError, interrupted
from wizard.core.events import Stamped, StepProgress
from wizard.session.eventlog import EventLogReader
from wizard.session.listing import ROLES, SessionSummary, summarize
from wizard.session.lock import running_pid
from wizard.session.store import SessionPaths, open_session

POLL = 0.2


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "attach",
        help="follow a session's build (from its start, then live) until it ends",
        description="Show the progress of session NAME from its event log: the whole "
        "history first, then live until the build ends, as `run` shows it, then the image "
        "ids. Ctrl+C stops following; the build goes on. Works from any terminal or SSH "
        "session.",
    )
    parser.add_argument("name", metavar="NAME", help="the session (see `sessions`)")
    parser.set_defaults(handler=_attach)


def print_ids(ids: dict[str, str], out: TextIO) -> None:
    """The registered images as ``run`` ends: ``KERNEL<TAB>id``, ``RAMDISK<TAB>id``,
    ``IMAGE<TAB>id`` (those there are, in that order)."""
    for role in ROLES:
        if role in ids:
            out.write(f"{role.upper()}\t{ids[role]}\n")
    out.flush()


def _latest_only(batch: list[Stamped]) -> list[Stamped]:
    """The batch without progress that the next event supersedes: a long history
    replays as its steps, not as thousands of redraws of a bar."""
    kept = []
    for here, after in zip(batch, [*batch[1:], None][:len(batch)], strict=True):
        if (isinstance(here.event, StepProgress) and after is not None
                and isinstance(after.event, StepProgress)
                and after.event.step == here.event.step):
            continue
        kept.append(here)
    return kept


def follow(paths: SessionPaths, show: ConsoleProgress, poll: float = POLL) -> None:
    """Show the session's events until no build holds its lock (at once when none does)."""
    reader = EventLogReader(paths.events)
    while True:
        # Asked before reading: whatever the build wrote before letting go of
        # the lock is then on disk for the read below.
        alive = running_pid(paths.lock) is not None
        batch = reader.poll(final=not alive)
        for stamped in _latest_only(batch):
            show.show(stamped)
        if reader.behind:
            continue
        if not alive:
            return
        time.sleep(poll)


def _ending(name: str, summary: SessionSummary) -> WizardError | None:
    """The error line for a build that did not end done (None when it did)."""
    if summary.status == "done":
        return None
    resume = f"resume it with `{PROGRAM} run --session {name}`"
    if summary.status == "new":
        return WizardError(f"session {name!r} has not started building yet",
                           f"start it with `{PROGRAM} run --session {name}`")
    where = f" at {summary.current_step}" if summary.current_step else ""
    if summary.status == "failed":
        return WizardError(f"the build of {name!r} failed{where}: "
                           f"{summary.message or 'see its log'}",
                           f"correct the cause, then {resume}")
    return WizardError(f"the build of {name!r} was interrupted{where}", resume)


def attach(name: str, out: TextIO, err: TextIO, poll: float = POLL) -> int:
    """Follow session ``name``; the exit status (0 when its build is done)."""
    from wizard.cli.main import Stopped  # here: main imports this module

    paths = open_session(name)
    pid = running_pid(paths.lock)
    if pid is not None:
        err.write(f"{PROGRAM}: following the build of {name} (process {pid}); Ctrl+C stops "
                  "following, not the build.\n")
    else:
        err.write(f"{PROGRAM}: no build of {name} is running; its history:\n")
    err.flush()
    show = ConsoleProgress(err)
    try:
        follow(paths, show, poll)
    except (KeyboardInterrupt, Stopped) as exc:
        # An interruption as every other (exit 1, one line), but a viewer's:
        # it stopped following; the build goes on, so resuming is not the fix.
        show.clear()
        by = ("Ctrl+C" if isinstance(exc, KeyboardInterrupt)
              else signal.Signals(exc.signum).name)
        raise WizardError(interrupted(by, f"stopped following {name}; its build goes on"),
                          f"attach again with `{PROGRAM} attach {name}`") from None
    summary = summarize(name)
    if summary.status == "running":
        # A new build took the lock between two polls: say so rather than guess.
        err.write(f"{PROGRAM}: a new build of {name} started (process {summary.pid}); "
                  f"follow it with `{PROGRAM} attach {name}`.\n")
        return 0
    problem = _ending(name, summary)
    if problem is not None:
        raise problem
    err.write(f"{PROGRAM}: the build of {name} is done.\n")
    err.flush()
    print_ids(summary.ids, out)
    return 0


def _attach(args: argparse.Namespace) -> int:
    return attach(args.name, sys.stdout, sys.stderr)

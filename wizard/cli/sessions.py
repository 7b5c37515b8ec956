"""``euca-windows-wizard sessions``: the saved sessions; ``export`` and ``stop`` one.

- ``sessions`` (or ``sessions list``): one row a session, oldest change
  first: name, mode, status (running, interrupted, failed, done, new), the
  current step, the last update and the image ids.
- ``sessions export NAME [-o FILE]``: the session's answers as an answers
  file (no secret key) that ``run --answers FILE`` replays unattended.
- ``sessions stop NAME``: ask its running build to stop (as Ctrl+C does:
  the step in flight cleans up); ``run --session NAME`` resumes it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from wizard import PROGRAM
from wizard.core.errors import WizardError
from wizard.core.files import write_atomic
from wizard.session.answers import answers_to_toml, load_answers
from wizard.session.detach import stop_build, wait_stopped
from wizard.session.listing import ROLES, SessionSummary, list_sessions, summarize
from wizard.session.store import open_session

# How long `sessions stop` waits for the build to clean up and let go.
STOP_WAIT = 120.0


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sessions",
        help="list the saved sessions (builds); export or stop one",
        description="List the saved sessions: name, mode, status (running, interrupted, "
        "failed, done, new), current step, last update and image ids. "
        "`sessions show NAME` says why one failed or stopped; "
        "`sessions export NAME` writes a session's answers as an answers file (no secret "
        "key) for `run --answers`; `sessions stop NAME` stops its running build safely.",
    )
    parser.set_defaults(handler=_list)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="list the saved sessions (the default)",
                       description="List the saved sessions.").set_defaults(handler=_list)
    export = actions.add_parser(
        "export", help="write a session's answers as an answers file (no secret key)",
        description="Write the answers of session NAME as an answers file that "
        "`run --answers FILE` replays unattended. The secret key is never written.")
    export.add_argument("name", metavar="NAME", help="the session (see `sessions`)")
    export.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write here (default: standard output)")
    export.set_defaults(handler=_export)
    show = actions.add_parser(
        "show", help="one session's status, step, ids and why it failed or stopped",
        description="Show session NAME: its mode, status, current step, last update, "
        "image ids, and the message of its failure or stop, with the fix.")
    show.add_argument("name", metavar="NAME", help="the session (see `sessions`)")
    show.set_defaults(handler=_show)
    stop = actions.add_parser(
        "stop", help="stop a session's running build safely (resume it with run --session)",
        description="Send the running build of session NAME a termination signal: the "
        "step in flight cleans up and is recorded as interrupted, then the command "
        "returns. `run --session NAME` resumes it.")
    stop.add_argument("name", metavar="NAME", help="the session (see `sessions`)")
    stop.set_defaults(handler=_stop)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def _status(summary: SessionSummary) -> str:
    if summary.status == "running" and summary.pid:
        return f"running ({summary.pid})"
    return summary.status


def _ids(summary: SessionSummary) -> str:
    return " ".join(summary.ids[role] for role in ROLES if role in summary.ids) or "-"


def print_table(summaries: list[SessionSummary], out: TextIO) -> None:
    """The sessions as columns (widths fitted to what they hold)."""
    header = ("NAME", "MODE", "STATUS", "STEP", "UPDATED", "IMAGE IDS")
    rows = [(s.name, s.mode or "?", _status(s), s.current_step or "-", _when(s.updated),
             _ids(s)) for s in summaries]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


def _list(args: argparse.Namespace) -> int:
    summaries = list_sessions()
    if not summaries:
        print(f"{PROGRAM}: no saved sessions yet. Start one with `{PROGRAM} run --answers "
              "FILE` (or `run --sandbox --yes` to try it).", file=sys.stderr)
        return 0
    # The table alone: a failure's message is one `sessions show NAME` away (six
    # failed sessions were six long lines under the table).
    print_table(summaries, sys.stdout)
    return 0


def _show(args: argparse.Namespace) -> int:
    open_session(args.name)  # a name that is no session: one error line
    summary = summarize(args.name)
    print(f"session:  {summary.name}\nmode:     {summary.mode or '?'}\n"
          f"status:   {_status(summary)}\nstep:     {summary.current_step or '-'}\n"
          f"updated:  {_when(summary.updated)}\nimages:   {_ids(summary)}")
    if summary.message:
        print(f"message:  {summary.message}")
    return 0


def export_text(name: str) -> str:
    """The answers file for session ``name`` (read and checked again: never copied blind)."""
    paths = open_session(name)
    if not paths.answers.exists():
        raise WizardError(f"session {name!r} has no answers file ({paths.answers})",
                          "start the build again with `run --answers FILE`")
    answers = load_answers(paths.answers)
    return (f"# Session {name}, exported {time.strftime('%Y-%m-%d %H:%M')}. Replay it with\n"
            f"#   {PROGRAM} run --answers THIS-FILE --yes\n" + answers_to_toml(answers))


def _export(args: argparse.Namespace) -> int:
    text = export_text(args.name)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    target: Path = args.output
    if target.is_dir():
        raise WizardError(f"{target} is a folder",
                          "give the path of the answers file to write, e.g. -o winxp.toml")
    if not target.parent.is_dir():
        raise WizardError(f"the folder {target.parent} does not exist",
                          "create it first, or write the file elsewhere")
    # 0600: the file names credential files (never their contents).
    write_atomic(target, text.encode("utf-8"), 0o600)
    print(f"{PROGRAM}: wrote the answers of {args.name} to {target}; replay them with "
          f"`{PROGRAM} run --answers {shlex.quote(str(target))} --yes`", file=sys.stderr)
    return 0


def _stop(args: argparse.Namespace) -> int:
    before = summarize(open_session(args.name).name)
    if not stop_build(args.name):
        raise WizardError(f"no build of session {args.name!r} is running "
                          f"(it is {before.status})",
                          f"see the sessions with `{PROGRAM} sessions`; resume this one with "
                          f"`{PROGRAM} run --session {args.name}`")
    print(f"{PROGRAM}: asked the build of {args.name} (process {before.pid}) to stop; "
          "waiting for it to clean up…", file=sys.stderr)
    if not wait_stopped(args.name, STOP_WAIT):
        raise WizardError(f"the build of {args.name!r} (process {before.pid}) is still "
                          f"cleaning up after {int(STOP_WAIT)} s",
                          f"wait, and see `{PROGRAM} sessions`; `kill -9 {before.pid}` "
                          "stops it at once (the next run resumes from what was recorded)")
    print(f"{PROGRAM}: stopped. Resume it with `{PROGRAM} run --session {args.name}`.",
          file=sys.stderr)
    return 0

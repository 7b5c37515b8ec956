"""``euca-windows-wizard run``: the whole recipe as one resumable session, no screen.

- ``run --answers FILE [--yes]``: the build the answers file describes. The
  session is named by ``build.name``; the same command again continues it
  (a finished bundle is reused, parts in the store are not sent again, an
  image is never registered twice).
- ``run --session NAME``: continue a saved session with its saved answers.
- ``run --sandbox --yes``: the whole memdisk recipe with sample inputs
  against the embedded sandbox cloud, started for the run in this process.

Without ``--yes`` on a terminal the plan is shown and confirmed; with no
terminal, ``--yes`` is required. Progress on stderr; the output ends with
``KERNEL<TAB>id``, ``RAMDISK<TAB>id`` (memdisk mode) and last ``IMAGE<TAB>id``.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wizard import PROGRAM
from wizard.cli.attach import print_ids
from wizard.cli.progress import ConsoleProgress
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run the whole recipe from an answers file, as a session that resumes",
        description="Run the whole recipe with no screen: prerequisites, memdisk, floppy, "
        "then bundle, upload and register the kernel, the ramdisk and the disk image (or the "
        "disk image alone in native mode). The build is a session: run the same command "
        "again to continue it. Prints KERNEL, RAMDISK and IMAGE ids, tab-separated, last.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--answers", metavar="FILE",
                        help="the answers file (TOML; see assets/answers/ and the README)")
    source.add_argument("--session", metavar="NAME", help="continue the saved session NAME")
    source.add_argument("--sandbox", action="store_true",
                        help="the whole memdisk recipe with sample inputs against an embedded "
                        "local cloud (needs the sandbox extra)")
    parser.add_argument("-y", "--yes", action="store_true",
                        help="start without asking (needed when there is no terminal)")
    parser.add_argument("--detach", action="store_true",
                        help="run the build in the background, in a process of its own that "
                        "outlives this terminal (SSH drops included); follow it with attach")
    parser.add_argument("--boot-test", action="store_true",
                        help="once the image is available, launch one instance of it, show "
                        "its console output and terminate it")
    parser.add_argument("--start-over", action="store_true",
                        help="set the session's state file aside and check every step again "
                        "(finished bundles, uploads and registrations are found and reused)")
    parser.set_defaults(handler=run)


def _confirm(args: argparse.Namespace, plan: list[str]) -> None:
    """Show the plan and ask, unless --yes; with no terminal, --yes is required."""
    if args.yes:
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise WizardError("there is no terminal to confirm the build on",
                          "add --yes to run without asking")
    for line in plan:
        print(line, file=sys.stderr)
    try:
        reply = input("Start the build? [y/N] ")
    except EOFError:
        reply = ""
    if reply.strip().lower() not in ("y", "yes"):
        raise WizardError("the build was not started", "answer y to start it, or add --yes")


def _plan(name: str, mode: str, summary: list[str], continuing: bool) -> list[str]:
    from wizard.recipe.plan import step_infos

    head = f"{'Continuing' if continuing else 'New'} session {name} ({mode} recipe):"
    lines = [head, *(f"  {line}" for line in summary), "Steps:"]
    lines += [f"  {n:2d}. {info.title} [{info.id}]"
              for n, info in enumerate(step_infos(mode), start=1)]
    return lines


def _summary(answers: Any) -> list[str]:
    build = answers.build
    lines = [f"disk image: {build.disk}", f"bucket:     {build.bucket} ({build.arch})"]
    if build.mode == "memdisk":
        lines.append(f"floppy:     {build.floppy}")
        lines.append(f"memdisk:    {build.memdisk or f'built from {build.syslinux_source}'}")
    cloud = answers.cloud
    if cloud.eucarc:
        lines.append(f"eucarc:     {cloud.eucarc}")
    elif cloud.region:
        lines.append(f"region:     {cloud.region} (~/.euca)")
    return lines


@contextlib.contextmanager
def _ctrl_c_cancels(cancel: CancelFlag) -> Iterator[None]:
    """The first Ctrl+C lets the parts on the wire finish, then stops; a second ends at once."""
    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        cancel.cancel("Ctrl+C")

    try:
        previous = signal.signal(signal.SIGINT, stop)
    except ValueError:  # not the main thread: no signals to take
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _new_session(answers: Any) -> tuple[str, Any]:
    """A new session for ``answers``; its name and the answers carrying that name
    (``winxp-2`` when a session ``winxp`` exists)."""
    from dataclasses import replace

    from wizard.session.store import create_session

    name = create_session(answers)
    return name, replace(answers, build=replace(answers.build, name=name))


def _build(name: str, answers: Any, args: argparse.Namespace) -> int:
    if args.detach:
        return _detach(name, answers, args)
    from wizard.session.detach import refuse_if_running
    from wizard.session.runner import run_session

    refuse_if_running(name)  # before the line below: a refused run says one line
    print(f"Session {name}: follow it from elsewhere with `{PROGRAM} attach {name}`",
          file=sys.stderr)
    cancel = CancelFlag()
    with _ctrl_c_cancels(cancel):
        ids = run_session(name, ConsoleProgress(), cancel, answers=answers,
                          start_over=args.start_over)
        if args.boot_test and "image" in ids:
            _boot_test(name, answers, ids["image"], cancel)
    print_ids(ids, sys.stdout)
    return 0


def _boot_test(name: str, answers: Any, image_id: str, cancel: CancelFlag) -> None:
    """One instance of the new image, its console, terminated (wizard.cloud.boottest)."""
    from wizard.cloud.boottest import boot_test
    from wizard.cloud.endpoints import cloud_from_credentials
    from wizard.recipe.context import credentials_from_answers
    from wizard.session.answers import load_answers
    from wizard.session.store import SessionPaths

    if answers is None:  # run --session: the saved answers (the secret from the environment)
        answers = load_answers(SessionPaths(name).answers)
    cloud = cloud_from_credentials(credentials_from_answers(answers.cloud),
                                   services=("s3", "ec2"))
    report = boot_test(cloud, image_id, ConsoleProgress(), cancel)
    console = report.console.rstrip() or "(no console output)"
    print(f"Console output of {report.instance_id}:\n{console}", file=sys.stderr)
    print(report.summary(), file=sys.stderr, flush=True)


def _detach(name: str, answers: Any, args: argparse.Namespace) -> int:
    """Hand the build to a detached ``run --session NAME --yes`` (wizard.cli.detached)."""
    from wizard.cli import detached
    from wizard.session.answers import answers_to_toml
    from wizard.session.detach import refuse_if_running
    from wizard.session.lock import BuildLock
    from wizard.session.store import SessionPaths, write_session_file

    refuse_if_running(name)
    if answers is not None:
        # The detached build reads the session's answers: these, not older ones;
        # written holding the build lock, never under a build that just started.
        paths = SessionPaths(name)
        with BuildLock(paths.lock, name):
            write_session_file(paths.answers, answers_to_toml(answers))
    extra = ["--start-over"] if args.start_over else []
    secret = answers.cloud.secret_key if answers is not None else None
    return detached.start(name, extra, secret_key=secret)


def run(args: argparse.Namespace) -> int:
    if args.boot_test and args.detach:
        raise WizardError("--boot-test cannot go with --detach: the boot test is shown by "
                          "the command that runs the build",
                          "leave out --detach, or run register --boot-test once the "
                          "detached build is done")
    if args.sandbox and args.detach:
        from wizard.cli.detached import refuse_with_sandbox

        raise refuse_with_sandbox()
    if args.sandbox:
        return _run_sandbox(args)
    from wizard.session.answers import load_answers
    from wizard.session.store import SessionPaths, open_session

    if args.session:
        paths = open_session(args.session)
        saved = load_answers(paths.answers)
        _confirm(args, _plan(paths.name, saved.build.mode, _summary(saved), True))
        return _build(paths.name, None, args)
    answers = load_answers(args.answers)
    existing = SessionPaths(answers.build.name)
    _confirm(args, _plan(answers.build.name, answers.build.mode, _summary(answers),
                         existing.exists()))
    if existing.exists():
        from wizard.session.lock import BuildLock
        from wizard.session.runner import take_answers

        # Never change the answers under a running build: they are taken
        # holding its lock (refused, naming the build, if one holds it).
        with BuildLock(existing.lock, existing.name):
            note = take_answers(existing, answers, args.start_over)
        if note is not None:
            print(note, file=sys.stderr)
        return _build(existing.name, answers, args)
    name, answers = _new_session(answers)
    return _build(name, answers, args)


def _run_sandbox(args: argparse.Namespace) -> int:
    from wizard.cloud.sandbox import start_sandbox
    from wizard.session.answers import sandbox_answers

    _confirm(args, ["The whole memdisk recipe with SAMPLE inputs (not Windows) against an "
                    "embedded local cloud on 127.0.0.1; nothing leaves this computer."])
    folder = Path(tempfile.mkdtemp(prefix="euca-windows-wizard-sandbox-"))
    try:
        with start_sandbox(folder) as sandbox:
            print(f"Sandbox cloud: {sandbox.s3_url} and {sandbox.ec2_url}", file=sys.stderr)
            name, answers = _new_session(sandbox_answers(sandbox.folder))
            return _build(name, answers, args)
    finally:
        # The cloud is gone with this process: its eucarc and samples are of no use.
        shutil.rmtree(folder, ignore_errors=True)

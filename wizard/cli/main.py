"""The ``euca-windows-wizard`` command: parse, dispatch, and report failures.

Each subcommand lives in its own module under ``wizard.cli`` and offers
``register(subparsers)``, which adds its parser and sets ``handler`` to a
function taking the parsed arguments and returning the exit status.
Operator errors (``WizardError``) print as one line on stderr with exit 1;
anything unexpected is logged in full to the run's log file and shown as one
line pointing there. No traceback reaches the operator.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from wizard import PROGRAM, __version__
from wizard.core.errors import Cancelled, WizardError, interrupted
from wizard.core.logs import FILE_ONLY, get_logger, setup_logging

# The subcommands, in the order of the recipe. A module is listed only once
# its command is built: --help shows what exists, nothing more.
COMMANDS: tuple[str, ...] = (
    "wizard.cli.check",
    "wizard.cli.memdisk",
    "wizard.cli.floppy",
    "wizard.cli.bundle",
    "wizard.cli.unbundle",
    "wizard.cli.upload", "wizard.cli.register", "wizard.cli.run",
    "wizard.cli.attach", "wizard.cli.sessions",
    "wizard.cli.sandbox",
)

log = get_logger(__name__)


class OperatorParser(argparse.ArgumentParser):
    """argparse with the project's error contract: one line, the fix, exit 1.

    argparse's own errors print the usage and the message on two lines and
    exit 2; an operator (or a script) gets the same shape here as from any
    other bad input. Subcommand parsers inherit the class.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{self.prog}: error: {message}. "
                     f"Fix: see {self.prog} --help for the options.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OperatorParser(
        prog=PROGRAM,
        description=(
            "Turn a Windows disk image into a registered image on a Eucalyptus "
            "or EC2-compatible cloud: memdisk kernel, floppy ramdisk, bundle, "
            "upload, register."
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="log to the console too (-vv for debug detail)",
    )
    parser.add_argument(
        "--log-file", metavar="FILE",
        help="write this run's log here (default: a new file in the user log folder)",
    )
    parser.add_argument(
        "--sandbox", action="store_true",
        help="open the wizard on the embedded sandbox cloud with sample inputs "
        "(no arguments at all opens the wizard on a real cloud)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    for sub in subparsers.choices.values():
        _add_common_options(sub)
    return parser


def _add_common_options(sub: argparse.ArgumentParser) -> None:
    """-v and --log-file after the subcommand too (``bundle -v …``), as operators type them.

    Down to the last word of a command (``memdisk find -v``): the parsers of
    nested subcommands get them as well. SUPPRESS keeps a value given before
    the subcommand when none comes after.
    """
    for action in sub._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                _add_common_options(nested)
    taken = sub._option_string_actions
    if "-v" not in taken and "--verbose" not in taken:
        sub.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                         help="log to the console too (-vv for debug detail)")
    if "--log-file" not in taken:
        sub.add_argument("--log-file", metavar="FILE", default=argparse.SUPPRESS,
                         help="write this run's log here (default: a new file in the user "
                              "log folder)")


def _loggable(args: argparse.Namespace, argv: Sequence[str] | None) -> list[str]:
    """The command line for the log, the secret key masked however it was spelt."""
    from wizard.cli.options import redact_argv
    from wizard.core.logs import mask

    words = redact_argv(list(sys.argv[1:] if argv is None else argv))
    secret = getattr(args, "secret_key", None)
    if secret:
        # argparse also takes abbreviations (--secret KEY): hide the value itself.
        words = [word.replace(secret, mask(secret)) for word in words]
    return words


class Stopped(BaseException):
    """A termination signal (SIGTERM, or SIGHUP when an SSH session drops).

    Raised in the main thread like KeyboardInterrupt, so the running step
    cleans up exactly as for Ctrl+C: no partial bundle is left behind. Not a
    WizardError: code that turns operator errors into a report row and goes
    on must not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    # A second signal must not cut the clean-up short (half the parts removed).
    for other in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)
    raise Stopped(signum)


def _catch_termination() -> dict[int, Any]:
    """Turn SIGTERM and SIGHUP into ``Stopped``; returns the handlers to restore.

    A signal someone chose to ignore (``nohup`` ignores SIGHUP) stays ignored.
    """
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _stop)
    return previous


def _say(text: str) -> None:
    """One line on stderr; a terminal that is gone (SIGHUP) is no reason to fail."""
    with contextlib.suppress(OSError, ValueError):
        print(f"{PROGRAM}: {text}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _log_file_error(exc: OSError, given: str | None) -> WizardError:
    """The log file (or a folder on its way) cannot be made: which path, and why.

    Without --log-file, the path comes from XDG_STATE_HOME: the message says
    so, or the operator looks for a fault in a flag never given.
    """
    where = exc.filename or given
    text = f"cannot open the log file at {where} ({exc.strerror})" if where else (
        f"cannot open the log file ({exc.strerror})")
    if given:
        return WizardError(text, "give a writable path with --log-file")
    state = os.environ.get("XDG_STATE_HOME")
    if state:
        return WizardError(text + f"; the log folder is below XDG_STATE_HOME ({state})",
                           "set XDG_STATE_HOME to a writable folder, or unset it, or give "
                           "a writable path with --log-file")
    return WizardError(text, "make that folder writable, or give a writable path with "
                       "--log-file")


def _wizard(sandbox: bool, log_file: str | None = None) -> int:
    """No command: the Textual wizard (``--sandbox``: on the embedded sandbox cloud).

    Imported here, not at the top: the headless commands and a detached
    build never load Textual (the import-linter contract allows this one
    edge only).
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        _say("error: the wizard needs a terminal. Fix: run it in a terminal, or use "
             f"`{PROGRAM} run --answers FILE` (see {PROGRAM} --help) with no screen.")
        return 1
    try:
        written = setup_logging(0, Path(log_file) if log_file else None)
    except OSError as exc:
        _say(f"error: {_log_file_error(exc, log_file if log_file else None).one_line()}")
        return 1
    except WizardError as exc:  # a link or a device where the log file goes
        _say(f"error: {exc.one_line()}")
        return 1
    from wizard.tui.app import run_app

    log.info("%s %s: the wizard%s", PROGRAM, __version__, " (sandbox)" if sandbox else "")
    return run_app(sandbox=sandbox, log_file=written)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words in ([], ["--sandbox"]):
        # The wizard, at once: building the parser imports every command's
        # engine (boto3, cryptography), which the first screen does not need.
        return _wizard(sandbox=bool(words))
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        if args.command is None:
            return _wizard(args.sandbox, args.log_file)
        parser.print_help()
        return 0
    try:
        log_file = setup_logging(args.verbose, Path(args.log_file) if args.log_file else None)
    except OSError as exc:
        _say(f"error: {_log_file_error(exc, args.log_file).one_line()}")
        return 1
    except WizardError as exc:  # a link or a device where the log file goes
        _say(f"error: {exc.one_line()}")
        return 1
    previous = _catch_termination()
    try:
        log.info("%s %s: %s", PROGRAM, __version__, " ".join(_loggable(args, argv)))
        status: int = handler(args)
        # Flushed here, not at exit: a closed pipe is then met inside this try.
        sys.stdout.flush()
        return status
    except WizardError as exc:
        from wizard.cli.flags import where

        line = exc.one_line(where(exc.key, args))
        log.error("%s", line, extra=FILE_ONLY)
        _say(f"error: {line}")
        return 1
    except KeyboardInterrupt:
        # Worded and numbered as every interruption (core.errors.interrupted):
        # an error line with the fix, exit status 1.
        stop = Cancelled(interrupted("Ctrl+C"))
        log.warning("%s", stop.one_line())
        _say(f"error: {stop.one_line()}")
        return 1
    except Stopped as exc:
        stop = Cancelled(interrupted(signal.Signals(exc.signum).name))
        log.warning("%s", stop.one_line())
        _say(f"error: {stop.one_line()}")
        return 1
    except BrokenPipeError:
        # The reader of our output went away (| head): nothing to tell it.
        # Point stdout at /dev/null so the interpreter's final flush is quiet.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        log.warning("the output pipe was closed")
        return 1
    except Exception as exc:  # a bug: the log keeps the traceback, the operator one line
        log.exception("unexpected failure", extra=FILE_ONLY)
        detail = _one_line(str(exc))[:300]
        _say(f"error: unexpected {type(exc).__name__}{': ' + detail if detail else ''}. "
             f"The full report is in {log_file}; please attach it to a bug report.")
        return 1
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)


if __name__ == "__main__":
    sys.exit(main())

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
import importlib
import sys
from collections.abc import Sequence

from wizard import PROGRAM, __version__
from wizard.core.errors import WizardError
from wizard.core.logs import get_logger, setup_logging

# The subcommands, in the order of the recipe. A module is listed only once
# its command is built: --help shows what exists, nothing more.
COMMANDS: tuple[str, ...] = (
    "wizard.cli.check",
    "wizard.cli.memdisk",
    "wizard.cli.floppy",
    "wizard.cli.bundle",
    "wizard.cli.unbundle",
    "wizard.cli.upload", "wizard.cli.register", "wizard.cli.sandbox",
)

log = get_logger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def _loggable(args: argparse.Namespace, argv: Sequence[str] | None) -> list[str]:
    """The command line for the log, the secret key masked however it was spelt."""
    from wizard.core.logs import mask
    from wizard.credentials.options import redact_argv

    words = redact_argv(list(sys.argv[1:] if argv is None else argv))
    secret = getattr(args, "secret_key", None)
    if secret:
        # argparse also takes abbreviations (--secret KEY): hide the value itself.
        words = [word.replace(secret, mask(secret)) for word in words]
    return words


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        from pathlib import Path

        log_file = setup_logging(args.verbose, Path(args.log_file) if args.log_file else None)
    except OSError as exc:
        print(f"{PROGRAM}: error: cannot open the log file ({exc.strerror}). "
              "Fix: give a writable path with --log-file.", file=sys.stderr)
        return 1
    log.info("%s %s: %s", PROGRAM, __version__, " ".join(_loggable(args, argv)))
    try:
        status: int = handler(args)
        return status
    except WizardError as exc:
        log.error("%s", exc.one_line())
        print(f"{PROGRAM}: error: {exc.one_line()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        log.warning("interrupted by the operator")
        print(f"{PROGRAM}: interrupted. Run the same command again to start over "
              "or resume.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: the log keeps the traceback, the operator one line
        log.exception("unexpected failure")
        print(f"{PROGRAM}: error: unexpected {type(exc).__name__}: {exc}. "
              f"The full report is in {log_file}; please attach it to a bug report.",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

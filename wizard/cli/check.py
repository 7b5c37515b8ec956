"""``euca-windows-wizard check``: the prerequisites table, with the fix for each gap.

Exit status 0 when everything the chosen recipe needs is there, 1 otherwise,
so a script can run ``check`` before a long build.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import textwrap
from pathlib import Path
from typing import TextIO

from wizard.cli.flags import FLAGS
from wizard.cli.nextstep import command, eucarc_words, say_next
from wizard.cli.options import add_cloud_options, credentials_from_args
from wizard.cli.progress import ConsoleProgress
from wizard.core.choices import RECIPES
from wizard.core.distro import current_distro
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, StepWarning
from wizard.credentials import Credentials
from wizard.prerequisites.checks import CheckResult, all_needed_ok, run_checks
from wizard.session.detach import linger_warning

_STATUS_WIDTH = 6
_NAME_WIDTH = 24


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check tools, memdisk, credentials, endpoints, the disk image and free space",
        description="Show each prerequisite of the recipe, whether it is there, and the "
        "exact fix for this distribution. Exit status 0 when everything the recipe needs "
        "is there, 1 otherwise.",
    )
    parser.add_argument("--disk", type=Path, metavar="IMAGE",
                        help="the Windows disk image to inspect (read only, no root needed)")
    parser.add_argument("--recipe", choices=RECIPES, default="memdisk",
                        help="memdisk (kernel + floppy ramdisk, any KVM cloud; default) or "
                        "native (Eucalyptus 3.x/4.x Windows support)")
    parser.add_argument("--work-dir", type=Path, metavar="DIR",
                        help="the folder bundles are built in (bundle -d), for the free space "
                        "check (default: where bundle writes without -d: $TMPDIR, else "
                        "/var/tmp)")
    parser.add_argument("--convert-to", type=Path, metavar="DIR",
                        help="convert a non-raw --disk image to raw in DIR (qemu-img, with "
                        "progress), then check the raw image")
    parser.add_argument("--timeout", type=float, default=3.0, metavar="S",
                        help="seconds to wait for each endpoint (default 3)")
    # The credential flags of upload and register (-U is the EC2 URL, as in
    # register; --s3-url the other endpoint) and of bundle (-c, -k, -u,
    # --ec2cert), so that every fix the credentials rows name works here too.
    add_cloud_options(parser, "ec2_url")
    # Beside add_cloud_options' flags in --help (the parser itself, should
    # that group ever be renamed).
    group: argparse._ActionsContainer = next(
        (g for g in parser._action_groups if g.title == "cloud and credentials"), parser)
    group.add_argument("--s3-url", metavar="URL",
                       help="the S3 (object storage) endpoint, path included")
    group.add_argument("-c", "--cert", metavar="FILE", help="your certificate (EC2_CERT)")
    group.add_argument("-k", "--privatekey", metavar="FILE",
                       help="your private key (EC2_PRIVATE_KEY)")
    group.add_argument("-u", "--user", metavar="ACCOUNT",
                       help="your 12-digit account id (EC2_USER_ID)")
    group.add_argument("--ec2cert", metavar="FILE",
                       help="the cloud's certificate (EUCALYPTUS_CERT, cloud-cert.pem)")
    parser.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    if args.convert_to is not None and args.disk is None:
        raise WizardError("--convert-to needs --disk IMAGE", "give the disk image to convert")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise WizardError("--timeout must be a positive number of seconds",
                          "give e.g. --timeout 3")
    def load() -> Credentials:
        # -U is the EC2 URL here; the S3 URL has a flag of its own.
        return credentials_from_args(args, extra_flags={"s3_url": ("--s3-url", args.s3_url)})

    results = run_checks(
        args.recipe, disk=args.disk, work_dir=args.work_dir, convert_to=args.convert_to,
        timeout=args.timeout, sink=ConsoleProgress(), cancel=CancelFlag(), load=load,
    )
    print_table(results, args.recipe)
    # Not a row of the table: a build runs without lingering, it only dies at logout.
    warning = linger_warning()
    if warning:
        ConsoleProgress()(StepWarning("prerequisites", warning))
    if not all_needed_ok(results):
        return 1
    if args.recipe == "native":  # the disk alone is bundled
        say_next(command("bundle", *eucarc_words(args.eucarc), "-i", args.disk or "DISK.img"))
    else:  # the memdisk recipe starts with the kernel
        say_next(command("memdisk", "find"))
    return 0


def print_table(results: list[CheckResult], recipe: str, stream: TextIO | None = None) -> None:
    """The table, wrapped to the terminal, with each fix under its row."""
    out = stream or sys.stdout
    width = max(shutil.get_terminal_size((100, 24)).columns, 60)
    indent = " " * (_STATUS_WIDTH + _NAME_WIDTH + 2)
    print(f"Prerequisites of the {recipe} recipe on {current_distro().name}:", file=out)
    print(f"{'STATUS':<{_STATUS_WIDTH}} {'CHECK':<{_NAME_WIDTH}} FOUND", file=out)
    for result in results:
        head = f"{result.status:<{_STATUS_WIDTH}} {result.name:<{_NAME_WIDTH}} "
        # Never break at a hyphen: paths (euca-windows-wizard) and flags must
        # stay whole to be copied.
        lines = textwrap.wrap(result.value, width - len(head),
                              break_on_hyphens=False) or [""]
        print(head + lines[0], file=out)
        for line in lines[1:]:
            print(indent + line, file=out)
        if result.fix and not result.ok:
            flag = FLAGS["check"].get(result.key or "")
            text = f"fix: {result.fix}" + (f" ({flag})" if flag else "")
            fix = textwrap.wrap(text, width, initial_indent=indent,
                                subsequent_indent=indent + "     ", break_on_hyphens=False)
            print("\n".join(fix), file=out)
    failed = [result for result in results if result.needed and not result.ok]
    if failed:
        # The rows' names are not nouns to "need" ("disk problem"): list them as checks.
        names = ", ".join(result.name for result in failed)
        count = f"{len(failed)} check{'s' if len(failed) != 1 else ''}"
        summary = (f"Not ready: {count} the {recipe} recipe needs failed ({names}); "
                   "the fix is under each FAIL above.")
    else:
        summary = f"Ready: everything the {recipe} recipe needs is here."
    print("\n" + "\n".join(textwrap.wrap(summary, width, break_on_hyphens=False)), file=out)

"""``euca-windows-wizard memdisk find|verify|build``: the kernel of the memdisk recipe."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from wizard.cli.nextstep import command, say_next
from wizard.cli.progress import ConsoleProgress
from wizard.core.distro import current_distro
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag
from wizard.core.logs import get_logger
from wizard.memdisk.build import DEFAULT_TIMEOUT, build_memdisk
from wizard.memdisk.find import MEMDISK_PLACES, find_memdisk
from wizard.memdisk.verify import verify_memdisk

log = get_logger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "memdisk",
        help="find, verify or build memdisk (the kernel that boots the floppy)",
        description="memdisk is the syslinux kernel that boots the floppy ramdisk. Use "
        "the distribution's (find) or compile one from a syslinux release (build).",
    )
    actions = parser.add_subparsers(dest="memdisk_action", metavar="ACTION")
    actions.required = True

    find = actions.add_parser(
        "find", help="print the path of the distribution's memdisk",
        description="Look for the distribution's memdisk (/usr/lib/syslinux/memdisk, "
        "/usr/share/syslinux/memdisk and the other usual places) and print the path of "
        "the first one that verifies. Exit status 1, with the install command, when "
        "there is none.",
    )
    find.set_defaults(handler=_find)

    verify = actions.add_parser(
        "verify", help="check that a file is a memdisk kernel",
        description="Check that FILE carries the Linux boot-protocol header memdisk "
        "has (0x55AA at 0x1FE, HdrS at 0x202, protocol 2.x) and show its version. "
        "Exit status 1 when it is not a memdisk.",
    )
    verify.add_argument("file", metavar="FILE", type=Path, help="the file to check")
    verify.set_defaults(handler=_verify)

    build = actions.add_parser(
        "build", help="compile memdisk from a syslinux release (needs make, nasm, a C "
        "compiler)",
        description="Unpack a syslinux release (refusing any member that would land "
        "outside the work folder), run make in its memdisk/ folder with the output "
        "shown live, check the result and write it to OUT in one step. A failed build "
        "shows make's last lines and leaves no OUT.",
    )
    build.add_argument("--source", required=True, type=Path, metavar="TARBALL|DIR",
                       help="a syslinux release tarball or its unpacked folder")
    build.add_argument("-o", "--output", type=Path, default=Path("memdisk"), metavar="OUT",
                       help="where to write memdisk (default: ./memdisk)")
    build.add_argument("--force", action="store_true",
                       help="replace OUT if it exists (atomically, once the build passed)")
    build.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                       help=f"stop make after S seconds (default {DEFAULT_TIMEOUT:g})")
    build.add_argument("--work-dir", type=Path, metavar="DIR",
                       help="where to unpack and compile (default: the wizard's state folder)")
    build.set_defaults(handler=_build)


def _find(args: argparse.Namespace) -> int:
    info = find_memdisk()
    if info is None:
        places = ", ".join(str(place) for place in MEMDISK_PLACES[:3])
        raise WizardError(
            f"no memdisk found (looked in {places} and other usual places)",
            f"{current_distro().install_command(['memdisk'])}, or build one with "
            "euca-windows-wizard memdisk build --source SYSLINUX.tar.gz",
        )
    # The path alone, once: `memdisk verify $(memdisk find)` printed the
    # version twice on a terminal (here on stderr, then from verify).
    print(info.path)
    log.info("%s: %s", info.path, info.describe())
    if sys.stdout.isatty():  # typed, not captured by $(...)
        say_next(_bundle_kernel(info.path), sys.stderr)
    return 0


def _bundle_kernel(path: Path) -> str:
    return command("bundle", "--image-type", "kernel", "-i", path)


def _verify(args: argparse.Namespace) -> int:
    info = verify_memdisk(args.file)
    print(f"{info.path}: {info.describe()}")
    say_next(_bundle_kernel(info.path))
    return 0


def _build(args: argparse.Namespace) -> int:
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise WizardError("--timeout must be a positive number of seconds",
                          "give e.g. --timeout 900")
    info = build_memdisk(
        args.source, args.output, work_dir=args.work_dir, timeout=args.timeout,
        sink=ConsoleProgress(), cancel=CancelFlag(), replace=args.force,
    )
    print(f"{info.path}: {info.describe()}")
    say_next(_bundle_kernel(info.path))
    return 0

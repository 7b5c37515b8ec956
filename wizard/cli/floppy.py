"""``euca-windows-wizard floppy``: create the blank, print the checklist, verify.

- ``floppy create PATH [--force]`` writes the blank 1.44 MB image.
- ``floppy checklist PATH [--vm NAME] [--disk IMAGE]`` prints the
  Windows-side steps with this build's commands.
- ``floppy verify PATH [--disk IMAGE]`` prints every check, the fix under
  each failure, and exits 0 only when the floppy is ready.

Output stays ASCII when stdout cannot encode the check marks (a C locale,
an old terminal over SSH).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

from wizard.cli.nextstep import command, say_next
from wizard.core.errors import WizardError
from wizard.disk.report import DiskReport
from wizard.floppy.blank import create_blank
from wizard.floppy.checklist import Checklist, build_checklist
from wizard.floppy.fat12 import FLOPPY_SIZE
from wizard.floppy.verify import FloppyReport, Result, verify_floppy

_WIDTH = 78


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "floppy",
        help="the floppy ramdisk: make the blank image, list the Windows steps, verify",
        description=("The floppy ramdisk NTLDR boots from: a blank 1.44 MB image that "
                     "Windows formats and gets NTLDR, NTDETECT.COM, BOOT.INI (and "
                     "NTBOOTDD.SYS) copied onto."),
    )
    actions = parser.add_subparsers(dest="floppy_action", required=True,
                                    metavar="{create,checklist,verify}")

    create = actions.add_parser(
        "create", help="write a blank 1.44 MB floppy image (2880 sectors of zeros)",
        description="Write a blank 1,474,560-byte floppy image for Windows to format.",
    )
    create.add_argument("path", metavar="PATH", help="the image file to write")
    create.add_argument("--force", action="store_true",
                        help="replace an existing file (atomically)")
    create.set_defaults(handler=run_create)

    checklist = actions.add_parser(
        "checklist", help="print the Windows-side steps with this build's commands",
        description=("Print the steps that turn the blank image into the boot floppy: "
                     "attach, format in Windows, copy the boot files, detach, verify."),
    )
    checklist.add_argument("path", metavar="PATH", help="the floppy image")
    checklist.add_argument("--vm", metavar="NAME", help="the Windows VM's name (libvirt)")
    checklist.add_argument("--disk", metavar="IMAGE",
                           help="the Windows disk image: name exactly the files it needs")
    checklist.set_defaults(handler=run_checklist)

    verify = actions.add_parser(
        "verify", help="check the floppy image and say what is missing (exit 0 when ready)",
        description=("Read the floppy image (no root, no mounting) and report every check "
                     "with its result and fix. Exit status 0 only when it is ready."),
    )
    verify.add_argument("path", metavar="PATH", help="the floppy image")
    verify.add_argument("--disk", metavar="IMAGE",
                        help="the Windows disk image: check BOOT.INI points into it")
    verify.set_defaults(handler=run_verify)


def run_create(args: argparse.Namespace) -> int:
    path = create_blank(Path(args.path), force=args.force)
    print(f"Wrote the blank floppy image {path} ({FLOPPY_SIZE:,} bytes).")
    say_next(command("floppy", "checklist", path))
    return 0


def run_checklist(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.is_dir():
        raise WizardError(f"{path} is a folder, not a floppy image",
                          "give the path of the image file")
    disk = inspect_disk(Path(args.disk)) if args.disk else None
    ascii_only = not _can_print("✓→")
    print(render_checklist(build_checklist(path, args.vm, disk), ascii_only=ascii_only))
    if not path.exists():
        print("\nThe image does not exist yet.")
        say_next(command("floppy", "create", path.absolute()))
    else:
        # After the Windows side is done, the check is the next command.
        disk_words = ("--disk", Path(args.disk).absolute()) if args.disk else ()
        say_next(command("floppy", "verify", path.absolute(), *disk_words))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    disk = inspect_disk(Path(args.disk)) if args.disk else None
    report = verify_floppy(Path(args.path), disk)
    print(render_report(report, ascii_only=not _can_print("✓✗…")))
    if report.ready:
        say_next(command("bundle", "--image-type", "ramdisk", "-i", Path(args.path).absolute()))
    return 0 if report.ready else 1


def inspect_disk(path: Path) -> DiskReport:
    """Inspect the Windows disk image (``wizard.disk.inspect``, the prerequisites step)."""
    # Imported here: only --disk needs it, and it brings the NTFS reader.
    from wizard.disk.inspect import inspect_disk as inspect

    if not path.exists():
        raise WizardError(f"the disk image {path} does not exist", "give the right path")
    if path.is_dir():
        raise WizardError(f"{path} is a folder, not a disk image",
                          "give the path of the Windows disk image file")
    return inspect(path)


def _can_print(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent]


def _ascii(text: str, ascii_only: bool) -> str:
    if not ascii_only:
        return text
    text = text.replace("…", "...").replace("→", "->")
    return text.encode("ascii", "replace").decode("ascii")


def render_report(report: FloppyReport, ascii_only: bool = False) -> str:
    """The report as the CLI prints it: one line a check, fixes under failures."""
    marks = ({Result.PASS: "PASS", Result.FAIL: "FAIL", Result.SKIP: "SKIP"} if ascii_only
             else {Result.PASS: "✓", Result.FAIL: "✗", Result.SKIP: "-"})
    pad = max(len(mark) for mark in marks.values())
    lines = [f"Floppy image {report.path}" if report.path else "Floppy image"]
    for check in report.checks:
        indent = " " * (pad + 4)
        text = f"{check.title}: {check.detail}" if check.detail else check.title
        lines.extend(textwrap.wrap(text, _WIDTH, initial_indent=f"  {marks[check.result]:<{pad}}  ",
                                   subsequent_indent=indent, break_long_words=False,
                                   break_on_hyphens=False))
        if check.fix:
            lines.extend(_wrap(f"Fix: {check.fix}.", indent))
        if check.note:
            lines.extend(_wrap(f"Note: {check.note}.", indent))
    failed = len(report.failures)
    if report.ready:
        lines.append("Ready: the floppy can be bundled as the ramdisk.")
    else:
        lines.append(f"Not ready: {failed} check{'s' if failed != 1 else ''} failed.")
    return _ascii("\n".join(lines), ascii_only)


def _alternative(text: str) -> list[str]:
    """``or, WHEN:`` on its own line, then what to do under it, unwrapped.

    What to do holds a command or options with paths (virsh ..., -fda PATH):
    never wrapped, so it copies and pastes whole.
    """
    when, colon, what = text.partition(": ")
    if not colon:
        return _wrap(f"or, {text}", "       ")
    return [f"       or, {when}:", f"         {what}"]


def render_checklist(checklist: Checklist, ascii_only: bool = False) -> str:
    """The checklist as numbered steps with their commands and why."""
    lines = [f"Floppy checklist for {checklist.image}"]
    if checklist.vm is None:
        lines.append("  (name your VM with --vm NAME to fill in the virsh commands)")
    for note in checklist.notes:
        lines.extend(_wrap(f"Note: {note}", "  "))
    for number, step in enumerate(checklist.steps, start=1):
        lines.append("")
        lines.extend(textwrap.wrap(f"[ ] {number}. {step.title}", _WIDTH,
                                   subsequent_indent="       ", break_on_hyphens=False))
        lines.append(f"       {step.where}:")
        lines.extend(f"         {command}" for command in step.commands)
        for alternative in step.alternatives:
            lines.extend(_alternative(alternative))
        lines.extend(_wrap(f"Why: {step.why}", "       "))
    return _ascii("\n".join(lines), ascii_only)

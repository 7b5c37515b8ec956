"""``euca-windows-wizard sandbox``: run the embedded local cloud in the foreground.

Starts moto's S3 and EC2 on 127.0.0.1 under Eucalyptus paths, writes an
eucarc, throw-away certificates and sample inputs into a folder, prints the
whole memdisk recipe against them (``sandbox_recipe.py``; also written there
as ``recipe.sh``, and as ``sandbox-answers.toml`` for ``run --answers`` once
that command exists), and serves until Ctrl+C (or SIGTERM), then stops cleanly.
With ``--exit-when-idle GRACE`` (the wizard's sandbox) it also ends by itself
once nothing has needed it for GRACE seconds: no wizard holding its lease and
no build running on it (``wizard.session.sandboxuse``).
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from wizard.cli.sandbox_recipe import recipe_lines, recipe_script
from wizard.cloud.sandbox import ACCOUNT, Sandbox, start_sandbox
from wizard.core.files import write_atomic
from wizard.memdisk.find import find_memdisk
from wizard.session.sandboxuse import CHECK_EVERY, IdleWatch


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox",
        help="run a local sandbox cloud (S3 + EC2 on 127.0.0.1) to try the recipe",
        description="Start an embedded local cloud (moto) on 127.0.0.1 with Eucalyptus-style "
        "paths, write an eucarc, throw-away certificates and SAMPLE inputs into a folder, "
        "and serve until Ctrl+C. Nothing sent to it leaves this computer.",
    )
    parser.add_argument("--dir", metavar="DIR",
                        help="folder for the eucarc, certificates and samples "
                        "(default: a new temporary folder); one used before keeps its "
                        "certificates, keys and images")
    parser.add_argument("--check-delay", metavar="SECONDS", type=float, default=0.0,
                        help="keep each registered image pending this long before its bundle "
                        "is checked, as a busy cloud does (default: 0)")
    parser.add_argument("--exit-when-idle", metavar="SECONDS", type=float, default=None,
                        help="end by itself once, for SECONDS, no wizard uses it and no "
                        "build of a saved session runs on it (checked every "
                        f"{CHECK_EVERY:.0f} s; the wizard's sandbox runs so)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Line by line, also into a pipe or a log: someone may be waiting for a line.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    try:
        with start_sandbox(Path(args.dir) if args.dir else None,
                           check_delay=max(0.0, args.check_delay)) as sandbox:
            rc = sandbox.eucarc
            print(f"Sandbox cloud running (account {ACCOUNT}); nothing leaves this computer.")
            print(f"  S3 (object storage): {sandbox.s3_url}")
            print(f"  EC2 (compute):       {sandbox.ec2_url}")
            print(f"  Folder:              {sandbox.folder}")
            print(f"  eucarc:              {rc}")
            for what, path in sandbox.samples.items():
                print(f"  SAMPLE {what + ':':<13} {path.name}  (a sample, not Windows)")
            for line in _first_steps(sandbox):
                print(line)
            idle = None
            if args.exit_when_idle is not None:
                grace = max(0.0, args.exit_when_idle)
                idle = IdleWatch(sandbox.folder, grace)
                print(f"It ends by itself {grace:.0f} s after the last wizard and build "
                      "using it are gone.")
            print("Serving until Ctrl+C.", flush=True)
            while not stopping.wait(CHECK_EVERY if idle else 0.5):
                if idle is not None and idle.ended():
                    print("No wizard and no build use the sandbox cloud any more.",
                          file=sys.stderr, flush=True)
                    break
            print("Stopping the sandbox cloud.", file=sys.stderr, flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _first_steps(sandbox: Sandbox) -> list[str]:
    """What to type next: the recipe, written beside the samples too."""
    memdisk = sandbox.samples.get("memdisk")
    if memdisk is None:
        found = find_memdisk()
        memdisk = found.path if found is not None else sandbox.folder / "sample-memdisk"
    else:
        memdisk = Path(memdisk.name)  # the sample beside the others: relative
    lines = recipe_lines(memdisk)
    write_atomic(sandbox.folder / "recipe.sh", recipe_script(lines).encode(), mode=0o755)
    answers = _write_answers(sandbox)
    # Relative to the folder, so each command fits an 80-column terminal.
    if answers is not None and importlib.util.find_spec("wizard.cli.run") is not None:
        return [f"Try the whole memdisk recipe, in another terminal (cd {sandbox.folder}):",
                f"  euca-windows-wizard run --answers {answers.name}",
                "Step by step, the same recipe is in recipe.sh (bash recipe.sh)."]
    return [f"Try the memdisk recipe, in another terminal (cd {sandbox.folder} first;",
            "each register waits until the cloud has opened the bundle, and the ids",
            "go from step to step in KERNEL and RAMDISK; all of it: bash recipe.sh):",
            *(f"  {line}" for line in lines)]


def _write_answers(sandbox: Sandbox) -> Path | None:
    """``sandbox-answers.toml`` for ``run --answers``, where the session code has it."""
    try:
        from wizard.session.answers import answers_to_toml, sandbox_answers
    except ImportError:
        return None
    path = sandbox.folder / "sandbox-answers.toml"
    write_atomic(path, answers_to_toml(sandbox_answers(sandbox.folder)).encode())
    return path

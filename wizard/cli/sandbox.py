"""``euca-windows-wizard sandbox``: run the embedded local cloud in the foreground.

Starts moto's S3 and EC2 on 127.0.0.1 under Eucalyptus paths, writes an
eucarc, throw-away certificates and sample inputs into a folder, prints how
to use them, and serves until Ctrl+C (or SIGTERM), then stops cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from wizard.cloud.sandbox import ACCOUNT, start_sandbox


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
                        "(default: a new temporary folder)")
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
        with start_sandbox(Path(args.dir) if args.dir else None) as sandbox:
            rc = sandbox.eucarc
            print(f"Sandbox cloud running (account {ACCOUNT}); nothing leaves this computer.")
            print(f"  S3 (object storage): {sandbox.s3_url}")
            print(f"  EC2 (compute):       {sandbox.ec2_url}")
            print(f"  Folder:              {sandbox.folder}")
            print(f"  eucarc:              {rc}")
            for what, path in sandbox.samples.items():
                print(f"  SAMPLE {what + ':':<13} {path.name}  (a sample, not Windows)")
            disk = sandbox.samples.get("disk", Path("sample-disk.img")).name
            # Relative to the folder, so each command fits an 80-column terminal.
            print(f"Try, in another terminal (cd {sandbox.folder} first):")
            print(f"  euca-windows-wizard bundle --eucarc eucarc -i {disk} -d bundle")
            print(f"  euca-windows-wizard upload --eucarc eucarc -b images \\\n"
                  f"      -m bundle/{disk}.manifest.xml")
            print(f"  euca-windows-wizard register --eucarc eucarc \\\n"
                  f"      images/{disk}.manifest.xml -n sample-image")
            print("Serving until Ctrl+C.", flush=True)
            while not stopping.wait(0.5):
                pass
            print("Stopping the sandbox cloud.", file=sys.stderr, flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

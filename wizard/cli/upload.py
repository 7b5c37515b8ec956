"""``euca-windows-wizard upload -b BUCKET[/PREFIX] -m MANIFEST``: send a bundle to the store.

Flags as ``euca-upload-bundle`` has them. Every part is checked against its
manifest before anything is sent; parts go several at a time, the manifest
last; a run after an interruption sends only what is missing. Progress on
stderr; the last line on stdout is ``Uploaded BUCKET/[PREFIX/]NAME.manifest.xml``.
Ctrl+C stops starting new parts, lets the ones on the wire finish, and exits
without sending the manifest.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from typing import Any

from wizard.cli.nextstep import command, eucarc_words, say_next
from wizard.cli.options import add_cloud_options, cloud_from_args
from wizard.cli.progress import ConsoleProgress
from wizard.cloud.upload import CANNED_ACLS, DEFAULT_ACL, parse_destination, upload_bundle
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "upload",
        help="upload a bundle (parts, then manifest) to the cloud's object store",
        description="Upload the bundle of MANIFEST to BUCKET[/PREFIX]: checks every part "
        "first, creates the bucket if needed, sends parts in parallel with the canned ACL, "
        "skips parts the store already holds, and sends the manifest last.",
    )
    parser.add_argument("-b", "--bucket", required=True, metavar="BUCKET[/PREFIX]",
                        help="bucket (and optional key prefix) to upload to")
    parser.add_argument("-m", "--manifest", required=True, metavar="MANIFEST",
                        help="the bundle's NAME.manifest.xml (its parts beside it)")
    parser.add_argument("--acl", default=DEFAULT_ACL, choices=CANNED_ACLS,
                        help=f"canned ACL for every object (default: {DEFAULT_ACL}, which "
                        "the cloud needs to read the bundle)")
    parser.add_argument("--concurrency", type=int, default=4, metavar="N",
                        help="parts sent at once (default: 4)")
    add_cloud_options(parser, "s3_url")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    destination = parse_destination(args.bucket)
    try:
        # With the EC2 URL too, when the credentials give it: upload then warns
        # when the manifest it sends again is that of a registered image.
        cloud = cloud_from_args(args, ("s3", "ec2"))
    except WizardError:
        cloud = cloud_from_args(args, ("s3",))
    sink = ConsoleProgress()
    cancel = CancelFlag()

    def stop(signum: int, frame: Any) -> None:
        # A second Ctrl+C ends at once (the default handler); the first lets
        # the parts on the wire finish so nothing is left half-sent.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        cancel.cancel("Ctrl+C")

    previous = signal.signal(signal.SIGINT, stop)
    try:
        result = upload_bundle(args.manifest, destination, cloud, sink, cancel,
                               acl=args.acl, concurrency=args.concurrency)
    finally:
        signal.signal(signal.SIGINT, previous)
    print(f"Uploaded {shlex.quote(result.location)}", file=sys.stdout, flush=True)
    say_next(command("register", *eucarc_words(args.eucarc), result.location, "-n", "NAME"),
             sys.stderr)
    return 0

"""``euca-windows-wizard unbundle``: a bundle back into its image, every digest checked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.cli.progress import ConsoleProgress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "unbundle",
        help="rebuild the image of a bundle, checking every digest",
        description="Decrypt and unpack a bundle (made by this tool, euca2ools or "
                    "ec2-ami-tools) with your private key or the cloud's.",
    )
    parser.add_argument("-m", "--manifest", required=True, metavar="FILE",
                        help="the bundle's .manifest.xml")
    parser.add_argument("-k", "--privatekey", metavar="FILE",
                        help="your private key, or the cloud's (default: EC2_PRIVATE_KEY)")
    parser.add_argument("-s", "--source", metavar="DIR",
                        help="folder holding the parts (default: the manifest's folder)")
    parser.add_argument("-d", "--destination", metavar="DIR",
                        help="folder to write the image into, created if missing "
                             "(default: the current folder)")
    parser.add_argument("--force", action="store_true",
                        help="replace a file of the image's name in that folder")
    parser.add_argument("--eucarc", metavar="FILE",
                        help="read the private key's path from this eucarc")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wizard.bundle.unbundler import unbundle
    from wizard.cli.options import credentials_from_args

    creds = credentials_from_args(args)
    key = Path(creds.require("private_key").value)
    result = unbundle(
        Path(args.manifest), key,
        source=Path(args.source) if args.source else None,
        destination=Path(args.destination) if args.destination else None,
        sink=ConsoleProgress(),
        force=args.force,
    )
    if result.signature_checked:
        print("The manifest's signature verifies with this key.", file=sys.stderr)
    print(f"Wrote image {result.image}")
    return 0

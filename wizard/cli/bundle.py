"""``euca-windows-wizard bundle``: an image file into an instance-store bundle.

The flags are euca-bundle-image's. Credentials come from the flags, else the
environment, else the eucarc named with --eucarc (see wizard.credentials).
Progress goes to stderr; the last line on stdout is ``Wrote manifest PATH``
(PATH quoted as a shell would), then ``Next:`` the upload command on stderr.
This is only the face: the request and its default folder are built by
``wizard.bundle.request.bundle_request``, as for a session or the TUI.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from wizard.cli.nextstep import command, eucarc_words, say_next
from wizard.cli.progress import ConsoleProgress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bundle",
        help="bundle an image (disk, memdisk or floppy) for upload",
        description="Bundle an image file the way euca-bundle-image does: tar, gzip, "
                    "AES-128-CBC, 10 MiB parts and a signed manifest, in one pass on every core.",
    )
    parser.add_argument("-i", "--image", required=True, metavar="FILE",
                        help="the image to bundle (raw disk, memdisk or floppy)")
    parser.add_argument("-d", "--destination", metavar="DIR",
                        help="folder for the parts and manifest (created if missing; "
                             "default: a new folder under $TMPDIR or /var/tmp)")
    parser.add_argument("-p", "--prefix", metavar="NAME",
                        help="the bundle's name (default: the image's file name)")
    parser.add_argument("-r", "--arch", metavar="ARCH",
                        help="i386 or x86_64 (default: read from the disk image: x86_64 when "
                        "its Windows has \\WINDOWS\\SysWOW64, else i386; x86_64 when it "
                        "cannot be read)")
    parser.add_argument("--image-type", default="machine", metavar="TYPE",
                        help="machine, kernel (memdisk) or ramdisk (floppy); default: machine")
    parser.add_argument("--kernel", metavar="ID", help="the kernel id (eki-…) of a machine image")
    parser.add_argument("--ramdisk", metavar="ID", help="the ramdisk id (eri-…) of a machine image")
    parser.add_argument("-c", "--cert", metavar="FILE", help="your certificate (EC2_CERT)")
    parser.add_argument("-k", "--privatekey", metavar="FILE",
                        help="your private key (EC2_PRIVATE_KEY)")
    parser.add_argument("-u", "--user", metavar="ACCOUNT",
                        help="your 12-digit account id (EC2_USER_ID)")
    parser.add_argument("--ec2cert", metavar="FILE",
                        help="the cloud's certificate (EUCALYPTUS_CERT, cloud-cert.pem)")
    parser.add_argument("--eucarc", metavar="FILE",
                        help="read missing credentials from this eucarc (as data, never run)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wizard.bundle.bundler import bundle_image
    from wizard.bundle.request import bundle_request, check_request
    from wizard.cli.options import credentials_from_args

    creds = credentials_from_args(args)
    request, chosen = bundle_request(
        Path(args.image), destination=Path(args.destination) if args.destination else None,
        prefix=args.prefix, arch=args.arch, image_type=args.image_type,
        kernel_id=args.kernel, ramdisk_id=args.ramdisk, credentials=creds,
    )
    # Refused before anything is said about the bundle (its folder, its
    # architecture): an empty image printed "Bundle folder: …", then the error.
    check_request(request)
    image, destination, keys = request.image, request.destination, request.keys
    progress = ConsoleProgress()
    for warning in keys.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if request.arch_reason:
        print(f"Architecture: {request.arch} ({request.arch_reason}; -r overrides)",
              file=sys.stderr)
    if chosen:
        print(f"Bundle folder: {destination}", file=sys.stderr)
    # The same command run again (a script re-run after a failed upload) finds
    # its finished bundle, checks it whole and reuses it: a rebuild would draw
    # a new key and change every part. Anything else of that name is refused.
    bundle = bundle_image(request, progress, reuse=True)
    manifest = bundle.manifest
    parts = f"{len(manifest.parts)} part{'s' if len(manifest.parts) != 1 else ''}"
    if bundle.reused:
        print(f"Reusing the finished bundle of {image} in {destination}: its manifest and "
              f"{parts} are intact (remove them, or use another -d, to bundle again)",
              file=sys.stderr)
    else:
        print(f"Bundled {image} ({manifest.size:,} bytes) into {parts} "
              f"({manifest.bundled_size:,} bytes) in {destination}", file=sys.stderr)
    # The last line keeps its form either way: scripts take the path from it,
    # quoted as a shell would (a space in -d stays one word): shlex.split or
    # `eval set --` reads it back.
    print(f"Wrote manifest {shlex.quote(str(bundle.manifest_path))}", flush=True)
    say_next(command("upload", *eucarc_words(args.eucarc)) + " -b BUCKET[/PREFIX] -m "
             + shlex.quote(str(bundle.manifest_path)), sys.stderr)
    return 0

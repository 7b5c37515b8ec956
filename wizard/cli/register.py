"""``euca-windows-wizard register LOCATION -n NAME``: an uploaded bundle becomes an image.

Flags as ``euca-register`` has them. Prints ``IMAGE<TAB>id`` as the last
line, also when the manifest was registered before (the id is looked up, not
registered twice). Then waits (on stderr, live) until the cloud has checked
the bundle and the image is available; a failed image is an error with the
cloud's reason and the fix. Ctrl+C stops the waiting, not the image.
``--boot-test`` then launches one instance, shows its console and ends it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wizard.cli.nextstep import command, eucarc_words, say_next
from wizard.cli.options import add_cloud_options, cloud_from_args
from wizard.cli.progress import ConsoleProgress
from wizard.cloud.boottest import boot_test
from wizard.cloud.register import VIRTUALIZATION_TYPES, ImageRequest, register_image
from wizard.cloud.wait import DEFAULT_TIMEOUT, wait_until_available
from wizard.core.choices import ARCHITECTURES
from wizard.core.errors import Cancelled, WizardError, interrupted
from wizard.core.events import CancelFlag


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "register",
        help="register an uploaded bundle as a kernel, ramdisk or machine image",
        description="Register the manifest at LOCATION (BUCKET/[PREFIX/]NAME.manifest.xml, "
        "as upload prints it) as an image. Checks that the manifest is in the store, and "
        "does not register a manifest twice. Prints IMAGE<TAB>id.",
    )
    parser.add_argument("location", metavar="LOCATION",
                        help="BUCKET/[PREFIX/]NAME.manifest.xml in the store")
    parser.add_argument("-n", "--name", required=True, help="the image's name (3-128 chars)")
    parser.add_argument("-a", "--arch", choices=ARCHITECTURES,
                        help="architecture (default: the manifest's)")
    parser.add_argument("--kernel", metavar="ID", help="kernel id (eki-…) for a machine image")
    parser.add_argument("--ramdisk", metavar="ID", help="ramdisk id (eri-…) for a machine image")
    parser.add_argument("--platform", choices=("windows",),
                        help="windows: a native Windows image (Eucalyptus 4.0+)")
    parser.add_argument("--virtualization-type", choices=VIRTUALIZATION_TYPES,
                        help="hvm for a native Windows image")
    parser.add_argument("-d", "--description", help="a description of the image")
    parser.add_argument("--no-wait", action="store_true",
                        help="do not wait for the image to become available")
    parser.add_argument("--boot-test", action="store_true",
                        help="then launch one instance of the image, wait for it to run, show "
                        "its console output and terminate it")
    parser.add_argument("--wait-timeout", metavar="SECONDS", type=_seconds,
                        default=DEFAULT_TIMEOUT,
                        help="give up waiting after this long (default: %(default).0f)")
    add_cloud_options(parser, "ec2_url")
    parser.add_argument("--s3-url", metavar="URL",
                        help="the S3 endpoint, to check the manifest is stored "
                        "(default: S3_URL from the environment, the eucarc or ~/.euca)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    cloud = cloud_from_args(args, ("ec2", "s3"),
                            extra_flags={"s3_url": ("--s3-url", args.s3_url)})
    sink = ConsoleProgress()
    request = ImageRequest(
        location=args.location.strip(),
        name=args.name,
        arch=args.arch,
        kernel_id=args.kernel,
        ramdisk_id=args.ramdisk,
        platform=args.platform,
        virtualization_type=args.virtualization_type,
        description=args.description,
    )
    result = register_image(cloud, request, sink)
    if not args.no_wait:
        cancel = CancelFlag()
        try:
            wait_until_available(cloud, result.image_id, sink, cancel,
                                 timeout=args.wait_timeout)
        except KeyboardInterrupt:
            # One wording for every interruption, saying what was kept.
            raise Cancelled(
                interrupted("Ctrl+C", f"{result.image_id} is registered and the cloud goes "
                            "on preparing it"),
                "run the same register command again to wait for it (it is not registered "
                "twice)") from None
    if args.boot_test:
        if args.no_wait:
            raise WizardError("--boot-test needs the image available: it cannot go with "
                              "--no-wait", "leave out --no-wait", key="no_wait")
        report = boot_test(cloud, result.image_id, sink)
        console = report.console.rstrip() or "(no console output)"
        print(f"Console output of {report.instance_id}:\n{console}", file=sys.stderr)
        print(report.summary(), file=sys.stderr, flush=True)
    print(f"IMAGE\t{result.image_id}", file=sys.stdout, flush=True)
    following = _after(result.image_id, args.eucarc)
    if following:
        say_next(following, sys.stderr)
    return 0


def _after(image_id: str, eucarc: str | None) -> str | None:
    """What the memdisk recipe does after registering this kind of image (by its id)."""
    creds = eucarc_words(eucarc)
    if image_id.startswith("eki-"):  # the kernel: then the floppy, as the ramdisk
        return command("bundle", *creds, "--image-type", "ramdisk", "-i", "win-boot.img")
    if image_id.startswith("eri-"):  # the ramdisk: then the disk, carrying both
        return (command("bundle", *creds, "-i", "DISK.img", "--ramdisk", image_id)
                + " --kernel eki-…")
    return None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the wait timeout must be more than 0 seconds")
    return value

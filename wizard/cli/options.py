"""Command-line options for credentials, shared by every command that needs them.

The spellings are euca2ools' (``-I``, ``-S``, ``-U``, ``--eucarc``,
``--region``), so an operator's muscle memory works. ``-U/--url`` means the
S3 URL for ``upload`` and the EC2 URL for ``register``, as in euca2ools;
``url_field`` says which. ``--region USER@REGION`` picks both the region and
the user of the euca2ools ini files, as euca2ools 3 does.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from wizard.core.logs import mask
from wizard.credentials import Credentials, load_credentials

if TYPE_CHECKING:
    from wizard.cloud.endpoints import Cloud


def add_cloud_options(parser: argparse.ArgumentParser, url_field: str) -> None:
    """Add the options that say which cloud to talk to and with which keys."""
    group = parser.add_argument_group("cloud and credentials")
    what = "S3 (object storage)" if url_field == "s3_url" else "EC2 (compute)"
    group.add_argument(
        "-U", "--url", metavar="URL",
        help=f"the {what} endpoint, path included (default: from the environment, "
        "the eucarc or ~/.euca)",
    )
    group.add_argument("-I", "--access-key-id", metavar="KEY_ID", help="your access key id")
    group.add_argument("-S", "--secret-key", metavar="KEY",
                       help="your secret key (prefer the environment or an eucarc: a "
                       "flag shows in the process list)")
    group.add_argument("--eucarc", metavar="FILE",
                       help="read credentials from this eucarc (read as data, never run)")
    group.add_argument("--region", metavar="[USER@]REGION",
                       help="region name (and euca2ools ini user) to use")
    group.add_argument("--ca-bundle", metavar="FILE",
                       help="trust the certificates in this PEM file for HTTPS endpoints")
    group.add_argument("--no-verify-ssl", action="store_true",
                       help="do not check HTTPS certificates (warned about on every run)")
    group.add_argument("--sigv", choices=("2", "4"),
                       help="signature version (default: 2 for /services/Walrus and "
                       "/services/Eucalyptus URLs, else 4)")
    parser.set_defaults(url_field=url_field)


def _split_region(text: str | None) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    if "@" in text:
        user, region = text.split("@", 1)
        return region or None, user or None
    return text, None


# How a value given on the command line is named as its source ("from --cert flag").
_SOURCE_FLAGS: dict[str, str] = {
    "access_key": "--access-key-id", "secret_key": "--secret-key", "region": "--region",
    "ca_bundle": "--ca-bundle", "verify_ssl": "--no-verify-ssl", "cert": "--cert",
    "private_key": "--privatekey", "user": "--user", "cloud_cert": "--ec2cert",
}


def credentials_from_args(args: argparse.Namespace,
                          environ: Mapping[str, str] | None = None,
                          extra_flags: Mapping[str, tuple[str, str | None]] | None = None,
                          ) -> Credentials:
    """Load credentials with the command line's flags on top of every other source.

    ``extra_flags`` maps more fields to (flag name, value), e.g.
    ``{"s3_url": ("--s3-url", args.s3_url)}``. An error about a value
    carries its answer key; ``main`` names this command's flag for it.
    """
    url_field: str = getattr(args, "url_field", "s3_url")
    region, user = _split_region(getattr(args, "region", None))
    flags: dict[str, str | None] = {
        url_field: getattr(args, "url", None),
        "access_key": getattr(args, "access_key_id", None),
        "secret_key": getattr(args, "secret_key", None),
        "region": region,
        "ca_bundle": getattr(args, "ca_bundle", None),
        "verify_ssl": "false" if getattr(args, "no_verify_ssl", False) else None,
        # The bundling keys, on the commands that take them (bundle, check, unbundle).
        "cert": getattr(args, "cert", None),
        "private_key": getattr(args, "privatekey", None),
        "user": getattr(args, "user", None),
        "cloud_cert": getattr(args, "ec2cert", None),
    }
    names = {**_SOURCE_FLAGS, url_field: "--url"}
    for field_name, (flag, value) in (extra_flags or {}).items():
        flags[field_name] = value
        names[field_name] = flag.split("/")[-1]
    return load_credentials(
        flags,
        environ=environ,
        eucarc=getattr(args, "eucarc", None),
        region_name=region,
        user_name=user,
        sources={name: f"{flag} flag" for name, flag in names.items() if name in flags},
    )


def cloud_from_args(args: argparse.Namespace, services: tuple[str, ...],
                    environ: Mapping[str, str] | None = None,
                    extra_flags: Mapping[str, tuple[str, str | None]] | None = None) -> Cloud:
    """The cloud to talk to, from the command line and every other source."""
    from wizard.cloud.endpoints import cloud_from_credentials

    creds = credentials_from_args(args, environ, extra_flags)
    sigv = int(args.sigv) if getattr(args, "sigv", None) else None
    return cloud_from_credentials(creds, services=services, sigv=sigv)


SECRET_FLAGS = ("-S", "--secret-key")


def redact_argv(argv: Sequence[str]) -> list[str]:
    """The command line with the secret key's value masked, for logging it.

    ``-S KEY``, ``-SKEY``, ``--secret-key KEY`` and ``--secret-key=KEY`` all
    become masked (``wizard.core.logs.mask``); everything else is unchanged.
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(mask(arg))
            hide_next = False
        elif arg in SECRET_FLAGS:
            out.append(arg)
            hide_next = True
        elif arg.startswith("--secret-key="):
            out.append("--secret-key=" + mask(arg.split("=", 1)[1]))
        elif arg.startswith("-S") and not arg.startswith("--"):
            out.append("-S" + mask(arg[2:]))
        else:
            out.append(arg)
    return out

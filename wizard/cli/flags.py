"""Each command's flag for an input: how the CLI names an error's answer key.

The engine's errors name the input in the operator's words and carry its key
(``wizard.core.keys``); ``where(key, args)`` is the flag the command that ran
takes it with, which ``main`` prints after the fix: "Fix: give your account
id (-u)". The same key is a different flag in different commands (the S3 URL
is ``-U`` for upload and ``--s3-url`` for register), hence a table a command.
"""

from __future__ import annotations

import argparse

from wizard.session.answers import ANSWER_KEYS

# The options of wizard.cli.options.add_cloud_options, on every cloud command.
_CLOUD: dict[str, str] = {
    "cloud.eucarc": "--eucarc",
    "cloud.region": "--region",
    "cloud.access_key": "-I",
    "cloud.secret_key": "-S",
    "cloud.ca_bundle": "--ca-bundle",
    "cloud.verify_ssl": "--no-verify-ssl",
    "cloud.sigv": "--sigv",
}
# The bundling keys (bundle's -c, -k, -u, --ec2cert; check takes them too).
_KEYS: dict[str, str] = {
    "cloud.cert": "-c",
    "cloud.private_key": "-k",
    "cloud.account": "-u",
    "cloud.cloud_cert": "--ec2cert",
}

# "command" or "command action" -> key -> flag (or the positional's name).
FLAGS: dict[str, dict[str, str]] = {
    "check": {
        **_CLOUD, **_KEYS,
        "cloud.ec2_url": "-U", "cloud.s3_url": "--s3-url",
        "build.disk": "--disk", "build.mode": "--recipe", "build.work_dir": "--work-dir",
        "build.convert_to": "--convert-to", "build.timeout": "--timeout",
        # Not check's own flag: the command that builds memdisk.
        "build.syslinux_source": "memdisk build --source",
    },
    "memdisk verify": {"build.memdisk": "FILE"},
    "memdisk build": {
        "build.syslinux_source": "--source", "build.memdisk": "-o",
        "build.timeout": "--timeout", "build.work_dir": "--work-dir", "build.replace": "--force",
    },
    "floppy create": {"build.floppy": "PATH", "build.replace": "--force"},
    "floppy checklist": {"build.floppy": "PATH", "build.vm": "--vm", "build.disk": "--disk"},
    "floppy verify": {"build.floppy": "PATH", "build.disk": "--disk"},
    "bundle": {
        **_KEYS,
        "cloud.eucarc": "--eucarc",
        # -i is whichever image is bundled: the disk, memdisk or the floppy.
        "build.disk": "-i", "build.memdisk": "-i", "build.floppy": "-i",
        "build.folder": "-d", "build.prefix": "-p", "build.arch": "-r",
        "build.image_type": "--image-type", "build.kernel": "--kernel",
        "build.ramdisk": "--ramdisk",
    },
    "unbundle": {
        "cloud.eucarc": "--eucarc", "cloud.private_key": "-k",
        "build.manifest": "-m", "build.parts": "-s", "build.output": "-d",
        "build.replace": "--force",
    },
    "upload": {
        **_CLOUD,
        "cloud.s3_url": "-U", "build.bucket": "-b", "build.manifest": "-m",
        "build.concurrency": "--concurrency",
    },
    "register": {
        **_CLOUD,
        "cloud.ec2_url": "-U", "cloud.s3_url": "--s3-url", "build.location": "LOCATION",
        "build.name": "-n", "build.arch": "-a", "build.kernel": "--kernel",
        "build.ramdisk": "--ramdisk", "build.platform": "--platform",
        "build.virtualization": "--virtualization-type",
        "build.wait_timeout": "--wait-timeout",
    },
    "sandbox": {"sandbox.folder": "--dir"},
    # run takes its inputs from the answers file: the key is where to change one.
    "run": {key: f"{key} in the answers file" for key in ANSWER_KEYS},
}

# The argparse dest of each command's action (``memdisk build``).
_ACTIONS: dict[str, str] = {"memdisk": "memdisk_action", "floppy": "floppy_action"}


def command_of(args: argparse.Namespace) -> str:
    """The command that ran, with its action: "upload", "memdisk build"."""
    command: str = getattr(args, "command", None) or ""
    action = getattr(args, _ACTIONS.get(command, ""), None)
    return f"{command} {action}" if action else command


def where(key: str | None, args: argparse.Namespace) -> str | None:
    """The flag that gives ``key`` to the command that ran, or None."""
    if key is None:
        return None
    return FLAGS.get(command_of(args), {}).get(key)

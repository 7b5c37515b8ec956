"""The inputs of a build, by answer key: what an error is about.

A ``WizardError`` names its input in the operator's words and carries the
input's key from this list (``WizardError(..., key="build.disk")``). The faces
turn the key into their own words: the CLI appends the flag of the command
that ran (``wizard.cli.flags``), the TUI focuses the field. The keys are the
answers file's (``[cloud]`` and ``[build]``, issue 10) where the answers file
has the input; inputs that only a subcommand takes (a bundle's folder, the
number of parts sent at once) have keys of the same shape, so a later answers
file or a TUI field can take them up without new names.
"""

from __future__ import annotations

# key -> the input in the operator's words (for a TUI label or a test).
KEYS: dict[str, str] = {
    # [cloud]: where the cloud is and who the operator is there.
    "cloud.eucarc": "the eucarc",
    "cloud.region": "the region",
    "cloud.access_key": "your access key id",
    "cloud.secret_key": "your secret key",
    "cloud.s3_url": "the S3 (object storage) URL",
    "cloud.ec2_url": "the EC2 (compute) URL",
    "cloud.ca_bundle": "the CA bundle for HTTPS",
    "cloud.verify_ssl": "whether HTTPS certificates are checked",
    "cloud.sigv": "the signature version",
    "cloud.cert": "your certificate",
    "cloud.private_key": "your private key",
    "cloud.account": "your account id",
    "cloud.cloud_cert": "the cloud's certificate",
    # [build]: what is built, from what, and where it goes.
    "build.name": "the image's name",
    "build.mode": "the recipe (memdisk or native)",
    "build.disk": "the Windows disk image",
    "build.floppy": "the floppy image",
    "build.memdisk": "memdisk",
    "build.syslinux_source": "the syslinux release memdisk is built from",
    "build.bucket": "the bucket (and prefix)",
    "build.arch": "the architecture",
    "build.image_type": "the kind of image (machine, kernel or ramdisk)",
    "build.kernel": "the kernel's image id (eki-)",
    "build.ramdisk": "the ramdisk's image id (eri-)",
    "build.platform": "the platform",
    "build.virtualization": "the virtualization type",
    "build.folder": "the bundle's folder",
    "build.prefix": "the bundle's name",
    "build.manifest": "the bundle's manifest",
    "build.location": "the manifest's place in the store (bucket/prefix/name.manifest.xml)",
    "build.parts": "the folder holding the bundle's parts",
    "build.output": "the folder for the unbundled image",
    "build.concurrency": "the number of parts sent at once",
    "build.work_dir": "the work folder",
    "build.timeout": "the time limit",
    "build.wait_timeout": "how long to wait for a registered image to become available",
    "build.convert_to": "the folder for a raw copy of the disk image",
    "build.vm": "the Windows VM's name",
    "build.replace": "replacing a file that exists",
    "sandbox.folder": "the sandbox's folder",
}

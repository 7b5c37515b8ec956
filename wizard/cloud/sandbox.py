"""An embedded local cloud: moto's S3 and EC2 on 127.0.0.1, under Eucalyptus paths.

For trying the whole recipe with no cloud (issue 4, ``--sandbox``): moto's
server runs in this process on a free loopback port, behind ``PathProxy`` so
that it answers at ``/services/objectstorage`` and ``/services/compute`` like
Eucalyptus 4.x. The sandbox makes throw-away credentials for account
123456789012 (moto's default account): an access key, a cloud certificate
(and the cloud's private key, kept in ``.cloud/``), a user certificate and
key (RSA 2048, self-signed), an ``eucarc`` naming them, and sample inputs
(``samples.py``), all in one private folder.

Images behave as on Eucalyptus (issue 11): the proxy's EC2 front
(``imageapi.py``) answers the image calls from the sandbox's image table
(``imagetable.py``, ``.cloud/images.json``) with ``eki-``/``eri-``/``emi-``
ids, and a background check (``imagecheck.py``) opens each registered bundle
as the cloud does before the image becomes ``available`` (or ``failed``).

Started again with the same folder, the sandbox keeps its keys, certificates
and images (bundles made against it stay valid; the store itself is moto's
memory and starts empty). A folder in use by a running sandbox is refused
(an flock on ``.cloud/lock``).

The secret key is written only to that folder's eucarc and ``.cloud/``
(mode 0600): it opens a cloud that lives on loopback and dies with the process.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import logging
import os
import secrets
import stat
import string
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from wizard.cloud.imageapi import ImageFront, Refusal
from wizard.cloud.imagecheck import BundleChecker, CloudKeys, MotoStore
from wizard.cloud.imagetable import ImageTable
from wizard.cloud.lease import folder_lock_path
from wizard.cloud.pathproxy import PathProxy
from wizard.cloud.samples import make_sample_disk, make_sample_floppy, make_sample_memdisk
from wizard.core.dirs import private_dir
from wizard.core.errors import WizardError
from wizard.core.files import write_atomic
from wizard.core.logs import get_logger
from wizard.memdisk.find import find_memdisk

log = get_logger(__name__)

ACCOUNT = "123456789012"
REGION = "us-east-1"
S3_PATH = "/services/objectstorage"
EC2_PATH = "/services/compute"
INSTALL_HINT = "pip install 'euca-windows-wizard[sandbox]'"
CLOUD_DIR = ".cloud"  # the cloud's own side: its private key, the access key, images, lock


def _moto_server_class() -> Any:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise WizardError(
            "the sandbox needs moto's server, which is not installed",
            INSTALL_HINT,
        ) from None
    return ThreadedMotoServer


@dataclass
class Sandbox:
    """A running embedded cloud and the folder describing it."""

    folder: Path
    eucarc: Path
    s3_url: str
    ec2_url: str
    access_key: str
    secret_key: str = field(repr=False)
    cloud_cert: Path
    cert: Path
    private_key: Path
    samples: dict[str, Path]
    proxy: PathProxy
    images: ImageTable
    checker: BundleChecker
    _server: Any = field(repr=False)
    _lock_fd: int = field(default=-1, repr=False)
    _stopped: bool = False

    @property
    def account(self) -> str:
        return ACCOUNT

    def environ(self) -> dict[str, str]:
        """The environment variables an eucarc would set (for child processes)."""
        return {
            "EC2_URL": self.ec2_url, "S3_URL": self.s3_url,
            "EC2_ACCESS_KEY": self.access_key, "EC2_SECRET_KEY": self.secret_key,
            "EC2_CERT": str(self.cert), "EC2_PRIVATE_KEY": str(self.private_key),
            "EUCALYPTUS_CERT": str(self.cloud_cert), "EC2_USER_ID": ACCOUNT,
            "AWS_DEFAULT_REGION": REGION,
        }

    def reset(self) -> None:
        """Forget every bucket, object, instance and image, keeping the server."""
        import http.client

        self.images.clear()
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.upstream_port, timeout=30)
        try:
            conn.request("POST", "/moto-api/reset")
            conn.getresponse().read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.proxy.stop()
        self.checker.stop()
        self._server.stop()
        _unlock(self._lock_fd)
        log.info("sandbox stopped")

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_sandbox(folder: Path | str | None = None, *, record: bool = False,
                  samples: bool = True, check_delay: float = 0.0) -> Sandbox:
    """Start moto and the path proxy on 127.0.0.1, and write the sandbox's folder.

    ``folder`` defaults to a new temporary folder; one used before keeps its
    keys, certificates and images. ``record`` keeps the proxy's wire log
    (tests). ``check_delay``: seconds each registered image stays pending
    before its bundle is checked (a real cloud takes its time). Raises
    WizardError when moto is not installed or the folder is in use.
    """
    server_class = _moto_server_class()
    target = Path(folder) if folder is not None else Path(
        tempfile.mkdtemp(prefix="euca-windows-wizard-sandbox-"))
    try:
        private_dir(target)
        private_dir(target / CLOUD_DIR)
    except OSError as exc:
        raise WizardError(f"cannot create the sandbox folder {target} ({exc.strerror})",
                          "choose a folder you can write for the sandbox",
                          key="sandbox.folder") from None
    if (target / CLOUD_DIR).is_symlink():  # the cloud's keys would land where it points
        raise WizardError(f"{target / CLOUD_DIR} is a symbolic link; the sandbox never "
                          "writes through a link", f"remove {target / CLOUD_DIR}",
                          key="sandbox.folder")
    lock_fd = _lock(target)
    try:
        return _start(target, server_class, lock_fd, record, samples, check_delay)
    except BaseException:
        _unlock(lock_fd)
        raise


def _start(target: Path, server_class: Any, lock_fd: int, record: bool, samples: bool,
           check_delay: float) -> Sandbox:
    # werkzeug would print a line per request on stderr, over the progress bar.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    identity = _identity(target)
    access_key, secret_key = identity["access_key"], identity["secret_key"]
    cloud_cert, cloud_key = target / "cloud-cert.pem", target / CLOUD_DIR / "cloud-pk.pem"
    cert, private_key = target / "euca2-sandbox-cert.pem", target / "euca2-sandbox-pk.pem"
    images = ImageTable(target / CLOUD_DIR / "images.json")
    server = server_class(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    checker: BundleChecker | None = None
    try:
        _, moto_port = server.get_host_and_port()
        store = MotoStore(int(moto_port))
        checker = BundleChecker(images, store, CloudKeys.load(ACCOUNT, cert, cloud_key),
                                delay=check_delay).start()
        front = ImageFront(images, store.read_manifest, ACCOUNT, on_register=checker.submit,
                           console=_moto_console(int(moto_port)))
        # Signatures are checked at the proxy, as a real cloud's front end does.
        proxy = PathProxy(int(moto_port), record=record,
                          secrets={access_key: secret_key}, front=front.answer).start()
    except BaseException:
        if checker is not None:
            checker.stop()
        server.stop()
        raise
    try:
        s3_url, ec2_url = proxy.url(S3_PATH), proxy.url(EC2_PATH)
        eucarc = target / "eucarc"
        write_atomic(eucarc, _eucarc_text(s3_url, ec2_url, access_key, secret_key,
                                          cert.name, private_key.name,
                                          cloud_cert.name).encode(), mode=0o600)
        made: dict[str, Path] = {}
        if samples:
            made["disk"] = make_sample_disk(target / "sample-disk.img")
            made["floppy"] = make_sample_floppy(target / "sample-floppy.img")
            if find_memdisk() is None:
                made["memdisk"] = make_sample_memdisk(target / "sample-memdisk")
            write_atomic(target / "SAMPLES-README.txt", _SAMPLES_README.encode())
    except BaseException:
        proxy.stop()
        checker.stop()
        server.stop()
        raise
    log.info("sandbox started: %s and %s, folder %s", s3_url, ec2_url, target)
    return Sandbox(target, eucarc, s3_url, ec2_url, access_key, secret_key, cloud_cert,
                   cert, private_key, made, proxy, images, checker, server, lock_fd)


def _moto_console(port: int) -> Callable[[str], str]:
    """An instance's console text as moto gives it (its sample), for the sandbox's front."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    # moto takes any key; the front has checked the caller's signature already.
    ec2 = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                       aws_access_key_id="sandbox-cloud",
                       aws_secret_access_key="sandbox-cloud",  # noqa: S106 - moto checks none
                       config=Config(retries={"max_attempts": 1}))

    def console(instance_id: str) -> str:
        try:
            return str(ec2.get_console_output(InstanceId=instance_id).get("Output") or "")
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise Refusal(str(error.get("Code") or "InvalidInstanceID.NotFound"),
                          str(error.get("Message") or instance_id)) from None

    return console


def _lock(folder: Path) -> int:
    """Hold the folder for this sandbox; refuse it while another sandbox runs there."""
    path = folder_lock_path(folder)
    try:
        # Never through a link planted there: the pid written below would
        # replace the bytes of whatever it points at.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise WizardError(f"the sandbox's lock file {path} is a symbolic link; the sandbox "
                          "never writes through a link",
                          f"remove {path} (the sandbox makes its own)",
                          key="sandbox.folder") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:  # a device, a hard link
        os.close(fd)
        raise WizardError(f"the sandbox's lock file {path} is not a file of its own",
                          f"remove {path} (the sandbox makes its own)", key="sandbox.folder")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise WizardError(
            f"the sandbox folder {folder} is in use by a running sandbox (pid {holder})",
            "stop that sandbox (Ctrl+C where it runs) or choose another folder for this one",
            key="sandbox.folder",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _unlock(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing the last descriptor releases the flock


def _identity(folder: Path) -> dict[str, str]:
    """The sandbox's keys and certificates: those of an earlier run, else new ones.

    Kept from run to run so that bundles made against the sandbox (wrapped
    for its cloud certificate, signed with its user key) stay valid.
    """
    record = folder / CLOUD_DIR / "identity.json"
    files = [folder / "cloud-cert.pem", folder / CLOUD_DIR / "cloud-pk.pem",
             folder / "euca2-sandbox-cert.pem", folder / "euca2-sandbox-pk.pem"]
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        known = json.loads(record.read_text())
        kept = {"access_key": str(known["access_key"]), "secret_key": str(known["secret_key"])}
        if all(path.is_file() for path in files):
            CloudKeys.load(ACCOUNT, files[2], files[1])  # still readable keys
            log.info("sandbox: keeping the keys and certificates in %s", folder)
            return kept
    _write_identity(folder, "cloud-cert.pem", f"{CLOUD_DIR}/cloud-pk.pem", "sandbox cloud")
    _write_identity(folder, "euca2-sandbox-cert.pem", "euca2-sandbox-pk.pem",
                    f"sandbox user {ACCOUNT}")
    made = {
        "access_key": "AKSANDBOX" + "".join(
            secrets.choice(string.ascii_uppercase + string.digits) for _ in range(11)),
        "secret_key": secrets.token_urlsafe(30),
    }
    write_atomic(record, json.dumps(made).encode(), mode=0o600)
    return made


def _write_identity(folder: Path, cert_name: str, key_name: str | None,
                    common_name: str) -> tuple[Path, Path | None]:
    """A self-signed RSA 2048 certificate (and its key, when ``key_name`` is given)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "euca-windows-wizard SANDBOX"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / cert_name
    write_atomic(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    key_path: Path | None = None
    if key_name is not None:
        key_path = folder / key_name
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
        write_atomic(key_path, pem, mode=0o600)
    return cert_path, key_path


def _eucarc_text(s3_url: str, ec2_url: str, access_key: str, secret_key: str,
                 cert: str, private_key: str, cloud_cert: str) -> str:
    return f"""\
# Throw-away credentials for the euca-windows-wizard SANDBOX: a local moto
# cloud on 127.0.0.1 that lives only while `euca-windows-wizard sandbox` runs.
# Not a real cloud; nothing sent here leaves this computer.
EUCA_KEY_DIR=$(cd $(dirname ${{BASH_SOURCE:-$0}}); pwd -P)
export EC2_URL={ec2_url}
export S3_URL={s3_url}
export EC2_PRIVATE_KEY=${{EUCA_KEY_DIR}}/{private_key}
export EC2_CERT=${{EUCA_KEY_DIR}}/{cert}
export EUCALYPTUS_CERT=${{EUCA_KEY_DIR}}/{cloud_cert}
export EC2_ACCOUNT_NUMBER='{ACCOUNT}'
export EC2_ACCESS_KEY='{access_key}'
export EC2_SECRET_KEY='{secret_key}'
export AWS_ACCESS_KEY='{access_key}'
export AWS_SECRET_KEY='{secret_key}'
export EC2_USER_ID='{ACCOUNT}'
export AWS_DEFAULT_REGION={REGION}
"""


_SAMPLES_README = """\
SAMPLE INPUTS made by `euca-windows-wizard sandbox`. They are NOT Windows.

sample-disk.img    an 8 MiB raw disk image: an MBR with one NTFS partition
                   whose root holds placeholder NTLDR, NTDETECT.COM, BOOT.INI
                   and NTBOOTDD.SYS, and a WINDOWS folder. Passes the disk
                   checks, bundles and uploads like a real image; boots nothing.
sample-floppy.img  a 1.44 MB FAT12 floppy with placeholder NTLDR,
                   NTDETECT.COM, BOOT.INI and NTBOOTDD.SYS (text, not
                   Microsoft's programs). Its BOOT.INI points at the sample
                   disk's partition 1, \\WINDOWS.
recipe.sh          the memdisk recipe on these samples, step by step.

The eucarc, cloud-cert.pem and euca2-sandbox-* beside them are throw-away
credentials for the local sandbox cloud only.
"""

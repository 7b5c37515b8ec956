"""The prerequisites table: each thing the recipe needs, found or not, and the fix.

``run_checks`` returns a list of ``CheckResult`` rows; the CLI's ``check``
prints them and the TUI shows the same rows, each as ``iter_checks`` yields
it (the tools answer at once, an endpoint can take seconds). A row is ``needed`` when the
chosen recipe cannot go on without it (make and nasm only when memdisk has
to be compiled, qemu-img only when the disk image is not raw); everything
the recipe needs being ``ok`` is what ``check`` exits 0 on.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import humanize

from wizard.bundle.keys import load_private_key
from wizard.core.choices import RECIPES
from wizard.core.distro import Distro, current_distro
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, Sink, discard
from wizard.core.logs import get_logger
from wizard.core.tools import find_c_compiler, find_tool
from wizard.credentials import FIELD_KEYS, FIELD_TITLES, Credentials, load_credentials
from wizard.disk.convert import convert_to_raw
from wizard.disk.formats import RAW, describe_format
from wizard.disk.inspect import conversion_command, inspect_disk, raw_name
from wizard.disk.report import DiskReport
from wizard.memdisk.find import MEMDISK_PLACES, find_memdisk
from wizard.prerequisites.certs import (
    CertificateInfo,
    key_matches,
    load_certificate,
)
from wizard.prerequisites.endpoints import probe_endpoint

log = get_logger(__name__)


# The credential values every recipe needs: keys and account for the
# manifest and the store, both URLs, the certificates for key wrapping
# (BUNDLE-FORMAT.md sections 2 and 5).
NEEDED_CREDENTIALS = ("access_key", "secret_key", "ec2_url", "s3_url", "cert",
                      "private_key", "user", "cloud_cert")
_OPTIONAL_CREDENTIALS = ("region", "ca_bundle")
_CREDENTIAL_FIX = ("download your credentials zip from the cloud's dashboard (or "
                   "euca-get-credentials) and give its eucarc")


@dataclass(frozen=True)
class CheckResult:
    """One row of the prerequisites table."""

    name: str
    ok: bool
    value: str
    fix: str | None = None
    # Whether the chosen recipe needs this (a missing optional tool is shown,
    # but does not fail the check).
    needed: bool = True
    # ok, but worth reading (a certificate near its end, an IDE install).
    warning: bool = False
    # The answer key of the input the fix is about (wizard.core.keys), if one.
    key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for a session's event log and state (status included)."""
        return {**asdict(self), "status": self.status}

    @property
    def status(self) -> str:
        """``ok``, ``warn``, ``FAIL`` (needed and missing) or ``-`` (not needed)."""
        if self.ok:
            return "warn" if self.warning else "ok"
        return "FAIL" if self.needed else "-"


def all_needed_ok(results: Sequence[CheckResult]) -> bool:
    """Whether the recipe can go on: every needed row is ok."""
    return all(result.ok for result in results if result.needed)


def run_checks(
    recipe: str = "memdisk",
    *,
    eucarc: Path | None = None,
    disk: Path | None = None,
    work_dir: Path | None = None,
    convert_to: Path | None = None,
    environ: Mapping[str, str] | None = None,
    ini_paths: Sequence[Path] | None = None,
    region: str | None = None,
    user: str | None = None,
    timeout: float = 3.0,
    path: str | None = None,
    sink: Sink = discard,
    cancel: CancelFlag | None = None,
    load: Callable[[], Credentials] | None = None,
) -> list[CheckResult]:
    """Check everything ``recipe`` needs; one ``CheckResult`` per row.

    ``convert_to``: convert a non-raw ``disk`` into this folder first (with
    progress on ``sink``) and inspect the raw result. ``path`` replaces PATH
    when looking for tools. ``load`` gathers the credentials when the caller
    has its own sources (the CLI's flags); otherwise ``eucarc``, ``environ``,
    ``ini_paths``, ``region`` and ``user`` are handed to ``load_credentials``.
    A row about one input carries its answer key (``CheckResult.key``).
    """
    return list(iter_checks(
        recipe, eucarc=eucarc, disk=disk, work_dir=work_dir, convert_to=convert_to,
        environ=environ, ini_paths=ini_paths, region=region, user=user, timeout=timeout,
        path=path, sink=sink, cancel=cancel, load=load))


def iter_checks(
    recipe: str = "memdisk",
    *,
    eucarc: Path | None = None,
    disk: Path | None = None,
    work_dir: Path | None = None,
    convert_to: Path | None = None,
    environ: Mapping[str, str] | None = None,
    ini_paths: Sequence[Path] | None = None,
    region: str | None = None,
    user: str | None = None,
    timeout: float = 3.0,
    path: str | None = None,
    sink: Sink = discard,
    cancel: CancelFlag | None = None,
    load: Callable[[], Credentials] | None = None,
) -> Iterator[CheckResult]:
    """The rows of ``run_checks``, each as soon as its check is done.

    For a live table (the TUI's Prerequisites screen): the tools answer at
    once, an endpoint can take seconds; the caller shows each row as it comes
    and may stop iterating between rows. An operator error (an unknown
    recipe, a disk image that cannot be read) is raised where it happens,
    after the rows before it.
    """
    if recipe not in RECIPES:
        raise WizardError(f"unknown recipe {recipe!r}", "choose the memdisk or the native recipe",
                          key="build.mode")
    distro = current_distro()
    yield from _logged(iter_memdisk_and_tools(recipe, distro, path))
    report: DiskReport | None = None
    if disk is not None:
        report = inspect_disk(disk, recipe)
        if report.format != RAW and convert_to is not None:
            raw = convert_to_raw(disk, convert_to, sink=sink, cancel=cancel)
            report = inspect_disk(raw, recipe)
    yield from _logged([check_qemu_img(report, distro, path)])
    yield from _logged([check_ntfs_reader()])
    if load is None:
        def load() -> Credentials:
            return load_credentials(
                {"region": region} if region else {}, environ=environ, eucarc=eucarc,
                ini_paths=ini_paths, region_name=region, user_name=user,
            )
    yield from _logged(iter_credentials(load, timeout))
    folder = convert_to or work_dir or _default_work_dir()
    yield from _logged([check_free_space(folder, report)])
    if report is not None:
        yield from _logged(disk_rows(report, convert_to))


def _logged(results: Iterable[CheckResult]) -> Iterator[CheckResult]:
    for result in results:
        # Values are already masked (secrets) or paths: safe for the log file.
        log.info("check %s: %s (%s)", result.name, result.status, result.value)
        yield result


def _default_work_dir() -> Path:
    # Where bundle writes when given no folder: the space that runs out there
    # is what counts (the state folder was measured while bundles went to /var/tmp).
    from wizard.bundle.request import default_bundle_base

    return default_bundle_base()


def _tool_row(name: str, title: str, distro: Distro, needed: bool, path: str | None,
              why: str) -> CheckResult:
    tool = find_c_compiler(path) if name == "cc" else find_tool(name, path)
    if tool is None:
        return CheckResult(title, False, f"not found ({why})",
                           distro.install_command([name]), needed)
    version = f"{tool.version} " if tool.version else ""
    return CheckResult(title, True, f"{version}at {tool.path}", None, needed)


def check_memdisk_and_tools(recipe: str, distro: Distro, path: str | None = None,
                            places: Iterable[Path] = MEMDISK_PLACES) -> list[CheckResult]:
    """memdisk, and make, nasm and a C compiler (needed only to compile it)."""
    return list(iter_memdisk_and_tools(recipe, distro, path, places))


def iter_memdisk_and_tools(recipe: str, distro: Distro, path: str | None = None,
                           places: Iterable[Path] = MEMDISK_PLACES) -> Iterator[CheckResult]:
    """The rows of ``check_memdisk_and_tools``, each tool's as soon as it answered."""
    info = find_memdisk(places)
    memdisk_needed = recipe == "memdisk"
    build_needed = memdisk_needed and info is None
    if info is not None:
        yield CheckResult("memdisk", True, f"{info.describe()} at {info.path}",
                          None, memdisk_needed)
    else:
        yield CheckResult(
            "memdisk", False, "no distribution memdisk found",
            f"{distro.install_command(['memdisk'])}, or build one from a syslinux release",
            memdisk_needed, key="build.syslinux_source")
    why = "needed to compile memdisk" if build_needed else "only to compile memdisk"
    yield _tool_row("make", "make", distro, build_needed, path, why)
    yield _tool_row("nasm", "nasm", distro, build_needed, path, why)
    yield _tool_row("cc", "C compiler", distro, build_needed, path, why)


def check_qemu_img(report: DiskReport | None, distro: Distro,
                   path: str | None = None) -> CheckResult:
    """qemu-img: needed only when the disk image is not raw yet."""
    needed = report is not None and report.format != RAW
    why = "needed to convert the disk image to raw" if needed else \
        "only to convert non-raw disk images"
    return _tool_row("qemu-img", "qemu-img", distro, needed, path, why)


def check_ntfs_reader() -> CheckResult:
    """pytsk3, which reads the NTFS volume inside the image (optional)."""
    try:
        import pytsk3
    except ImportError:
        return CheckResult("NTFS reader (pytsk3)", False,
                           "not installed: boot files on the disk cannot be checked",
                           "pip install pytsk3", needed=False)
    return CheckResult("NTFS reader (pytsk3)", True,
                       f"The Sleuth Kit {getattr(pytsk3, 'TSK_VERSION_STR', '')}".strip(),
                       needed=False)


def check_credentials(load: Callable[[], Credentials],
                      timeout: float = 3.0) -> list[CheckResult]:
    """Each credential value and its source; certificates; both endpoints."""
    return list(iter_credentials(load, timeout))


def iter_credentials(load: Callable[[], Credentials],
                     timeout: float = 3.0) -> Iterator[CheckResult]:
    """The rows of ``check_credentials``: the values at once, then each endpoint's."""
    try:
        creds = load()
    except WizardError as exc:
        yield CheckResult("credentials", False, exc.message, exc.fix or _CREDENTIAL_FIX,
                          key=exc.key or "cloud.eucarc")
        return
    shown = {name: (value, source) for name, value, source in creds.describe()}
    rows: list[CheckResult] = []
    for name in (*NEEDED_CREDENTIALS, *_OPTIONAL_CREDENTIALS):
        needed = name in NEEDED_CREDENTIALS
        value, source = shown[name]
        title = FIELD_TITLES[name]
        if creds.get(name) is None:
            try:
                creds.require(name)
                fix = None
            except WizardError as exc:
                fix = exc.fix
            rows.append(CheckResult(title, False, "not set", fix if needed else None, needed,
                                    key=FIELD_KEYS[name]))
        else:
            rows.append(CheckResult(title, True, f"{value} (from {source})", None, needed))
    rows += check_certificates(creds)
    yield from rows
    yield from iter_endpoints(creds, timeout)


def _cert_row(title: str, info: CertificateInfo, source: str) -> CheckResult:
    state = info.state()
    value = f"{state}, {info.dates()} ({info.subject})"
    if state in ("expired", "not yet valid"):
        return CheckResult(title, False, value,
                           f"get a new certificate (from {source}): " + _CREDENTIAL_FIX)
    return CheckResult(title, True, value, None, warning=state == "expiring")


def check_certificates(creds: Credentials) -> list[CheckResult]:
    """The user's certificate (dates), its key (matching), the cloud's certificate."""
    rows: list[CheckResult] = []
    cert_item, key_item, cloud_item = creds.cert, creds.private_key, creds.cloud_cert
    user_cert: CertificateInfo | None = None
    if cert_item is not None:
        try:
            user_cert = load_certificate(Path(cert_item.value), "your certificate")
            rows.append(_cert_row("certificate dates", user_cert, cert_item.source))
        except WizardError as exc:
            rows.append(CheckResult("certificate dates", False, exc.message,
                                    f"{exc.fix} (set by {cert_item.source})", key="cloud.cert"))
    if key_item is not None:
        try:
            key = load_private_key(Path(key_item.value))
            if user_cert is not None:
                if key_matches(user_cert, key):
                    rows.append(CheckResult("key matches certificate", True,
                                            f"yes ({key.key_size}-bit RSA)"))
                else:
                    rows.append(CheckResult(
                        "key matches certificate", False,
                        f"no: {key_item.value} is not the key of {user_cert.path}",
                        "use the -pk.pem and -cert.pem files from the same credentials zip",
                        key="cloud.private_key"))
        except WizardError as exc:
            rows.append(CheckResult("key matches certificate", False, exc.message,
                                    f"{exc.fix} (set by {key_item.source})",
                                    key="cloud.private_key"))
    if cloud_item is not None:
        try:
            cloud = load_certificate(Path(cloud_item.value), "the cloud's certificate")
            rows.append(_cert_row("cloud certificate", cloud, cloud_item.source))
        except WizardError as exc:
            rows.append(CheckResult("cloud certificate", False, exc.message,
                                    f"{exc.fix} (cloud-cert.pem; set by {cloud_item.source})",
                                    key="cloud.cloud_cert"))
    return rows


def check_endpoints(creds: Credentials, timeout: float = 3.0) -> list[CheckResult]:
    """Each of the EC2 and S3 endpoints: reachable, then a request signed with your keys."""
    return list(iter_endpoints(creds, timeout))


def iter_endpoints(creds: Credentials, timeout: float = 3.0) -> Iterator[CheckResult]:
    """The rows of ``check_endpoints``, each endpoint's as soon as it answered.

    Any HTTP answer to the plain request proves something listens (an
    unsigned request is refused by design), but not that it is the service
    or that it takes your keys: "HTTP 400" was marked ok. The signed request
    (DescribeAvailabilityZones, ListBuckets: what euca2ools' first commands
    send) must succeed for the row to be ok.
    """
    for name, title in (("ec2_url", "EC2 endpoint"), ("s3_url", "S3 endpoint")):
        item = getattr(creds, name)
        if item is None:
            continue
        probe = probe_endpoint(item.value, timeout=timeout, verify=creds.verify,
                               ca_bundle=creds.get("ca_bundle"))
        fix = probe.fix
        if not probe.ok and fix is None:
            where = f"port {probe.port} of {probe.host}" if probe.port else "the URL"
            fix = (f"check {item.value} (from {item.source}), that the cloud is up and "
                   f"that {where} can be reached from this machine")
        key = probe.key or FIELD_KEYS[name]
        if not probe.ok:
            yield CheckResult(title, False, f"{item.value}: {probe.detail}", fix, key=key)
            continue
        signed = signed_request(creds, "s3" if name == "s3_url" else "ec2")
        if signed is None:  # no keys to sign with: their own rows say so
            yield CheckResult(title, True, f"{item.value}: {probe.detail} (not signed: "
                              "no access key and secret key to sign with)", key=key)
            continue
        ok, said, signed_fix = signed
        yield CheckResult(title, ok, f"{item.value}: {said}", signed_fix, key=key)


def signed_request(creds: Credentials, service: str) -> tuple[bool, str, str | None] | None:
    """(ok, what happened, fix) of one request signed with the keys; None without keys.

    Tried once: the check says at once what is wrong (a refused key, the S3
    URL given as the EC2 one), in the words every cloud command uses.
    """
    if creds.get("access_key") is None or creds.get("secret_key") is None:
        return None
    from wizard.cloud.calls import RetryPolicy, call
    from wizard.cloud.endpoints import cloud_from_credentials

    action = "ListBuckets" if service == "s3" else "DescribeAvailabilityZones"
    started = time.monotonic()
    try:
        cloud = cloud_from_credentials(creds, services=(service,))
        endpoint = cloud.s3 if service == "s3" else cloud.ec2
        fn: Callable[[], object] = (cloud.s3_client().list_buckets if service == "s3"
                                    else cloud.ec2_client().describe_availability_zones)
        if endpoint is None:  # not reached: asked for above
            return None
        call(fn, what=f"send a signed {action}", endpoint=endpoint,
             policy=RetryPolicy(attempts=1), key_source=cloud.key_source,
             secret_source=cloud.secret_source)
    except WizardError as exc:
        return False, exc.message, exc.fix
    elapsed = (time.monotonic() - started) * 1000
    return True, f"a signed {action} succeeded in {elapsed:.0f} ms", None


def _existing(folder: Path) -> Path:
    """``folder`` or its nearest existing parent (the file system it will be on)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def space_needed(report: DiskReport) -> int:
    """Bytes the work folder needs: the bundle, plus the raw copy if not raw.

    A bundle's parts are compressed and so at most about the raw size; a
    conversion writes the raw disk as well (sparse, but count it whole).
    """
    return report.size * (1 if report.format == RAW else 2)


def check_free_space(folder: Path, report: DiskReport | None) -> CheckResult:
    """Free space in the work folder against what the disk image will take."""
    where = _existing(Path(folder))
    free = shutil.disk_usage(where).free
    shown = f"{humanize.naturalsize(free, binary=True)} free in {folder}"
    if report is None:
        return CheckResult("free space", True, shown + " (no disk image to compare with)",
                           needed=False)
    need = space_needed(report)
    value = f"{shown}, {humanize.naturalsize(need, binary=True)} needed"
    if free < need:
        return CheckResult("free space", False, value,
                           f"free {humanize.naturalsize(need - free, binary=True)} in "
                           f"{where}, or choose another work folder", key="build.work_dir")
    return CheckResult("free space", True, value)


def disk_rows(report: DiskReport, converted_into: Path | None = None) -> list[CheckResult]:
    """The disk image's format, partition, boot files, BOOT.INI, problems, warnings."""
    size = humanize.naturalsize(report.size, binary=True)
    rows: list[CheckResult] = []
    if report.format == RAW:
        rows.append(CheckResult("disk image", True, f"raw, {size} ({report.path})"))
    else:
        dest = (converted_into or Path("DIR")) / raw_name(report.path)
        rows.append(CheckResult(
            "disk image", False,
            f"{describe_format(report.format)}, {size} ({report.path}): not raw",
            f"convert it: run {conversion_command(report.path, report.format, dest)}, "
            "or have the check convert it into a folder you choose", key="build.convert_to"))
    system = report.system_partition
    if system is not None:
        active = "active" if system.active else "not active"
        rows.append(CheckResult(
            "Windows partition", True,
            f"partition {system.number}, NTFS, {active}, "
            f"{humanize.naturalsize(system.size, binary=True)}"))
    if report.boot_files:
        rows.append(CheckResult("boot files", True, ", ".join(report.boot_files)))
    if report.arc_paths:
        rows.append(CheckResult("BOOT.INI", True, "; ".join(report.arc_paths)))
    if report.needs_ntbootdd is not None:
        rows.append(CheckResult("floppy will hold", True, ", ".join(report.floppy_files)))
    if report.nt6:
        rows.append(CheckResult("Windows version", True, "NT 6 or later (BOOTMGR, no NTLDR)"))
    already = {row.value for row in rows}
    for text in report.problems:
        if report.format != RAW and "not raw" in text:
            continue  # the disk image row says it, with the fix
        if text not in already:
            # Each problem says what is wrong, then "; " and what to do.
            what, said, fix = text.rpartition("; ")
            rows.append(CheckResult("disk problem", False, what if said else text,
                                    fix if said else None, key="build.disk"))
    for text in report.warnings:
        rows.append(CheckResult("disk warning", True, text, warning=True))
    return rows

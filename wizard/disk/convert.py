"""Convert a qcow2/vmdk/vhd/vdi disk image to raw with ``qemu-img convert``.

The raw image is written in a private folder inside the work folder
(made exclusively, 0700, reached through its descriptor: no link planted in
the work folder redirects it) and renamed into place only when qemu-img
succeeded, so a cancelled or failed conversion never leaves a file that
looks finished. qemu-img's ``-p`` progress
("(12.34/100%)", redrawn with carriage returns) becomes ``StepProgress``
events in bytes of the raw disk, throttled to a few a second.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import humanize

from wizard.core.dirs import make_dirs
from wizard.core.distro import current_distro
from wizard.core.errors import WizardError
from wizard.core.events import (
    CancelFlag,
    LogLine,
    Sink,
    StepFailed,
    StepFinished,
    StepProgress,
    StepStarted,
    StepWarning,
    Throttle,
    discard,
)
from wizard.core.logs import get_logger
from wizard.core.tools import run_streaming
from wizard.disk.formats import RAW, describe_format, detect_format
from wizard.disk.inspect import raw_name

log = get_logger(__name__)

STEP = "convert"
_PERCENT = re.compile(r"\((\d+(?:\.\d+)?)/100%\)")


def convert_to_raw(
    image: Path,
    work_dir: Path,
    *,
    sink: Sink = discard,
    cancel: CancelFlag | None = None,
    timeout: float | None = None,
) -> Path:
    """The raw form of ``image`` in ``work_dir`` (``image`` itself if already raw).

    A raw file from an earlier conversion of the same image (newer than the
    image, of the right size) is reused: every step is idempotent.
    """
    image, work_dir = Path(image), Path(work_dir)
    fmt = detect_format(image)
    if fmt == RAW:
        return image
    # What can be known before the work starts is refused before it starts:
    # one message, no progress, nothing written.
    qemu_img = _qemu_img(fmt)
    total = readable_size(qemu_img, image, fmt)
    _make_work_dir(work_dir)
    dest = work_dir / raw_name(image)
    if (dest.exists() or dest.is_symlink()) and not _reusable(dest, image, total):
        # Never replace a file this conversion did not make: it may be the
        # operator's own raw disk of the same name.
        raise WizardError(
            f"{dest} already exists and is not a conversion of {image} (another size, "
            "older than the image, or not a raw disk)",
            f"move {dest} away, or give another folder for the raw copy",
            key="build.convert_to",
        )
    sink(StepStarted(STEP, f"Converting {image.name} to raw"))
    try:
        dest = _convert(qemu_img, image, fmt, total, work_dir, sink, cancel, timeout)
    except WizardError as exc:
        sink(StepFailed(STEP, exc.message, exc.fix, exc.key))
        raise
    sink(StepFinished(STEP, {"raw": str(dest), "from": str(image), "format": fmt}))
    return dest


def _qemu_img(fmt: str) -> str:
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        raise WizardError(
            f"converting the {describe_format(fmt)} image to raw needs qemu-img, "
            "not found on PATH",
            current_distro().install_command(["qemu-img"]),
        )
    return qemu_img


def _make_work_dir(work_dir: Path) -> None:
    if work_dir.exists() and not work_dir.is_dir():
        raise WizardError(f"the work folder {work_dir} is a file, not a folder",
                          "give a folder for the raw image (it is created if missing)",
                          key="build.convert_to")
    try:
        make_dirs(work_dir)
    except OSError as exc:
        raise WizardError(f"cannot create the work folder {work_dir} ({exc.strerror})",
                          "choose a writable folder", key="build.convert_to") from exc


def readable_size(qemu_img: str, image: Path, fmt: str) -> int:
    """The virtual size ``qemu-img info`` reads; WizardError when it cannot read it.

    A damaged header (a cut-short download, random bytes behind the magic)
    is refused here, with qemu-img's own words, rather than halfway through a
    conversion or with a size read from garbage.
    """
    try:
        result = subprocess.run(
            [qemu_img, "info", "--output=json", "-f", fmt, str(image)],
            capture_output=True, text=True, timeout=60, check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise WizardError(f"qemu-img info could not run on {image} ({exc})",
                          "check the qemu-img installation") from exc
    size = None
    if result.returncode == 0:
        try:
            size = json.loads(result.stdout).get("virtual-size")
        except (ValueError, AttributeError):
            size = None
    if not isinstance(size, int) or size <= 0:
        said = [line for line in result.stderr.splitlines() if line.strip()]
        why = said[-1].strip() if said else "it gave no size"
        raise WizardError(
            f"qemu-img cannot read {image} as a {describe_format(fmt)} image: {why}",
            "check that the image was copied whole (compare its size with the "
            "original), or convert it where it was made",
        )
    return size


def _convert(qemu_img: str, image: Path, fmt: str, total: int, work_dir: Path, sink: Sink,
             cancel: CancelFlag | None, timeout: float | None) -> Path:
    dest = work_dir / raw_name(image)
    if _reusable(dest, image, total):
        sink(LogLine(STEP, f"{dest} is already converted from {image.name}; reused"))
        return dest
    free = shutil.disk_usage(work_dir).free
    if free < total:
        # qemu-img writes raw files sparse, so an image with unused space may
        # still fit; say so rather than refuse.
        sink(StepWarning(STEP, f"{work_dir} has {_size(free)} free and the raw disk is "
                               f"{_size(total)}; the conversion may run out of space"))
    # qemu-img opens its output by name, and a name can be swapped for a link
    # by whoever else writes in the work folder: the raw image is made in a
    # folder of this run's own (mkdtemp: created exclusively, 0700), which
    # qemu-img reaches through the descriptor we hold, never by its name.
    private = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=work_dir))
    work_fd = os.open(work_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    private_fd = os.open(private, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    progress = Throttle(sink)

    def on_line(line: str) -> None:
        match = _PERCENT.search(line)
        if match is None:
            sink(LogLine(STEP, line))
            return
        done = int(total * float(match.group(1)) / 100)
        progress(StepProgress(STEP, done, total))

    try:
        result = run_streaming(
            [qemu_img, "convert", "-p", "-f", fmt, "-O", "raw", str(image),
             f"/proc/self/fd/{private_fd}/{dest.name}"],
            on_line=on_line, cancel=cancel, timeout=timeout, split_cr=True,
            pass_fds=(private_fd,),
        )
        if result.returncode != 0:
            last = " | ".join(line for line in result.last_lines
                              if not _PERCENT.fullmatch(line.strip())) or "no output"
            raise WizardError(
                f"qemu-img could not convert {image} to raw (exit status "
                f"{result.returncode}): {last}",
                f"check that {image} is a whole, readable {describe_format(fmt)} image and "
                f"that {work_dir} has room for {_size(total)}",
            )
        raw = os.open(dest.name, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=private_fd)
        try:
            os.fchmod(raw, 0o600)
            os.fsync(raw)
        finally:
            os.close(raw)
        os.replace(dest.name, dest.name, src_dir_fd=private_fd, dst_dir_fd=work_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dest.name, dir_fd=private_fd)
        with contextlib.suppress(OSError):
            os.rmdir(private.name, dir_fd=work_fd)  # only ever an empty folder
        os.close(private_fd)
        os.close(work_fd)
    progress(StepProgress(STEP, total, total))
    log.info("converted %s (%s) to %s", image, fmt, dest)
    return dest


def _size(n: int) -> str:
    return f"{humanize.naturalsize(n, binary=True)} ({n:,} bytes)"


def _reusable(dest: Path, image: Path, total: int) -> bool:
    if dest.is_symlink() or not dest.is_file():
        return False
    try:
        done, source = dest.stat(), image.stat()
    except OSError:
        return False
    return (done.st_size == total and done.st_mtime >= source.st_mtime
            and detect_format(dest) == RAW)

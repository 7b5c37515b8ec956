"""Compile memdisk from a syslinux release: extract, make, verify, copy.

For distributions without a packaged memdisk (or an operator who wants a
given syslinux version). The source is copied or extracted into a private
work folder first, so the operator's tree is never written to and a tarball
cannot drop files elsewhere (see ``extract``). make's output reaches the
sink line by line as ``LogLine`` events: the CLI prints them, the TUI shows
them in its log view. The result reaches OUT only once it has verified, by
an atomic rename, so a failed build leaves no OUT behind.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

from wizard.core.dirs import make_dirs, private_dir, state_dir
from wizard.core.distro import current_distro
from wizard.core.errors import WizardError
from wizard.core.events import (
    CancelFlag,
    LogLine,
    Sink,
    StepFailed,
    StepFinished,
    StepStarted,
    discard,
)
from wizard.core.files import atomic_writer
from wizard.core.logs import get_logger
from wizard.core.names import shown as shown_name
from wizard.core.tools import find_c_compiler, find_tool, run_streaming
from wizard.memdisk.extract import archive_mode, extract_release
from wizard.memdisk.verify import MemdiskInfo, verify_memdisk

log = get_logger(__name__)

STEP = "memdisk"
DEFAULT_TIMEOUT = 900.0
# Lines of make's output that a failure message repeats.
_TAIL = 8


def missing_build_tools(path: str | None = None) -> list[str]:
    """The tools a memdisk build needs that are not on PATH (make, nasm, cc)."""
    missing = [name for name in ("make", "nasm") if find_tool(name, path) is None]
    if find_c_compiler(path) is None:
        missing.append("cc")
    return missing


def _check_tools(path: str | None) -> None:
    missing = missing_build_tools(path)
    if missing:
        names = ", ".join("a C compiler" if name == "cc" else name for name in missing)
        raise WizardError(
            f"building memdisk needs {names}, not found on PATH",
            current_distro().install_command(missing),
        )


def find_memdisk_folder(tree: Path) -> Path:
    """The ``memdisk/`` folder (with its Makefile) at the top of a release."""
    candidates = [tree / "memdisk"]
    if tree.is_dir():
        candidates += sorted(child / "memdisk" for child in tree.iterdir() if child.is_dir())
    for candidate in candidates:
        if (candidate / "Makefile").is_file():
            return candidate
    raise WizardError(
        "the syslinux source has no memdisk/ folder with a Makefile",
        "give the top folder (or the tarball) of a syslinux release, e.g. syslinux-6.03",
    )


def _prepare_source(source: Path, build_dir: Path) -> Path:
    """Copy or extract ``source`` into ``build_dir``; return the tree's top."""
    tree = build_dir / "source"
    if source.is_dir():
        # Only the release itself is copied (a folder holding it may hold
        # much more). symlinks=True: a link stays a link; nothing is followed.
        top = find_memdisk_folder(source).parent
        copy = tree / (top.name or "syslinux")
        try:
            shutil.copytree(top, copy, symlinks=True)
        except OSError as exc:  # shutil.Error too: unreadable files, a full disk
            raise WizardError(f"cannot copy the syslinux source {top} ({exc})",
                              f"check its permissions and the free space of "
                              f"{build_dir.parent}", key="build.syslinux_source") from exc
        _refuse_links_out(copy, top)
    else:
        extract_release(source, tree)
    return tree


def _refuse_links_out(copy: Path, source: Path) -> None:
    """Refuse a copied tree holding a link that resolves outside it.

    make runs in the copy and writes through whatever its folders hold: a link
    in an unpacked release (``memdisk/out -> ~``) would have it write outside
    the work folder. The copy is checked, not the source, so nothing can
    change between the check and the build.
    """
    root = os.path.realpath(copy)
    for folder, dirs, files in os.walk(copy):  # followlinks=False: links are not entered
        for name in dirs + files:
            entry = os.path.join(folder, name)
            if not os.path.islink(entry):
                continue
            target = os.path.realpath(entry)
            if target != root and not target.startswith(root + os.sep):
                link = shown_name(os.path.relpath(entry, copy))
                raise WizardError(
                    f"the syslinux source {source} holds a link that leads outside it "
                    f"({link} -> {shown_name(os.readlink(entry))})",
                    "unpack a syslinux release afresh (or give its tarball): a release "
                    "holds no link out of its own folder", key="build.syslinux_source")


def check_inputs(source: Path, out: Path, timeout: float, path: str | None = None,
                 replace: bool = True) -> None:
    """Refuse what cannot make a build, before anything starts (WizardError).

    ``replace`` False refuses an ``out`` that is already there (the operator's
    file is not replaced unless asked).
    """
    source_fix = "give a syslinux release tarball or its unpacked folder"
    source_key = "build.syslinux_source"
    if not source.exists():
        raise WizardError(f"{source} does not exist", source_fix, key=source_key)
    if not (source.is_dir() or source.is_file()):
        raise WizardError(f"{source} is neither a file nor a folder (a device or FIFO?)",
                          source_fix, key=source_key)
    if source.is_dir():
        find_memdisk_folder(source)  # before anything is copied
    if source.is_file() and not _is_tarball(source):
        raise WizardError(f"{source} is not a tar archive (plain, gzip, bzip2 or xz)",
                          source_fix, key=source_key)
    if not math.isfinite(timeout) or timeout <= 0:
        raise WizardError(f"the timeout must be a positive number of seconds, not {timeout:g}",
                          f"give a time limit in seconds, e.g. {DEFAULT_TIMEOUT:g}",
                          key="build.timeout")
    if out.is_dir():
        raise WizardError(f"the output {out} is a folder",
                          f"give a file name for memdisk, e.g. {out / 'memdisk'}",
                          key="build.memdisk")
    if out.exists() and not out.is_file():
        raise WizardError(f"the output {out} exists and is not a regular file",
                          "give another path for memdisk", key="build.memdisk")
    if not replace and out.is_file():
        raise WizardError(f"{out} already exists; it is replaced only when you ask",
                          "ask for it to be replaced, or give another path for memdisk",
                          key="build.replace")
    if not out.parent.is_dir():
        raise WizardError(
            f"the folder of {out} does not exist",
            f"create {out.parent} or choose another path for memdisk", key="build.memdisk",
        )
    _check_tools(path)


def _is_tarball(source: Path) -> bool:
    try:
        return archive_mode(source) is not None
    except OSError:
        # Unreadable: the extraction says exactly what is wrong.
        return True


def _work_folder(work_dir: Path | None) -> Path:
    """The folder builds are made in, created if needed.

    The wizard's own folder is made private (0700). A folder the operator
    names is created if missing (each new level 0700) but never
    re-permissioned: it may be /tmp or a shared folder; the build folder
    inside it is private anyway.
    """
    try:
        if work_dir is None:
            return private_dir(state_dir() / "work")
        make_dirs(work_dir)
    except OSError as exc:
        where = work_dir if work_dir is not None else "the wizard's state folder"
        raise WizardError(f"cannot create the work folder {where} ({exc.strerror})",
                          "give a work folder you can write", key="build.work_dir") from exc
    if not work_dir.is_dir():
        raise WizardError(f"the work folder {work_dir} is not a folder",
                          "give a work folder", key="build.work_dir")
    return work_dir


def build_memdisk(
    source: Path,
    out: Path,
    *,
    work_dir: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sink: Sink = discard,
    cancel: CancelFlag | None = None,
    path: str | None = None,
    replace: bool = True,
) -> MemdiskInfo:
    """Build memdisk from ``source`` (tarball or folder) and write it to ``out``.

    ``replace`` False refuses an existing ``out`` before anything starts.

    ``path`` replaces PATH when looking for make, nasm and the compiler (and
    when running make), for callers that keep their own tool folders.
    """
    source, out = Path(source), Path(out)
    # Bad input is refused before the step starts: one message, no progress.
    check_inputs(source, out, timeout, path, replace)
    work = _work_folder(work_dir)
    try:
        # mkdtemp makes the build folder 0700: private, whatever ``work`` is.
        build_dir = Path(tempfile.mkdtemp(prefix="memdisk-build-", dir=work))
    except OSError as exc:
        raise WizardError(f"cannot create a build folder in {work} ({exc.strerror})",
                          "give a work folder you can write", key="build.work_dir") from exc
    try:
        # A tarball refused (a member that would land outside) is bad input
        # too: one message before the step starts.
        tree = _prepare_source(source, build_dir)
        sink(StepStarted(STEP, "Building memdisk"))
        try:
            info = _build(source, tree, out, work, timeout, sink, cancel, path)
        except WizardError as exc:
            sink(StepFailed(STEP, exc.message, exc.fix, exc.key))
            raise
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    sink(StepFinished(STEP, {"memdisk": str(out), "sha256": info.sha256,
                             "version": info.version}))
    return info


def _build(
    source: Path,
    tree: Path,
    out: Path,
    work: Path,
    timeout: float,
    sink: Sink,
    cancel: CancelFlag | None,
    path: str | None,
) -> MemdiskInfo:
    try:
        folder = find_memdisk_folder(tree)
        make = find_tool("make", path)
        assert make is not None  # _check_tools found it
        env = None if path is None else dict(os.environ, PATH=path)
        log.info("running make in %s", folder)
        sink(LogLine(STEP, f"make in {folder.relative_to(tree)}/"))
        result = run_streaming(
            [str(make.path)], cwd=folder, timeout=timeout, cancel=cancel,
            on_line=lambda line: sink(LogLine(STEP, line)), keep_lines=_TAIL, env=env,
        )
        if result.returncode != 0:
            last = " | ".join(result.last_lines) or "no output"
            fix = ("install what the error names, or try the distribution's memdisk "
                   "(euca-windows-wizard memdisk find)")
            # syslinux 6.x builds per firmware from the top folder (make bios),
            # and its release tarballs ship the result ready-made.
            shipped = folder.parent / "bios" / "memdisk" / "memdisk"
            if shipped.is_file():
                where = shipped.relative_to(tree)
                fix += (f", or use the memdisk this release ships ready-made: unpack "
                        f"{where} from {source.name} and check it with "
                        "euca-windows-wizard memdisk verify FILE")
            raise WizardError(
                f"make failed in memdisk/ with exit status {result.returncode}; "
                f"its last lines: {last}",
                fix,
            )
        built = folder / "memdisk"
        if not built.is_file():
            raise WizardError(
                "make finished but left no memdisk/memdisk file",
                "check that the source is a syslinux release (memdisk builds there)",
            )
        verify_memdisk(built)
        with atomic_writer(out, 0o644) as handle, open(built, "rb") as original:
            shutil.copyfileobj(original, handle)
        return verify_memdisk(out)
    except OSError as exc:
        raise WizardError(
            f"building memdisk failed: {exc.strerror or exc} ({exc.filename or out})",
            f"check the free space and permissions of {work} and {out.parent}",
        ) from exc

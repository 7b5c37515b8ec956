"""The steps before anything is bundled: prerequisites, memdisk, floppy.

- ``prerequisites``: the checks of ``wizard.prerequisites.checks`` that the
  mode needs (make, nasm and a C compiler only when memdisk is built from
  a syslinux release; the credentials, both endpoints, the certificates;
  the disk image; free space where the bundles go). Run every time: they
  are cheap, and what they look at (an expired certificate, a dead
  endpoint, free space) changes between runs.
- ``memdisk``: the memdisk file the answers name, verified, or one built
  from the syslinux release they name (``wizard.memdisk.build``); one built
  before from that very release, still whole, is reused (a memdisk built
  again is a new file, and the kernel bundled from it would look changed).
- ``floppy``: the boot floppy verified (``wizard.floppy.verify``), with the
  disk image for the cross-check (BOOT.INI's partition and folder exist).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wizard.core.dirs import make_dirs
from wizard.core.distro import current_distro
from wizard.core.errors import WizardError
from wizard.core.events import CancelFlag, LogLine, Sink, StepWarning
from wizard.core.files import write_atomic
from wizard.disk.inspect import inspect_disk
from wizard.disk.report import DiskReport
from wizard.floppy.verify import verify_floppy
from wizard.memdisk.build import build_memdisk
from wizard.memdisk.verify import MemdiskInfo, verify_memdisk
from wizard.prerequisites.checks import (
    CheckResult,
    check_credentials,
    check_free_space,
    check_memdisk_and_tools,
    check_ntfs_reader,
    check_qemu_img,
    disk_rows,
)
from wizard.recipe.context import StepContext
from wizard.recipe.fingerprint import fingerprint
from wizard.recipe.steps import Outputs, Step, step_sink


def keyed(error: WizardError, key: str | None) -> WizardError:
    """``error`` carrying the answer key it is about (unless it names one already)."""
    if error.key is None:
        error.key = key
    return error


class PrerequisitesStep(Step):
    every_run = True

    def __init__(self) -> None:
        super().__init__("prerequisites", "Check the tools, credentials and disk image")

    def run(self, ctx: StepContext, sink: Sink, cancel: CancelFlag) -> Outputs:
        build = ctx.answers.build
        distro = current_distro()
        rows: list[CheckResult] = []
        compile_memdisk = build.syslinux_source is not None
        for row in check_memdisk_and_tools(build.mode, distro):
            if row.name == "memdisk":
                continue  # the memdisk step takes the one the answers name
            rows.append(dataclasses.replace(row, needed=compile_memdisk))
        cancel.check()
        report = inspect_disk(build.disk, build.mode)
        rows.append(check_qemu_img(report, distro))
        rows.append(check_ntfs_reader())
        cancel.check()
        rows += check_credentials(lambda: ctx.credentials)
        rows.append(self.free_space(ctx, report))
        rows += disk_rows(report)
        for row in rows:
            text = f"{row.status:<4} {row.name}: {row.value}"
            sink(StepWarning(self.id, text) if row.warning else LogLine(self.id, text))
        failed = [row for row in rows if row.needed and not row.ok]
        if failed:
            listed = "; ".join(f"{row.name} ({row.value})" for row in failed)
            first = next((row.fix for row in failed if row.fix), None)
            raise keyed(WizardError(
                f"{len(failed)} prerequisite{'s are' if len(failed) > 1 else ' is'} not met: "
                f"{listed}", first or "see the check lines above"), failed[0].key)
        return {"checks": len(rows), "warnings": sum(1 for row in rows if row.warning),
                "disk_format": report.format, "disk_size": report.size}


    def free_space(self, ctx: StepContext, report: DiskReport) -> CheckResult:
        """Free space for the disk image's bundle: a warning only, once it is made.

        A session whose image bundle was made in an earlier run (and the disk
        not written to since) writes nothing that size again: resuming its
        upload must not need room for a second bundle. Should the bundle be
        made again after all, the bundler checks the space itself first.
        """
        row = check_free_space(ctx.answers.build.work_dir or ctx.folder, report)
        made = ctx.done_before.get("image.bundle", {}).get("image")
        if row.ok or made is None:
            return row
        try:
            unchanged = made == fingerprint(ctx.answers.build.disk, "the disk image")
        except WizardError:
            return row
        if not unchanged:
            return row
        return dataclasses.replace(
            row, ok=True, needed=False, warning=True,
            value=f"{row.value}, but the disk image's bundle is made already (an earlier run)")


class MemdiskStep(Step):
    """The kernel of the memdisk recipe: the given file verified, or built from syslinux."""

    def __init__(self) -> None:
        super().__init__("memdisk", "Get memdisk (the kernel that boots the floppy)")

    def inputs(self, ctx: StepContext) -> dict[str, Any]:
        build = ctx.answers.build
        if build.memdisk is not None:
            return {"memdisk": fingerprint(build.memdisk, "the memdisk file", "build.memdisk")}
        assert build.syslinux_source is not None
        return {"syslinux_source": fingerprint(build.syslinux_source, "the syslinux release",
                                               "build.syslinux_source")}

    def done(self, ctx: StepContext, recorded: Mapping[str, Any]) -> bool:
        try:
            info = verify_memdisk(Path(recorded["path"]))
        except (WizardError, KeyError):
            return False
        return info.sha256 == recorded.get("sha256")

    def run(self, ctx: StepContext, sink: Sink, cancel: CancelFlag) -> Outputs:
        build = ctx.answers.build
        if build.memdisk is not None:
            try:
                info = verify_memdisk(build.memdisk)
            except WizardError as exc:
                raise keyed(exc, "build.memdisk") from None
        else:
            assert build.syslinux_source is not None
            source = self.inputs(ctx)["syslinux_source"]
            earlier = self.built_before(ctx, source)
            if earlier is not None:
                sink(LogLine(self.id, f"reusing the memdisk built before from "
                             f"{build.syslinux_source} (unchanged since; sha256 "
                             f"{earlier.sha256[:16]}…)"))
            info = earlier or self.build(ctx, sink, cancel, source)
        sink(LogLine(self.id, f"{info.describe()} at {info.path}"))
        return {"path": str(info.path), "sha256": info.sha256, "version": info.version,
                "size": info.size}

    # What the memdisk in the work folder was built from: the release's
    # fingerprint and the file's sha256, beside it (it outlives a state file
    # set aside by a start over).
    RECORD = "memdisk.built.json"

    def built_before(self, ctx: StepContext, source: dict[str, Any]) -> MemdiskInfo | None:
        """The memdisk built earlier from this very release, still whole; None if none.

        Built again, memdisk is a new file (new times, new inode): the kernel
        bundled from it would look changed, so the kernel, and the image that
        names it, would be bundled and registered again for nothing.
        """
        try:
            record = json.loads((ctx.work_folder / self.RECORD).read_text(encoding="utf-8"))
            info = verify_memdisk(ctx.work_folder / "memdisk")
        except (OSError, ValueError, WizardError):
            return None
        if not isinstance(record, dict) or record.get("syslinux_source") != source \
                or record.get("sha256") != info.sha256:
            return None
        return info

    def build(self, ctx: StepContext, sink: Sink, cancel: CancelFlag,
              source: dict[str, Any]) -> MemdiskInfo:
        build = ctx.answers.build
        assert build.syslinux_source is not None
        make_dirs(ctx.work_folder)  # every new level 0700, not the last one only
        with contextlib.suppress(FileNotFoundError):
            (ctx.work_folder / self.RECORD).unlink()  # it says nothing of the new one
        try:
            info = build_memdisk(build.syslinux_source, ctx.work_folder / "memdisk",
                                 work_dir=ctx.work_folder, sink=step_sink(self.id, sink),
                                 cancel=cancel)
        except WizardError as exc:
            raise keyed(exc, "build.syslinux_source") from None
        record = {"syslinux_source": source, "sha256": info.sha256}
        write_atomic(ctx.work_folder / self.RECORD,
                     json.dumps(record, sort_keys=True).encode("utf-8"), 0o600)
        return info


class FloppyStep(Step):
    """The ramdisk of the memdisk recipe: the boot floppy, checked against the disk image."""

    def __init__(self) -> None:
        super().__init__("floppy", "Check the boot floppy")

    def inputs(self, ctx: StepContext) -> dict[str, Any]:
        build = ctx.answers.build
        assert build.floppy is not None
        return {"floppy": fingerprint(build.floppy, "the floppy image", "build.floppy"),
                "disk": fingerprint(build.disk, "the disk image", "build.disk")}

    def done(self, ctx: StepContext, recorded: Mapping[str, Any]) -> bool:
        # Its inputs unchanged (the runner compares them) is all there is to it.
        return bool(recorded.get("ready"))

    def run(self, ctx: StepContext, sink: Sink, cancel: CancelFlag) -> Outputs:
        build = ctx.answers.build
        assert build.floppy is not None
        disk = inspect_disk(build.disk, "memdisk")
        try:
            report = verify_floppy(build.floppy, disk)
        except WizardError as exc:
            raise keyed(exc, "build.floppy") from None
        for check in report.checks:
            sink(LogLine(self.id, f"{check.result.value:<7} {check.title}"
                         + (f": {check.detail}" if check.detail else "")))
        if not report.ready:
            first = report.failures[0]
            listed = "; ".join(f"{c.title} ({c.detail})" if c.detail else c.title
                               for c in report.failures)
            raise keyed(WizardError(f"the floppy image {build.floppy} is not ready: {listed}",
                                    first.fix or "see the check lines above"), "build.floppy")
        return {"path": str(build.floppy), "ready": True, "files": dict(report.files)}

"""The order of the steps for each mode, and their titles in the operator's words.

``step_infos(mode)`` needs no cloud and no answers: the TUI's Start screen
lists the steps with it before anything is chosen. ``build_steps(answers)``
gives the steps themselves, in the same order with the same ids and titles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wizard.core.errors import WizardError
from wizard.recipe.bundling import BundleStep
from wizard.recipe.inputs import FloppyStep, MemdiskStep, PrerequisitesStep
from wizard.recipe.sending import RegisterStep, UploadStep
from wizard.recipe.steps import Step, StepInfo

if TYPE_CHECKING:
    from wizard.session.answers import Answers

# The memdisk recipe (DESIGN.md, "The job"): memdisk is registered as the
# kernel, the floppy as the ramdisk, then the disk image carrying both ids.
MEMDISK_STEPS: tuple[StepInfo, ...] = (
    StepInfo("prerequisites", "Check the tools, credentials and disk image"),
    StepInfo("memdisk", "Get memdisk (the kernel that boots the floppy)"),
    StepInfo("floppy", "Check the boot floppy"),
    StepInfo("kernel.bundle", "Bundle memdisk as the kernel"),
    StepInfo("kernel.upload", "Upload the kernel"),
    StepInfo("kernel.register", "Register the kernel"),
    StepInfo("ramdisk.bundle", "Bundle the floppy as the ramdisk"),
    StepInfo("ramdisk.upload", "Upload the ramdisk"),
    StepInfo("ramdisk.register", "Register the ramdisk"),
    StepInfo("image.bundle", "Bundle the disk image"),
    StepInfo("image.upload", "Upload the disk image"),
    StepInfo("image.register", "Register the disk image"),
)

# The native recipe (Eucalyptus 3.x/4.x boot Windows themselves, BUNDLE-FORMAT.md
# section 4): the disk image alone, platform windows, HVM.
NATIVE_STEPS: tuple[StepInfo, ...] = (
    StepInfo("prerequisites", "Check the tools, credentials and disk image"),
    StepInfo("image.bundle", "Bundle the disk image"),
    StepInfo("image.upload", "Upload the disk image"),
    StepInfo("image.register", "Register the disk image (Windows, HVM)"),
)

_BY_MODE = {"memdisk": MEMDISK_STEPS, "native": NATIVE_STEPS}


def step_infos(mode: str) -> list[StepInfo]:
    """The ordered steps of ``mode`` ("memdisk" or "native")."""
    try:
        return list(_BY_MODE[mode])
    except KeyError:
        raise WizardError(f"there is no {mode!r} recipe",
                          "choose the mode memdisk or native") from None


def build_steps(answers: Answers) -> list[Step]:
    """The steps of the answers' mode, in order."""
    titles = {info.id: info.title for info in step_infos(answers.build.mode)}
    steps: list[Step] = [PrerequisitesStep()]
    if answers.build.mode == "memdisk":
        steps += [MemdiskStep(), FloppyStep()]
        for role in ("kernel", "ramdisk"):
            steps += [BundleStep(role, titles[f"{role}.bundle"]),
                      UploadStep(role, titles[f"{role}.upload"]),
                      RegisterStep(role, titles[f"{role}.register"])]
        steps += [BundleStep("image", titles["image.bundle"], with_ids=True),
                  UploadStep("image", titles["image.upload"]),
                  RegisterStep("image", titles["image.register"], with_ids=True)]
    else:
        steps += [BundleStep("image", titles["image.bundle"]),
                  UploadStep("image", titles["image.upload"]),
                  RegisterStep("image", titles["image.register"], native=True)]
    for step in steps:
        step.title = titles[step.id]
    return steps

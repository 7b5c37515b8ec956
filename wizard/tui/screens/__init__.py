"""The wizard's screens, one module each, in the recipe's order (``choices.SCREENS``)."""

from __future__ import annotations

from collections.abc import Callable

from wizard.tui.base import WizardScreen
from wizard.tui.screens.build import BuildScreen
from wizard.tui.screens.credentials import CredentialsScreen
from wizard.tui.screens.disk import DiskScreen
from wizard.tui.screens.floppy import FloppyScreen
from wizard.tui.screens.memdisk import MemdiskScreen
from wizard.tui.screens.prerequisites import PrerequisitesScreen
from wizard.tui.screens.start import StartScreen

SCREEN_CLASSES: dict[str, Callable[[], WizardScreen]] = {
    "start": StartScreen,
    "prerequisites": PrerequisitesScreen,
    "credentials": CredentialsScreen,
    "disk": DiskScreen,
    "memdisk": MemdiskScreen,
    "floppy": FloppyScreen,
    "build": BuildScreen,
}

"""The wizard's screens, one module each, in the recipe's order (``choices.SCREENS``).

Each screen's module is imported when the screen is first opened (or by the
app's preload thread once the first screen is drawn): the later screens
pull in the engine (boto3, cryptography) that the first one does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.tui.base import WizardScreen

# Screen name -> (module, class).
SCREEN_CLASSES: dict[str, tuple[str, str]] = {
    "start": ("wizard.tui.screens.start", "StartScreen"),
    "prerequisites": ("wizard.tui.screens.prerequisites", "PrerequisitesScreen"),
    "credentials": ("wizard.tui.screens.credentials", "CredentialsScreen"),
    "disk": ("wizard.tui.screens.disk", "DiskScreen"),
    "memdisk": ("wizard.tui.screens.memdisk", "MemdiskScreen"),
    "floppy": ("wizard.tui.screens.floppy", "FloppyScreen"),
    "build": ("wizard.tui.screens.build", "BuildScreen"),
}


def screen_class(name: str) -> type[WizardScreen]:
    module, cls = SCREEN_CLASSES[name]
    found: type[WizardScreen] = getattr(importlib.import_module(module), cls)
    return found


def import_all() -> None:
    for module, _ in SCREEN_CLASSES.values():
        importlib.import_module(module)

"""Find the files in ``assets/`` whether installed from a wheel or a checkout.

The wheel carries ``assets/`` as ``wizard/assets`` (see pyproject's
force-include); a source checkout has it beside ``wizard/``.
"""

from __future__ import annotations

from pathlib import Path

from wizard.core.errors import WizardError

_PACKAGE = Path(__file__).resolve().parent.parent


def assets_dir() -> Path:
    """The folder holding stylesheets, help texts and sample inputs."""
    for candidate in (_PACKAGE / "assets", _PACKAGE.parent / "assets"):
        if candidate.is_dir():
            return candidate
    raise WizardError(
        "the wizard's assets folder is missing from this installation",
        "reinstall euca-windows-wizard with pip",
    )


def asset_path(*parts: str) -> Path:
    """The path of one asset, e.g. ``asset_path("help", "floppy.md")``."""
    path = assets_dir().joinpath(*parts)
    if not path.exists():
        raise WizardError(
            f"the asset {'/'.join(parts)} is missing from this installation",
            "reinstall euca-windows-wizard with pip",
        )
    return path

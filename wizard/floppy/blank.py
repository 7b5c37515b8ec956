"""The blank floppy image: 2880 sectors of 512 zero bytes, as `dd` would make it.

It is deliberately left unformatted: the file system and the boot sector
must come from Windows (BUNDLE-FORMAT.md section 6), so an image the wizard
formatted itself could only mislead.
"""

from __future__ import annotations

from pathlib import Path

from wizard.core.errors import WizardError
from wizard.core.files import write_atomic
from wizard.floppy.fat12 import FLOPPY_SIZE

# The input the floppy image is, for errors (wizard.core.keys).
KEY = "build.floppy"


def create_blank(path: Path, force: bool = False) -> Path:
    """Write a blank 1.44 MB image at ``path``; returns its absolute path.

    An existing file is replaced only with ``force``, and then atomically: a
    formatted floppy is never left half-overwritten.
    """
    path = Path(path).expanduser().absolute()
    if path.is_dir():
        raise WizardError(f"{path} is a folder", "give a file name for the floppy image, "
                          f"e.g. {path / 'win-boot.img'}", key=KEY)
    if not path.parent.is_dir():
        raise WizardError(f"the folder {path.parent} does not exist",
                          "create it first, or give another path", key=KEY)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        # Replacing (force) renames over the name over the name: a link would be replaced
        # by a file (not its target written), and a device such as /dev/null
        # or a FIFO would be swapped for a file. Neither is what was meant.
        kind = "a symbolic link" if path.is_symlink() else "not a regular file"
        raise WizardError(f"{path} is {kind}, so it is not replaced, even when told to",
                          "give the path of a new or existing image file", key=KEY)
    if path.exists() and not force:
        raise WizardError(f"{path} already exists",
                          "give another path, or say to replace it with a blank image",
                          key="build.replace")
    try:
        write_atomic(path, bytes(FLOPPY_SIZE))
    except OSError as exc:
        raise WizardError(f"cannot write {path} ({exc.strerror})",
                          "check the folder's permissions and free space") from exc
    return path

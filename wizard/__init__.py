"""euca-windows-wizard: from a Windows disk image to a registered cloud image.

The package is laid out as the recipe: ``credentials``, ``prerequisites``,
``memdisk``, ``floppy``, ``bundle`` and ``cloud`` (upload, register, the
sandbox) form the headless engine, which never imports Textual; ``cli`` and
``tui`` are the two faces that drive it. ``core`` holds what every layer
shares: errors, progress events, folders, logging and atomic files.
"""

__version__ = "0.1.0"
PROGRAM = "euca-windows-wizard"

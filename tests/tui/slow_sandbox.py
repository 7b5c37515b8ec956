"""A sandbox cloud whose store is slow to take the disk image's part: a build
is still uploading while a test quits the wizard, hangs it up and relaunches it.

``python -m tests.tui.slow_sandbox FOLDER SECONDS``: the sandbox of
``wizard.cloud.sandbox`` in FOLDER, with each PUT of a part of the disk image
(``NAME-image.part.N``) held SECONDS by the path proxy (a real delay on the wire) the first
two times. It writes FOLDER/pid the way the wizard's own sandbox process
does (``wizard.tui.sandbox_host``), so a ``--sandbox`` wizard uses it, and
serves until SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from wizard.cloud.sandbox import start_sandbox


def main(folder: Path, seconds: float) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    with start_sandbox(folder) as sandbox:
        sandbox.proxy.inject(
            "delay", lambda method, path: method == "PUT" and "image.part." in path,
            times=2, seconds=seconds)
        (folder / "pid").write_text(f"{os.getpid()}\n")
        print("Serving until Ctrl+C.", flush=True)
        stop.wait()


if __name__ == "__main__":
    main(Path(sys.argv[1]), float(sys.argv[2]))

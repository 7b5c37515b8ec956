"""Saved sessions with fixed states and times, as the engine leaves them on disk:
for the Start screen's tests and snapshots (``python -m tests.tui.saved_sessions``
plants them under $XDG_STATE_HOME to look at them in tmux)."""

from __future__ import annotations

import json
import os
import time

from wizard.session.store import SessionPaths, claim_session, write_session_file

ANSWERS = """[cloud]
eucarc = "/home/op/.euca/eucarc"

[build]
name = "{name}"
bucket = "{name}-images"
arch = "i386"
mode = "{mode}"
disk = "/srv/images/{name}.img"
"""

MEMDISK_DONE = ("prerequisites", "memdisk", "floppy", "kernel.bundle", "kernel.upload",
                "kernel.register")


def plant(name: str, mode: str, steps: dict[str, str], age: float) -> SessionPaths:
    """A session ``name`` whose state file says ``steps`` (id -> status), last
    changed ``age`` seconds ago (every file's time and each step's)."""
    paths = claim_session(name)
    at = time.time() - age
    write_session_file(paths.answers, ANSWERS.format(name=name, mode=mode))
    if steps:
        state = {"version": 1, "steps": {
            step: {"status": status, "outputs": {}, "inputs": {}, "updated": at,
                   "generation": 1} for step, status in steps.items()}}
        write_session_file(paths.state, json.dumps(state))
    for path in (paths.answers, paths.state, paths.folder):
        if path.exists():
            os.utime(path, (at, at))
    return paths


def plant_all() -> list[SessionPaths]:
    """Four sessions: one interrupted in the ramdisk's bundle, a failed native
    one, one done, one new with a long name."""
    day = 86_400.0
    return [
        plant("winxp-sp3-lab", "memdisk",
              {**dict.fromkeys(MEMDISK_DONE, "done"), "ramdisk.bundle": "interrupted"},
              3 * day),
        plant("win2012r2", "native", {"prerequisites": "done", "image.bundle": "failed"},
              5 * day),
        plant("win2003-web", "memdisk", dict.fromkeys(
            (*MEMDISK_DONE, "ramdisk.bundle", "ramdisk.upload", "ramdisk.register",
             "image.bundle", "image.upload", "image.register"), "done"), 9 * day),
        plant("windows-server-2003-enterprise-edition-r2-sp2", "memdisk", {}, 12 * day),
    ]


if __name__ == "__main__":
    for paths in plant_all():
        print(paths.folder)

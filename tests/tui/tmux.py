"""A private tmux server for the wizard's pseudo-terminal tests: one session a wizard.

Its own socket (``tmux -L``), so the tests never touch another tmux server
or session, and ``kill_server`` at the end ends only its own. Each session
runs a command in an 80x24 terminal and, once it ends, prints its exit
status and the terminal's modes, then waits: the test reads them from the
pane (``capture-pane``) and from tmux's own view of the terminal (is the
alternate screen or mouse reporting still on?).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# After the wizard: its status, then the stty flags that say the terminal is
# back in line mode ("-icanon" would mean still raw).
AFTER = ("; echo EXIT $?; stty -a | tr ' ' '\\n' | grep -E '^-?(icanon|echo|isig)$' "
         "| tr '\\n' ' '; echo; sleep 600")

# tmux's view of the terminal the program left: all 0 once it is given back.
MODES = ("alternate_on", "mouse_any_flag", "mouse_button_flag", "mouse_standard_flag",
         "mouse_sgr_flag", "mouse_all_flag")


class Tmux:
    """A private tmux server (its own socket), one session a wizard."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket, self.env = socket, env

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True,
                              capture_output=True, text=True, timeout=30).stdout

    def start(self, name: str, command: str, env: dict[str, str] | None = None) -> None:
        """Run ``command`` in a new 80x24 session ``name``; its status and the terminal's
        modes are printed when it ends."""
        exports = " ".join(f"{k}={shlex.quote(v)}"
                           for k, v in {**self.env, **(env or {})}.items())
        script = f"cd {shlex.quote(str(ROOT))}; env {exports} {command}{AFTER}"
        self.run("new-session", "-d", "-s", name, "-x", "80", "-y", "24",
                 f"sh -c {shlex.quote(script)}")

    def screen(self, name: str, joined: bool = False) -> str:
        """The pane's text; ``joined``: lines the terminal wrapped are joined again."""
        return self.run("capture-pane", "-p", *(["-J"] if joined else []), "-t", name)

    def keys(self, name: str, *keys: str) -> None:
        self.run("send-keys", "-t", name, *keys)

    def wait_for(self, name: str, text: str, seconds: float = 60) -> str:
        """The screen once it shows ``text``; AssertionError with the screen if it never does."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shown = self.screen(name)
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never shown; the screen:\n{self.screen(name)}")

    def pane_pid(self, name: str) -> int:
        return int(self.run("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def program_pid(self, name: str, seconds: float = 30) -> int:
        """The pid of the program the session's shell runs (the wizard)."""
        shell = self.pane_pid(name)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = subprocess.run(["pgrep", "-P", str(shell)], capture_output=True,
                                   text=True).stdout.split()
            if found:
                return int(found[0])
            time.sleep(0.1)
        raise AssertionError(f"no program running in the tmux session {name}")

    def modes(self, name: str) -> dict[str, str]:
        """tmux's flags for the pane: alternate screen, mouse reporting."""
        shown = self.run("display-message", "-p", "-t", name,
                         " ".join(f"#{{{mode}}}" for mode in MODES)).split()
        return dict(zip(MODES, shown, strict=True))

    def kill_session(self, name: str) -> None:
        """What an SSH drop does to the terminal: tmux hangs up the session's processes."""
        self.run("kill-session", "-t", name)

    def kill_server(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=30)


def wizard_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a wizard under test: its own state folder, HOME and PATH."""
    return {"PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "HOME": str(tmp_path), "TERM": "xterm-256color", "PATH": os.environ["PATH"]}


def process_gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its new parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"

"""Builds that outlive the terminal: start one detached, stop one, warn about logout.

A detached build is a new process of its own (``subprocess.Popen`` with
``start_new_session=True``, never a fork of a process that has threads):
no controlling terminal, so an SSH drop sends it no SIGHUP; stdin from
/dev/null; stdout and stderr to the session's log. The child runs
``run --session NAME --yes`` and holds the session's lock for its whole
life, so whoever started it can go away at once.

Where systemd-logind kills a user's processes at logout
(``KillUserProcesses=yes``), a detached build dies with the SSH session
anyway: ``linger_warning`` says so and gives the fix
(``loginctl enable-linger``).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from wizard import PROGRAM
from wizard.core.errors import WizardError
from wizard.core.events import StepFailed
from wizard.session.eventlog import tail_events
from wizard.session.lock import running_pid
from wizard.session.store import open_session

# How long the starter waits for the child to take the lock: Python's start
# and the engine's imports, on a loaded machine.
START_TIMEOUT = 60.0
_POLL = 0.05
# The end of the event log read for a build's own failure (its last lines).
_FAILURE_TAIL = 1024 * 1024


def refuse_if_running(name: str) -> None:
    """A WizardError naming the process if a build of ``name`` is running."""
    paths = open_session(name)
    pid = running_pid(paths.lock)
    if pid is not None:
        who = f"process {pid}" if pid else "another process"
        raise WizardError(
            f"session {name!r} is being built by {who} right now",
            f"follow it with `{PROGRAM} attach {name}`, or stop it with "
            f"`{PROGRAM} sessions stop {name}` and run again")


def _log_tail(path: Path, lines: int = 3) -> str:
    with contextlib.suppress(OSError):
        text = path.read_bytes()[-4096:].decode("utf-8", "replace")
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " / ".join(kept[-lines:])
    return ""


def _last_seq(events: Path) -> int:
    """The seq of the event log's last event (0 for none)."""
    stamps = tail_events(events, _FAILURE_TAIL)
    return stamps[-1].seq if stamps else 0


def _last_failure(events: Path, after: int) -> StepFailed | None:
    """This build's failure: the last event of the log, written after seq ``after``.

    Read from the end of the log: a long history (a session that ran for
    hours) comes before it, and reading from the start would stop short."""
    stamps = tail_events(events, _FAILURE_TAIL)
    if stamps and stamps[-1].seq > after and isinstance(stamps[-1].event, StepFailed):
        return stamps[-1].event
    return None


def start_detached(name: str, extra: list[str] | None = None,
                   secret_key: str | None = None) -> int:
    """Start the build of session ``name`` as a detached process; its pid.

    Returns once the child holds the session's lock (so ``attach`` and
    ``sessions`` see it running at once), or has ended well; a child that
    failed before it was seen running is a WizardError quoting the end of
    its log. Blocks a second or two (Python's start): a TUI calls it from a
    worker thread.
    ``extra``: more arguments for ``run`` (``--start-over``). ``secret_key``:
    one the operator gave (the TUI's field, an answers file): it reaches the
    build in its environment (``EC2_SECRET_KEY``, readable by this user only),
    never on its command line or in the session's files.
    """
    paths = open_session(name)
    refuse_if_running(name)
    before = _last_seq(paths.events)
    command = [sys.executable, "-m", "wizard", "run", "--session", name, "--yes",
               *(extra or [])]
    log_fd = os.open(paths.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                     | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(log_fd, 0o600)
        os.write(log_fd, f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} detached build: "
                         f"{' '.join(command[1:])}\n".encode())
        env = dict(os.environ)
        if secret_key:
            env["EC2_SECRET_KEY"] = secret_key
        child = subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL,
                                 stdout=log_fd, stderr=subprocess.STDOUT, close_fds=True,
                                 env=env)
    finally:
        os.close(log_fd)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if running_pid(paths.lock) == child.pid:
            break
        if child.poll() is not None:
            if child.returncode == 0:
                break  # all done already (every step reused): attach shows it
            failed = _last_failure(paths.events, before)
            if failed is not None:
                # A build that failed at once (a disk image that is not there):
                # its own error, with the answer key a face focuses.
                raise WizardError(failed.message, failed.fix, key=failed.key)
            tail = _log_tail(paths.log)
            raise WizardError(
                f"the detached build of {name!r} ended at once (exit status "
                f"{child.returncode}){': ' + tail if tail else ''}",
                f"see its log {paths.log} (or `{PROGRAM} attach {name}`), correct the "
                "cause and start it again")
        time.sleep(_POLL)
    # A starter that lives on (the TUI) reaps the child when it ends; the CLI
    # exits first and leaves that to init.
    threading.Thread(target=child.wait, name=f"reap-{name}", daemon=True).start()
    return child.pid


def stop_build(name: str) -> bool:
    """Ask the running build of ``name`` to stop (SIGTERM to the lock's holder).

    The build stops as after Ctrl+C: the step in flight cleans up and is
    recorded as interrupted; ``run --session NAME`` resumes it. False when no
    build of ``name`` is running.
    """
    paths = open_session(name)
    pid = running_pid(paths.lock)
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False  # it ended in between
    return True


def wait_stopped(name: str, timeout: float) -> bool:
    """Wait until no build of ``name`` holds the lock; False if one still does."""
    paths = open_session(name)
    deadline = time.monotonic() + timeout
    while running_pid(paths.lock) is not None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


# logind.conf and its drop-ins, in the order systemd reads them (later wins):
# the main file, then every *.conf of the .d folders sorted by file name.
_CONF = "etc/systemd/logind.conf"
_DROPIN_DIRS = ("etc/systemd/logind.conf.d", "run/systemd/logind.conf.d",
                "usr/local/lib/systemd/logind.conf.d", "usr/lib/systemd/logind.conf.d")


def _login_settings(root: Path) -> dict[str, str]:
    """The [Login] settings of logind's configuration under ``root``."""
    files = [root / _CONF]
    dropins: dict[str, Path] = {}
    for folder in _DROPIN_DIRS:
        with contextlib.suppress(OSError):
            for entry in sorted((root / folder).iterdir()):
                # /etc overrides /run overrides /usr for the same file name.
                if entry.name.endswith(".conf") and entry.name not in dropins:
                    dropins[entry.name] = entry
    files += [dropins[key] for key in sorted(dropins)]
    settings: dict[str, str] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        section = ""
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
            elif section == "Login" and "=" in line:
                key, value = line.split("=", 1)
                settings[key.strip()] = value.strip()
    return settings


def _yes(value: str) -> bool:
    return value.lower() in ("1", "yes", "y", "true", "t", "on")


def _systemd_default_kills(root: Path) -> bool | None:
    """logind's effective KillUserProcesses over D-Bus (the build's default included);
    None when it cannot be asked (no busctl, no logind)."""
    busctl = shutil.which("busctl")
    if root != Path("/") or busctl is None:
        return None
    try:
        result = subprocess.run(
            [busctl, "get-property", "org.freedesktop.login1", "/org/freedesktop/login1",
             "org.freedesktop.login1.Manager", "KillUserProcesses"],
            capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    words = result.stdout.split()
    if result.returncode != 0 or len(words) != 2 or words[0] != "b":
        return None
    return words[1] == "true"


def _lingers(root: Path, user: str) -> bool:
    """Whether ``user`` has lingering on (logind keeps their processes after logout)."""
    # enable-linger creates this file; loginctl reports the same flag.
    if (root / "var/lib/systemd/linger" / user).exists():
        return True
    loginctl = shutil.which("loginctl")
    if root != Path("/") or loginctl is None:
        return False
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run([loginctl, "show-user", user, "--property=Linger"],
                                capture_output=True, text=True, timeout=5,
                                stdin=subprocess.DEVNULL)
        return result.stdout.strip() == "Linger=yes"
    return False


def _user() -> str:
    with contextlib.suppress(KeyError, OSError):
        return pwd.getpwuid(os.getuid()).pw_name
    return getpass.getuser()


def linger_warning(root: Path = Path("/"), user: str | None = None) -> str | None:
    """The warning to give when logging out would kill a detached build; None if it would not.

    ``root``: where to read logind's configuration (a test's tree; "/" on a
    real system, where logind itself is asked first).
    """
    user = user or _user()
    if not (root / "run/systemd/system").is_dir():
        return None  # systemd is not the init here: nothing kills at logout
    settings = _login_settings(root)
    kills = _systemd_default_kills(root)
    if kills is None:
        kills = _yes(settings.get("KillUserProcesses", "no"))
    if not kills:
        return None
    excluded = settings.get("KillExcludeUsers", "root").split()
    only = settings.get("KillOnlyUsers", "").split()
    if user in excluded or (only and user not in only):
        return None
    if _lingers(root, user):
        return None
    return (f"systemd-logind here kills your processes when you log out "
            f"(KillUserProcesses=yes): a detached build would stop with your SSH session. "
            f"Fix: run `loginctl enable-linger {user}` once (or keep a tmux or screen "
            f"session open), then start the build")

"""Logging: one log file per run, full detail; the console only when asked.

The log file holds everything (DEBUG), including tracebacks of unexpected
errors, so a one-line error can point there. Secrets never reach it: code
logs paths of credential files, never their contents, and ``mask`` hides
keys that must be named. The log is never written through a link (issue 9):
a link planted at ``--log-file`` or under a run log's name is refused, not
followed, and only the log file itself is made 0600.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import stat
import time
from io import TextIOWrapper
from pathlib import Path

from wizard.core.dirs import log_dir, private_dir
from wizard.core.errors import WizardError

LOGGER_NAME = "wizard"


def mask(secret: str | None) -> str:
    """Show enough of a secret to recognise it, never enough to use it."""
    if not secret:
        return "(not set)"
    if len(secret) <= 8:
        return "*" * len(secret)
    return f"{secret[:4]}…{secret[-2:]}"


# The user log folder keeps the newest run logs only: at most KEEP_LOGS of
# them, none older than KEEP_DAYS (an hour of trying left 84 files before).
KEEP_LOGS = 20
KEEP_DAYS = 30
_RUN_LOG = re.compile(r"run-\d{8}-\d{6}-\d+(?:-\d+)?\.log")


def _new_run_log(folder: Path) -> Path:
    """``run-DATE-TIME-PID.log``, with ``-N`` when a run of this process this second has it.

    Two runs in one process within a second (the tests' in-process CLI, a
    wizard that runs several commands) would otherwise want the same name,
    which ``open_log`` refuses (O_EXCL: never a file that was there).
    """
    stem = f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    candidate = folder / f"{stem}.log"
    number = 1
    # Only a plain file (an earlier run's log) moves the name on: a link or
    # anything else planted there is left for open_log to refuse, loudly.
    while candidate.is_file() and not candidate.is_symlink() and number < 1000:
        number += 1
        candidate = folder / f"{stem}-{number}.log"
    return candidate


def prune_logs(folder: Path, keep: int = KEEP_LOGS, days: float = KEEP_DAYS,
               current: Path | None = None) -> list[Path]:
    """Remove the run logs of ``folder`` beyond the newest ``keep`` or older than ``days``.

    Only files this program names (``run-YYYYMMDD-HHMMSS-PID.log``) are
    touched, never ``current`` or anything else there. Returns what was removed.
    """
    try:
        entries = [entry for entry in os.scandir(folder)
                   if _RUN_LOG.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)]
    except OSError:
        return []
    dated = sorted(((entry.stat(follow_symlinks=False).st_mtime, Path(entry.path))
                    for entry in entries), reverse=True)
    cutoff = time.time() - days * 86400
    removed: list[Path] = []
    for rank, (mtime, path) in enumerate(dated):
        if path == current or (rank < keep and mtime >= cutoff):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def setup_logging(verbosity: int = 0, log_file: Path | None = None) -> Path:
    """Send the ``wizard`` logger to a new log file (and stderr with -v).

    Returns the log file's path. A new file in the user log folder makes
    room first: older run logs are pruned (``prune_logs``).
    """
    pruned: list[Path] = []
    new = log_file is None
    if log_file is None:
        log_file = _new_run_log(log_dir())
        private_dir(log_file.parent)
        pruned = prune_logs(log_file.parent, keep=KEEP_LOGS - 1, current=log_file)
    private_dir(log_file.parent)
    # Opened before the old handlers go: a refused log file leaves them as they were.
    file_handler = _LogFile(log_file, open_log(log_file, new=new))
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logger.addHandler(file_handler)
    if verbosity > 0:
        console = _ConsoleHandler()
        console.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
        console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        console.addFilter(lambda record: getattr(record, "console", True))
        logger.addHandler(console)
    if pruned:
        logger.debug("removed %d old run logs from %s (keeping the newest %d, none older "
                     "than %d days)", len(pruned), log_file.parent, KEEP_LOGS, KEEP_DAYS)
    return log_file


def open_log(path: Path, *, new: bool) -> int:
    """A descriptor appending to the log file ``path``, which is then mode 0600.

    A link at ``path`` is refused, never followed (O_NOFOLLOW), and so is
    anything but a file with one name (a device, a FIFO, a hard link): the
    log and its mode 0600 are only ever for the log file itself. ``new``
    (the run logs the program names): created here and now (O_EXCL); one
    already there under this process's name is used only if it is this
    user's plain file (logging set up twice in one second).
    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | (os.O_EXCL if new else 0), 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EEXIST and path.is_symlink()):
            raise WizardError(f"the log file {path} is a symbolic link; the log is never "
                              "written through a link",
                              "give the path of the file itself, or remove the link") from None
        if exc.errno != errno.EEXIST:
            raise
        # This process's own log of the same second (logging set up again,
        # as tests do); the checks below refuse anything else.
        fd = os.open(path, flags, 0o600)
    try:
        info = os.fstat(fd)
        if new and info.st_uid != os.geteuid():
            raise WizardError(f"the new log file {path} was there already, made by another "
                              "user", f"remove {path} and run again")
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            what = ("has other names (hard links)" if stat.S_ISREG(info.st_mode)
                    else "is not a regular file")
            raise WizardError(f"the log file {path} {what}; the log is written to a file "
                              "of its own only", "give the path of a new or regular file")
        os.set_blocking(fd, True)
        os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


class _LogFile(logging.FileHandler):
    """A FileHandler on a descriptor from ``open_log`` (reopened the same way)."""

    def __init__(self, path: Path, fd: int) -> None:
        self._fd = fd
        # A path with bytes that are not UTF-8 (surrogate escapes) must not turn
        # a log line into a "--- Logging error ---" traceback on the console.
        super().__init__(path, encoding="utf-8", errors="backslashreplace")

    def _open(self) -> TextIOWrapper:
        fd, self._fd = self._fd, -1
        if fd < 0:  # reopened after a close: the file is there, still never a link
            fd = open_log(Path(self.baseFilename), new=False)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


# ``log.error(..., extra=FILE_ONLY)``: for what the CLI already prints itself
# (its one error line) or must never show the operator (a traceback).
FILE_ONLY = {"console": False}


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, starting each record on a clean row when a progress bar is drawn there."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.stream.isatty():
                self.stream.write("\r\x1b[K")
        except (OSError, ValueError):
            pass
        super().emit(record)


def get_logger(name: str) -> logging.Logger:
    """A child of the wizard's logger, e.g. ``get_logger(__name__)``."""
    if name.startswith(LOGGER_NAME + ".") or name == LOGGER_NAME:
        return logging.getLogger(name)
    return logging.getLogger(f"{LOGGER_NAME}.{name}")

"""Logging: one log file per run, full detail; the console only when asked.

The log file holds everything (DEBUG), including tracebacks of unexpected
errors, so a one-line error can point there. Secrets never reach it: code
logs paths of credential files, never their contents, and ``mask`` hides
keys that must be named.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from pathlib import Path

from wizard.core.dirs import log_dir, private_dir

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
_RUN_LOG = re.compile(r"run-\d{8}-\d{6}-\d+\.log")


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
    if log_file is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        log_file = log_dir() / f"run-{stamp}-{os.getpid()}.log"
        private_dir(log_file.parent)
        pruned = prune_logs(log_file.parent, keep=KEEP_LOGS - 1, current=log_file)
    private_dir(log_file.parent)
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    # A path with bytes that are not UTF-8 (surrogate escapes) must not turn
    # a log line into a "--- Logging error ---" traceback on the console.
    file_handler = logging.FileHandler(log_file, encoding="utf-8", errors="backslashreplace")
    os.chmod(log_file, 0o600)
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

"""The outside programs the recipe uses: find them, read their version, run them.

``run_streaming`` runs a program (make, qemu-img) with its output passed on
line by line as it comes, a timeout, and the cancel flag checked between
reads, so the CLI and the TUI show a build live and Ctrl+C or Cancel stops
it, with everything it started.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.core.errors import Cancelled, WizardError, interrupted
from wizard.core.events import CancelFlag
from wizard.core.logs import get_logger

log = get_logger(__name__)

# The flag that makes each tool print its version, and C compilers by the
# names they go by.
_VERSION_FLAGS: dict[str, str] = {"nasm": "-v"}
C_COMPILERS: tuple[str, ...] = ("cc", "gcc", "clang")


@dataclass(frozen=True)
class Tool:
    """A program found on PATH and the first line of its version text."""

    name: str
    path: Path
    version: str


def find_tool(name: str, path: str | None = None) -> Tool | None:
    """``name`` on PATH (or on ``path``) with its version, None when absent."""
    found = shutil.which(name, path=path)
    if found is None:
        return None
    return Tool(name=name, path=Path(found), version=tool_version(Path(found), name))


def find_c_compiler(path: str | None = None) -> Tool | None:
    """The first C compiler on PATH (cc, gcc, clang)."""
    for name in C_COMPILERS:
        tool = find_tool(name, path)
        if tool is not None:
            return tool
    return None


def tool_version(program: Path, name: str) -> str:
    """A short version for the prerequisites table ("" when it will not say)."""
    flag = _VERSION_FLAGS.get(name, "--version")
    try:
        result = subprocess.run(
            [str(program), flag], capture_output=True, text=True, timeout=10, check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    for line in (result.stdout + result.stderr).splitlines():
        if line.strip():
            match = re.search(r"\d+(?:\.\d+)+", line)
            return match.group(0) if match else line.strip()[:40]
    return ""


class _LineSplitter:
    """Cut a byte stream into text lines at newlines (and at CR when asked)."""

    def __init__(self, on_line: Callable[[str], None], split_cr: bool) -> None:
        self._on_line = on_line
        self._pattern = re.compile(rb"\r\n|\r|\n" if split_cr else rb"\r?\n")
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        self._buffer += data
        pieces = self._pattern.split(self._buffer)
        self._buffer = pieces.pop()
        for piece in pieces:
            self._emit(piece)

    def close(self) -> None:
        if self._buffer:
            self._emit(self._buffer)
            self._buffer = b""

    def _emit(self, piece: bytes) -> None:
        text = piece.decode("utf-8", errors="replace").rstrip()
        if text:
            self._on_line(text)


@dataclass(frozen=True)
class RunResult:
    returncode: int
    last_lines: tuple[str, ...]


def run_streaming(
    argv: Sequence[str],
    *,
    on_line: Callable[[str], None],
    cwd: Path | None = None,
    timeout: float | None = None,
    cancel: CancelFlag | None = None,
    split_cr: bool = False,
    keep_lines: int = 20,
    env: dict[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> RunResult:
    """Run ``argv``, passing each output line (stdout and stderr) to ``on_line``.

    Returns the exit status and the last ``keep_lines`` lines. A timeout
    raises ``WizardError``, the cancel flag ``Cancelled``; either way the
    program and its children (make runs compilers) are stopped first. So
    does SIGTERM or SIGHUP to this process (a closed SSH session, ``kill``):
    the program runs in a session of its own, and would otherwise outlive us.
    ``pass_fds``: descriptors the program inherits (a folder it writes in).
    """
    with _stopped_by_signals():
        return _run(argv, on_line, cwd, timeout, cancel, split_cr, keep_lines, env, pass_fds)


class Terminated(Cancelled):
    """SIGTERM or SIGHUP arrived while an outside program ran."""


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into ``Terminated`` while the block runs.

    Only where they would otherwise kill the process outright (their default
    action) and only in the main thread, where Python runs signal handlers:
    a handler the application installed is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise Terminated(interrupted(signal.Signals(signum).name))

    replaced: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            replaced[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for number, previous in replaced.items():
            signal.signal(number, previous)


def _run(
    argv: Sequence[str],
    on_line: Callable[[str], None],
    cwd: Path | None,
    timeout: float | None,
    cancel: CancelFlag | None,
    split_cr: bool,
    keep_lines: int,
    env: dict[str, str] | None,
    pass_fds: Sequence[int] = (),
) -> RunResult:
    tail: deque[str] = deque(maxlen=keep_lines)

    def keep(line: str) -> None:
        tail.append(line)
        on_line(line)

    splitter = _LineSplitter(keep, split_cr)
    try:
        # A session of its own: stopping it stops the whole process group.
        process = subprocess.Popen(
            list(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, env=env, pass_fds=pass_fds,
        )
    except OSError as exc:
        raise WizardError(
            f"cannot run {argv[0]} ({exc.strerror})",
            f"check that {argv[0]} is installed and on PATH",
        ) from exc
    assert process.stdout is not None
    deadline = None if timeout is None else time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        while True:
            if cancel is not None:
                if cancel.cancelled:
                    _stop(process)
                cancel.check()
            if deadline is not None and time.monotonic() > deadline:
                _stop(process)
                raise _timed_out(argv, timeout, tail)
            if not selector.select(timeout=0.2):
                continue
            data = os.read(process.stdout.fileno(), 65536)
            if not data:
                break
            splitter.feed(data)
        splitter.close()
        # Output closed; the program may still be finishing (or have left a
        # child holding nothing): the deadline still holds.
        left = None if deadline is None else max(deadline - time.monotonic(), 0.1)
        try:
            returncode = process.wait(timeout=left)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise _timed_out(argv, timeout, tail) from None
    except BaseException:
        _stop(process)
        raise
    finally:
        selector.close()
        process.stdout.close()
    log.debug("%s exited with %d", argv[0], returncode)
    return RunResult(returncode=returncode, last_lines=tuple(tail))


def _timed_out(argv: Sequence[str], timeout: float | None, tail: deque[str]) -> WizardError:
    return WizardError(
        f"{Path(argv[0]).name} did not finish within {timeout or 0:g} seconds "
        f"(last output: {tail[-1] if tail else 'none'})",
        "look at its output in the log, or give it more time",
        key="build.timeout",
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process`` and its process group: TERM, then KILL after 5 s."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue

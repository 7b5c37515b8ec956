"""A session's state file: each step's status, inputs and outputs (JSON, written atomically).

```json
{"version": 1,
 "steps": {"image.bundle": {"status": "done", "outputs": {...}, "inputs": {...},
                            "updated": 1764580000.5, "generation": 1}}}
```

Statuses: ``pending``, ``running`` (a build is in it, or died in it),
``done``, ``failed``, ``interrupted`` (Ctrl+C, SIGTERM, SIGHUP). Written
whole after every change (temp, fsync, rename; mode 0600), so a build
killed at any moment leaves the last state it reached, never half a file.
No secret ever goes in: paths of the eucarc and key files, never contents.

A file that cannot be read back is reported with its path and the way out
(start over: finished bundles, uploads and registrations are found again
and reused), never a traceback.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard import PROGRAM
from wizard.core.errors import WizardError
from wizard.core.files import write_atomic

VERSION = 1
STATUSES = ("pending", "running", "done", "failed", "interrupted")
# A state file is a few KiB; anything far larger is not one.
MAX_STATE_BYTES = 4 * 1024 * 1024
FILE_MODE = 0o600


@dataclass
class StepRecord:
    """What the state file says of one step."""

    status: str = "pending"
    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    updated: float = 0.0
    # 1, then one more each time the step, once done, is done again (its inputs
    # changed, or its outputs were gone): a bundle made again gets a new name,
    # so it never replaces in the store the bundle an earlier image was
    # registered from.
    generation: int = 1

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "outputs": self.outputs, "inputs": self.inputs,
                "updated": self.updated, "generation": self.generation}


@dataclass
class SessionState:
    """Every step's record, by step id."""

    steps: dict[str, StepRecord] = field(default_factory=dict)

    def record(self, step: str) -> StepRecord:
        return self.steps.setdefault(step, StepRecord())

    def mark(self, step: str, status: str, *, outputs: dict[str, Any] | None = None,
             inputs: dict[str, Any] | None = None) -> StepRecord:
        """Set a step's status (and its outputs or inputs when given)."""
        if status not in STATUSES:
            raise ValueError(f"unknown step status {status!r}")
        record = self.record(step)
        record.status = status
        if outputs is not None:
            record.outputs = outputs
        if inputs is not None:
            record.inputs = inputs
        record.updated = time.time()
        return record

    def to_json(self) -> str:
        return json.dumps({"version": VERSION,
                           "steps": {k: v.as_json() for k, v in self.steps.items()}},
                          indent=1, sort_keys=True) + "\n"


def way_out(session: str) -> str:
    return (f"start the session over with `{PROGRAM} run --session {session} --start-over` "
            "(its finished bundles, uploads and registrations are found again and reused), "
            "or repair the file by hand")


def _damaged(path: Path, session: str, why: str) -> WizardError:
    return WizardError(f"the state file {path} of session {session!r} is damaged ({why})",
                       way_out(session))


def parse_state(text: str, path: Path, session: str) -> SessionState:
    """The state in ``text``; a WizardError naming ``path`` and the way out if it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _damaged(path, session, f"not JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:  # nested thousands deep: no build writes that
        raise _damaged(path, session, "nested too deep") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), dict):
        raise _damaged(path, session, "no steps table")
    if data.get("version") != VERSION:
        raise _damaged(path, session, f"version {data.get('version')!r}, not {VERSION}")
    state = SessionState()
    for step, raw in data["steps"].items():
        if not isinstance(raw, dict):
            raise _damaged(path, session, f"the step {step!r} is not a table")
        status, outputs, inputs = raw.get("status"), raw.get("outputs"), raw.get("inputs")
        updated = raw.get("updated", 0.0)
        generation = raw.get("generation", 1)
        if not isinstance(generation, int) or isinstance(generation, bool) or generation < 1:
            raise _damaged(path, session, f"the step {step!r} has the generation {generation!r}")
        if status not in STATUSES:
            raise _damaged(path, session, f"the step {step!r} has the status {status!r}")
        if not isinstance(outputs, dict) or not isinstance(inputs, dict) \
                or not isinstance(updated, (int, float)) or isinstance(updated, bool):
            raise _damaged(path, session, f"the step {step!r} has no outputs, inputs or time")
        state.steps[str(step)] = StepRecord(status, outputs, inputs, float(updated), generation)
    return state


def load_state(path: Path, session: str, *, has_run: bool) -> SessionState:
    """The session's state; a new one if the session has never run.

    ``has_run``: the session's event log holds events, so a missing state
    file is lost, not new.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        if has_run:
            raise WizardError(f"the state file {path} of session {session!r} is missing, "
                              "although the session has run (its event log has events)",
                              way_out(session)) from None
        return SessionState()
    except OSError as exc:
        raise WizardError(f"cannot read the state file {path} ({exc.strerror})",
                          "check the file's permissions") from None
    if len(raw) > MAX_STATE_BYTES:
        raise _damaged(path, session, f"larger than {MAX_STATE_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _damaged(path, session, "not UTF-8 text") from None
    return parse_state(text, path, session)


def save_state(path: Path, state: SessionState) -> None:
    """Write the state whole (temp, fsync, rename), mode 0600."""
    write_atomic(path, state.to_json().encode("utf-8"), FILE_MODE)


def set_aside(path: Path) -> Path | None:
    """Move the state file out of the way (kept for a look); returns where to."""
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.old-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    path.replace(target)
    return target

"""Who needs the sandbox cloud of a folder: wizards holding its lease, builds running on it.

The wizard's sandbox (``--sandbox``) is a process of its own so that a
detached build outlives the wizard. Started with ``sandbox
--exit-when-idle GRACE``, it ends by itself once, for GRACE seconds, no
wizard holds its lease (``wizard.cloud.lease``) and no build of a session
that uses it holds that session's build lock: a build uses the sandbox when
its answers name the sandbox's eucarc or the S3 or EC2 URL that eucarc
gives. Only the sessions under this user's sessions folder are seen (the
sandbox inherits the wizard's ``XDG_STATE_HOME``).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from wizard.cloud.lease import claim_end, give_up_claim, wizards_attached
from wizard.core.errors import WizardError
from wizard.session.lock import running_pid
from wizard.session.store import SessionPaths, session_names

# How often a sandbox looks; a wizard or a build is seen within this.
CHECK_EVERY = 2.0


def _endpoints(eucarc: Path) -> set[str]:
    """The S3 and EC2 URLs the sandbox's eucarc gives (a build may name them instead)."""
    from wizard.credentials.eucarc import read_eucarc

    with contextlib.suppress(WizardError, OSError):
        values = read_eucarc(eucarc, environ={})
        return {values[name].rstrip("/") for name in ("S3_URL", "EC2_URL") if values.get(name)}
    return set()


def _uses(paths: SessionPaths, eucarc: Path, endpoints: set[str]) -> bool:
    from wizard.session.answers import load_answers

    try:
        cloud = load_answers(paths.answers).cloud
    except WizardError:
        return False  # answers no build could start from
    if cloud.eucarc is not None and cloud.eucarc.expanduser().resolve() == eucarc:
        return True
    return any((url or "").rstrip("/") in endpoints for url in (cloud.s3_url, cloud.ec2_url)
               if url)


def builds_using(folder: Path) -> list[str]:
    """The sessions whose build runs now on the sandbox cloud of ``folder``."""
    eucarc = (Path(folder) / "eucarc").resolve()
    endpoints = _endpoints(eucarc)
    try:
        names = session_names()
    except (OSError, WizardError):
        return []
    found = []
    for name in names:
        paths = SessionPaths(name)
        # The lock first: a flock probe is cheap, the answers are read only for a build
        # that runs. A session that cannot be probed (its folder made unreadable, a
        # link planted as its lock, which ``running_pid`` refuses) runs no build this
        # user started.
        with contextlib.suppress(OSError, WizardError):
            if running_pid(paths.lock) is not None and _uses(paths, eucarc, endpoints):
                found.append(name)
    return found


def needed_by(folder: Path) -> str | None:
    """What keeps the sandbox of ``folder`` needed, in words; None when nothing does."""
    if wizards_attached(folder):
        return "a wizard uses it"
    builds = builds_using(folder)
    if builds:
        return f"the build of {builds[0]} runs on it"
    return None


class IdleWatch:
    """The sandbox's side: ``ended()`` is true once nothing has needed it for ``grace``
    seconds, and then the sandbox holds its claim to end (``cloud.lease.claim_end``)
    until its process exits, so that no wizard reuses a sandbox that is stopping."""

    def __init__(self, folder: Path, grace: float) -> None:
        self.folder = Path(folder)
        self.grace = grace
        self._idle_since: float | None = None
        self._claim: int | None = None

    def ended(self) -> bool:
        try:
            return self._ended()
        except OSError:
            # Something could not be looked at (the state folder on a full or gone
            # disk): keep serving; a build may still need it. The next check retries.
            self._idle_since = None
            return False

    def _ended(self) -> bool:
        if needed_by(self.folder) is not None:
            self._idle_since = None
            return False
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.grace:
            return False
        claim = claim_end(self.folder)
        if claim is None:  # a wizard came just now
            self._idle_since = None
            return False
        if builds_using(self.folder):  # a build took its lock just now
            give_up_claim(claim)
            self._idle_since = None
            return False
        self._claim = claim  # held until the process ends
        return True

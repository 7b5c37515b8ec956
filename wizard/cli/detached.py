"""``run --detach``: start a session's build in the background and return at once.

The build runs in a process of its own (``wizard.session.detach``) that an
SSH drop or a closed terminal does not stop. Printed: the session's name on
stdout (``name=$(euca-windows-wizard run --answers f --detach --yes)``), and
on stderr how to follow it (``attach NAME``) and stop it, and the logout
warning where systemd-logind would kill it anyway.
"""

from __future__ import annotations

import sys
from typing import TextIO

from wizard import PROGRAM
from wizard.cli.progress import ConsoleProgress
from wizard.core.errors import WizardError
from wizard.core.events import StepWarning
from wizard.session.detach import linger_warning, start_detached
from wizard.session.store import open_session


def refuse_with_sandbox() -> WizardError:
    """--detach with --sandbox: the sandbox cloud lives in the process that starts it."""
    return WizardError(
        "--detach cannot be used with --sandbox: the sandbox cloud would stop with this "
        "command, under the detached build",
        f"run `{PROGRAM} sandbox --dir DIR` in another terminal and build with an answers "
        f"file naming DIR/eucarc (--answers FILE --detach), or leave out --detach")


def start(name: str, extra: list[str] | None = None, secret_key: str | None = None,
          out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Start session ``name``'s build detached and say how to follow it; the exit status.

    ``secret_key``: a secret key given to this command (never saved with the
    session), handed to the build through its environment.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    paths = open_session(name)
    warning = linger_warning()
    if warning:
        ConsoleProgress(err)(StepWarning("session", warning))
    pid = start_detached(name, extra, secret_key=secret_key)
    err.write(f"{PROGRAM}: session {name} is building in the background (process {pid}); "
              f"closing this terminal does not stop it. Its log: {paths.log}\n"
              f"Follow it with `{PROGRAM} attach {name}`, see it with `{PROGRAM} sessions`, "
              f"stop it with `{PROGRAM} sessions stop {name}`.\n")
    err.flush()
    out.write(f"{name}\n")
    out.flush()
    return 0

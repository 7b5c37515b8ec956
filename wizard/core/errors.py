"""The one error type for failures an operator can cause or meet.

Every such failure carries the problem in the operator's words and, where
there is one, the fix. The CLI prints it on one line and exits 1; the TUI
shows it on an error screen. An error about one input also carries that
input's answer key (``build.disk``, ``cloud.eucarc``: the list is in
``wizard.core.keys``): the engine's text names the input in the operator's
words, never a flag or a widget, and the face adds its own: the CLI the
flag (``wizard.cli.flags``), the TUI the field it focuses. Anything else that
escapes is a bug: the CLI logs its traceback to the log file and points there.
"""

from __future__ import annotations


class WizardError(Exception):
    """A failure the operator can act on: what went wrong, and what to do."""

    def __init__(self, message: str, fix: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message.rstrip(".")
        self.fix = fix.rstrip(".") if fix else None
        # The answer key of the input this is about, or None (a full disk).
        self.key = key

    def one_line(self, where: str | None = None) -> str:
        """The message and its fix on one line, as the CLI prints it.

        ``where`` says where the operator gives the input (the CLI's flag):
        it follows the fix in brackets, "Fix: give your account id (-u)".
        """
        text = self.message
        if self.fix:
            text += f". Fix: {self.fix}"
            if where:
                text += f" ({where})"
        elif where:
            text += f" ({where})"
        return " ".join(text.split()) + "."

    def __str__(self) -> str:
        return self.one_line()


# How every face says a stop the operator asked for (Ctrl+C, a signal, a
# cancel button): "interrupted[ by CAUSE][; what was kept]", fixed by running
# the same command again. One wording, and exit status 1 as for any error.
INTERRUPTED = "interrupted"
RESUME = "run the same command again to resume"


def interrupted(by: str | None = None, detail: str | None = None) -> str:
    """The message of an interruption: ``interrupted by Ctrl+C; DETAIL``."""
    text = INTERRUPTED + (f" by {by}" if by else "")
    return text + (f"; {detail}" if detail else "")


class Cancelled(WizardError):
    """The operator (or a signal) asked the running step to stop."""

    def __init__(self, message: str = INTERRUPTED, fix: str | None = None) -> None:
        super().__init__(message, fix or RESUME)

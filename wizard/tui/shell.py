"""Shell commands shown so that they can be copied and pasted as they are.

A terminal 80 columns wide wraps a long command wherever the edge falls, in
the middle of a path or a word; what the operator then selects with the
mouse is three broken lines. So the screens never let a command wrap:

- ``with_variables``: a long path that a command names (the floppy image,
  the disk) goes into a shell variable on a line of its own first
  (``FLOPPY=/a/long/path``), and the command says ``"$FLOPPY"``;
- ``continued``: a command with many options is broken between its words,
  each line but the last ending in `` \\`` (a shell continuation).

Both keep the command real: every word stays quoted for a POSIX shell
(``shlex.quote``), so what is pasted is what the wizard means.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence


def with_variables(commands: Iterable[str], paths: dict[str, str]) -> list[str]:
    """``commands`` with each path in ``paths`` (variable name -> path) said
    through its variable, preceded by the ``NAME=path`` lines they use.

    A path is replaced where it is a whole word as ``shlex.quote`` wrote it,
    or the value of an option (``file=PATH,if=floppy``); a longer path it is
    the start of is left alone. A command naming none of the paths is kept
    as it is (Windows commands, ``virsh start VM``).
    """
    used: list[str] = []
    out: list[str] = []
    for command in commands:
        for name, path in paths.items():
            quoted = re.escape(shlex.quote(path))
            # The quoted path as a word, or after "=", ending the word or before ",".
            pattern = re.compile(rf"(?:^|(?<=[ =])){quoted}(?=$|[ ,])")
            replaced = pattern.sub(f'"${name}"', command)  # a name: no backslashes
            if replaced != command:
                command = replaced
                if name not in used:
                    used.append(name)
        out.append(command)
    return [f"{name}={shlex.quote(paths[name])}" for name in used] + out


def continued(words: Sequence[str], width: int, indent: str = "    ") -> list[str]:
    """The command ``words`` (each already quoted) as lines of at most ``width``
    columns where they fit, broken between words with `` \\`` continuations.

    An option and its value (``--image-id emi-...``) stay on one line.
    """
    units: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else None
        if word.startswith("-") and following is not None and not following.startswith("-"):
            units.append(f"{word} {following}")
            index += 2
        else:
            units.append(word)
            index += 1
    lines: list[str] = []
    current = ""
    for unit in units:
        prefix = indent if lines else ""
        candidate = f"{current} {unit}" if current else prefix + unit
        # Room for the " \" that ends every line but the last.
        if current and len(candidate) + 2 > width:
            lines.append(current)
            current = indent + unit
        else:
            current = candidate
    if current:
        lines.append(current)
    return [line + " \\" for line in lines[:-1]] + lines[-1:]

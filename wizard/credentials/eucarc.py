"""Read a Eucalyptus ``eucarc`` as data, never through a shell.

A credentials zip's ``eucarc`` is a bash script of ``export NAME=value``
lines (BUNDLE-FORMAT.md section 5). Sourcing it would run whatever it
holds, so the wizard reads it line by line and understands only what such
files contain: ``export A=b`` and ``A=b``, single and double quotes,
``$NAME`` / ``${NAME}`` / ``${NAME:-default}`` references to variables set
earlier in the file (or in the environment, as a shell would), and the
``EUCA_KEY_DIR=$(cd $(dirname ${BASH_SOURCE:-$0}); pwd -P)`` idiom, which
means "the eucarc's own folder". ``alias`` lines and comments are skipped;
any other line (``if``, a command, some other ``$(...)``) is skipped with a
log line, so one odd line never stops the operator. A quote that is never
closed breaks the file for bash too: that is an error naming the line (not
its text, which may hold a secret). A certificate, key or zip given as the
eucarc is named for what it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from wizard.core.errors import WizardError
from wizard.core.logs import get_logger

log = get_logger(__name__)

_ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_EXPORT_ONLY = re.compile(r"^export(\s+[A-Za-z_][A-Za-z0-9_]*)+\s*$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Variables whose values are secrets: never shown in the log, even when a
# line holding one cannot be understood.
SECRET_NAMES = frozenset({"EC2_SECRET_KEY", "AWS_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"})


class _Unparseable(Exception):
    """A line the data reader does not understand (it is skipped)."""


class _Unclosed(_Unparseable):
    """A quote that is never closed: the file is broken, not just odd."""


_KEY = "cloud.eucarc"


def read_eucarc(path: Path | str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables an eucarc sets, in the order it sets them.

    A missing or unreadable file is a ``WizardError`` naming it.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_file() and not path.is_dir():
        # Opening a FIFO (or a terminal) would wait for a writer forever.
        raise WizardError(
            f"the eucarc {path} is not a regular file (a FIFO or a device?)",
            "give the eucarc file from your cloud credentials zip, e.g. ~/creds/eucarc",
            key=_KEY,
        )
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise WizardError(
            f"the eucarc {path} does not exist",
            "give the path of the eucarc from your cloud credentials zip (unzip it "
            "first), e.g. ~/creds/eucarc",
            key=_KEY,
        ) from None
    except IsADirectoryError:
        raise WizardError(
            f"the eucarc {path} is a folder, not a file",
            f"give the eucarc file inside it, e.g. {path / 'eucarc'}",
            key=_KEY,
        ) from None
    except OSError as exc:
        raise WizardError(
            f"cannot read the eucarc {path} ({exc.strerror or exc})",
            "check the file's permissions, or give another eucarc",
            key=_KEY,
        ) from None
    _refuse_other_files(path, text)
    return parse_eucarc(text, folder=path.resolve().parent, environ=environ, name=str(path))


# What else an operator hands over by mistake: the files beside the eucarc in
# the credentials zip (certificates, keys), or the zip itself.
_PEM_KINDS = (("CERTIFICATE", "a PEM certificate"), ("PRIVATE KEY", "a PEM private key"),
              ("PUBLIC KEY", "a PEM public key"))


def _refuse_other_files(path: Path, text: str) -> None:
    """A certificate, key or zip given as the eucarc: say what it is, not what it lacks."""
    what = None
    head = text.lstrip()[:100]
    if head.startswith("-----BEGIN "):
        label = head.split("\n", 1)[0]
        what = next((kind for marker, kind in _PEM_KINDS if marker in label), "a PEM file")
    elif text.startswith("PK\x03\x04"):
        what = "a zip file (the credentials zip itself?)"
    if what is not None:
        raise WizardError(
            f"{path} is not an eucarc: it is {what}",
            "give the file named eucarc from your unzipped credentials zip (it sets "
            "EC2_URL, S3_URL and the keys)", key=_KEY)


def parse_eucarc(
    text: str,
    *,
    folder: Path,
    environ: Mapping[str, str] | None = None,
    name: str = "eucarc",
) -> dict[str, str]:
    """Parse eucarc text; ``folder`` is what ``EUCA_KEY_DIR`` means."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("alias ") or line == "alias":
            continue
        if _EXPORT_ONLY.match(line):
            continue  # "export NAME" marks a variable set earlier; nothing new
        match = _ASSIGNMENT.match(line)
        if not match:
            log.info("%s line %d: not an assignment, skipped", name, number)
            continue
        var, rest = match.group(1), match.group(2)
        try:
            if "$(" in rest or "`" in rest:
                value = _command_substitution(rest, folder)
            else:
                value = _expand_word(rest, values, env, folder)
        except _Unclosed:
            # bash refuses the whole file here; skipping the line would leave
            # only "no secret key is set". The text may hold a secret: not shown.
            raise WizardError(
                f"the eucarc {name} line {number} ({var}=...) opens a quote it never closes",
                f"close the quote on line {number} of {name}, or take the eucarc "
                "from your credentials zip again", key=_KEY) from None
        except _Unparseable as exc:
            shown = var if var in SECRET_NAMES else f"{var} ({exc})"
            log.info("%s line %d: cannot read %s, skipped", name, number, shown)
            continue
        values[var] = value
    return values


def _command_substitution(rest: str, folder: Path) -> str:
    # The only command a credentials eucarc runs is "the folder of this
    # file": $(cd $(dirname ${BASH_SOURCE:-$0}); pwd -P) in 3.x/4.x,
    # $(dirname $(readlink -f ${BASH_SOURCE})) in 1.x/2.x.
    if "dirname" in rest and ("BASH_SOURCE" in rest or "$0" in rest):
        return str(folder)
    raise _Unparseable("runs a command")


def _expand_word(rest: str, values: Mapping[str, str], env: Mapping[str, str],
                 folder: Path) -> str:
    """One shell word with quotes and variable references, as bash reads it."""
    out: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        ch = rest[i]
        if ch in " \t":
            tail = rest[i:].strip()
            if tail and not tail.startswith("#"):
                raise _Unparseable("more than one word")
            break
        if ch == "'":
            end = rest.find("'", i + 1)
            if end < 0:
                raise _Unclosed("unclosed quote")
            out.append(rest[i + 1:end])
            i = end + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= n:
                    raise _Unclosed("unclosed quote")
                c = rest[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and rest[i + 1] in '"\\$`':
                    out.append(rest[i + 1])
                    i += 2
                elif c == "$":
                    text, i = _reference(rest, i, values, env, folder)
                    out.append(text)
                else:
                    out.append(c)
                    i += 1
        elif ch == "\\" and i + 1 < n:
            out.append(rest[i + 1])
            i += 2
        elif ch == "$":
            text, i = _reference(rest, i, values, env, folder)
            out.append(text)
        elif ch in ";&|<>()":
            raise _Unparseable("shell syntax")
        else:
            out.append(ch)
            i += 1
    word = "".join(out)
    if word.startswith("~/") or word == "~":
        word = str(Path(word).expanduser())
    return word


def _reference(rest: str, i: int, values: Mapping[str, str], env: Mapping[str, str],
               folder: Path) -> tuple[str, int]:
    """Expand the ``$NAME`` or ``${NAME}`` starting at ``rest[i]``."""
    default: str | None = None
    if rest.startswith("${", i):
        end = rest.find("}", i + 2)
        if end < 0:
            raise _Unparseable("unclosed ${")
        inner = rest[i + 2:end]
        name, sep, default_text = inner.partition(":-")
        if sep:
            default = default_text
        nxt = end + 1
    else:
        match = _NAME.match(rest, i + 1)
        if not match:
            return "$", i + 1
        name, nxt = match.group(0), match.end()
    if not _NAME.fullmatch(name):
        raise _Unparseable(f"unsupported expansion ${{{name}}}")
    if name in values:
        return values[name], nxt
    if name == "EUCA_KEY_DIR":
        return str(folder), nxt
    if name in env:
        return env[name], nxt
    if default is not None:
        return default, nxt
    raise _Unparseable(f"refers to ${name}, which is not set")

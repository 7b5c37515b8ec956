"""BOOT.INI, as NTLDR reads it: the default, the entries and their ARC paths.

BOOT.INI (Windows NT 4.0 to Server 2003) is an ANSI text file with two
sections::

    [boot loader]
    timeout=30
    default=multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS
    [operating systems]
    multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS="Windows XP" /fastdetect

An ARC path names the disk and the partition NTLDR starts Windows from:

- ``multi(W)disk(0)rdisk(Y)partition(Z)\\FOLDER``: the disk is reached
  through the BIOS (INT 13h), so NTLDR needs no driver of its own.
- ``scsi(W)disk(X)rdisk(Y)partition(Z)\\FOLDER``: the disk is reached
  through a SCSI miniport driver that NTLDR loads from NTBOOTDD.SYS (X is
  the SCSI id, Y the LUN).
- ``signature(8 hex digits)disk(D)rdisk(R)partition(P)\\FOLDER``: the disk is
  found by the 32-bit signature in its MBR, also through NTBOOTDD.SYS.

Partitions count from 1 (``partition(0)`` would be the whole disk).

``parse_boot_ini`` never raises: whatever the text (a floppy may carry any
bytes), it returns a ``BootIni`` whose ``problems`` say what is wrong, so
the verifier and the disk inspection can report instead of crash.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# The ARC path kinds this module understands; "dos" is a DOS path entry such
# as C:\CMDCONS\BOOTSECT.DAT (the Recovery Console) or C:\ (an older system),
# which NTLDR boots through a saved boot sector, not through an ARC path.
ARC_KINDS = ("multi", "scsi", "signature")

# One ARC component, e.g. "rdisk(0)". No nested or unbalanced parentheses,
# and every part is a plain character class, so matching stays linear
# whatever the input (the text may be garbage from a damaged floppy).
_COMPONENT = re.compile(r"([A-Za-z]+)[ \t]*\(([^()]*)\)")
_DOS_PATH = re.compile(r"[A-Za-z]:\\")
# int() refuses strings over 4300 digits (CPython's limit) with ValueError;
# no real ARC number has more than a handful.
_MAX_DIGITS = 9
# A long garbage text must not yield an unreadable wall of problems.
_MAX_PROBLEMS = 20


@dataclass(frozen=True)
class ArcPath:
    """One ARC path (or DOS path) as written, and its parts where it parses."""

    text: str
    # "multi", "scsi", "signature", "dos", or "" when not recognised.
    kind: str = ""
    # multi(N) / scsi(N): the controller ordinal. None for signature().
    controller: int | None = None
    # signature(1A2B3C4D): the MBR disk signature, as 8 upper-case hex digits.
    signature: str | None = None
    disk: int | None = None
    rdisk: int | None = None
    partition: int | None = None
    # The Windows folder on that partition, e.g. "\\WINDOWS" (as written).
    folder: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def well_formed(self) -> bool:
        return not self.problems

    @property
    def needs_ntbootdd(self) -> bool:
        """Whether NTLDR reaches this disk through NTBOOTDD.SYS."""
        return self.kind in ("scsi", "signature")

    def same_as(self, other: ArcPath) -> bool:
        """Whether two paths name the same place (NTLDR ignores case)."""
        return _squash(self.text) == _squash(other.text)


@dataclass(frozen=True)
class BootEntry:
    """One line of ``[operating systems]``: where, what it is called, switches."""

    path: ArcPath
    description: str
    switches: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class BootIni:
    """What a BOOT.INI says, and what is wrong with it."""

    timeout: int | None = None
    default: ArcPath | None = None
    entries: tuple[BootEntry, ...] = ()
    # Each makes the file unusable for booting: NTLDR would not find Windows.
    problems: tuple[str, ...] = ()
    # Worth telling the operator, but NTLDR copes.
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def needs_ntbootdd(self) -> bool:
        """Whether any entry or the default uses scsi() or signature()."""
        paths = [entry.path for entry in self.entries]
        if self.default is not None:
            paths.append(self.default)
        return any(path.needs_ntbootdd for path in paths)

    @property
    def default_entry(self) -> BootEntry | None:
        """The ``[operating systems]`` entry the default names, if listed."""
        if self.default is None:
            return None
        for entry in self.entries:
            if entry.path.same_as(self.default):
                return entry
        return None

    @property
    def boot_path(self) -> ArcPath | None:
        """The ARC path NTLDR starts when nobody picks from the menu."""
        if self.default is not None:
            return self.default
        for entry in self.entries:
            if entry.path.kind in ARC_KINDS:
                return entry.path
        return None


def _squash(text: str) -> str:
    return "".join(text.split()).rstrip("\\").lower()


def _number(text: str, what: str, problems: list[str], base: int = 10) -> int | None:
    digits = text.strip()
    valid = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
    if not digits or len(digits) > _MAX_DIGITS or any(ch not in valid for ch in digits):
        problems.append(f"{what}({text}) needs a {'hex ' if base == 16 else ''}number")
        return None
    return int(digits, base)


def parse_arc_path(text: str) -> ArcPath:
    """Split an ARC path into its parts; problems say what is malformed."""
    written = text.strip()
    if _DOS_PATH.match(written):
        return ArcPath(text=written, kind="dos")
    components: list[tuple[str, str]] = []
    pos = 0
    while pos < len(written):
        match = _COMPONENT.match(written, pos)
        if match is None:
            break
        components.append((match.group(1).lower(), match.group(2)))
        pos = match.end()
    rest = written[pos:].strip()
    problems: list[str] = []
    if not components:
        return ArcPath(
            text=written,
            problems=(f"'{_show(written)}' is not an ARC path such as "
                      "multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS",),
        )
    names = [name for name, _ in components]
    kind, first = components[0]
    controller: int | None = None
    signature: str | None = None
    if kind in ("multi", "scsi"):
        controller = _number(first, kind, problems)
    elif kind == "signature":
        found = _number(first, kind, problems, base=16)
        signature = None if found is None else f"{found:08X}"
    else:
        problems.append(f"'{kind}(…)' is not an ARC path kind NTLDR boots from: "
                        "expected multi(…), scsi(…) or signature(…)")
        kind = ""
    expected = ["disk", "rdisk", "partition"]
    numbers: dict[str, int | None] = dict.fromkeys(expected)
    if names[1:] != expected:
        problems.append(f"'{_show(written)}' should read "
                        f"{kind or 'multi'}(…)disk(…)rdisk(…)partition(…)\\FOLDER")
    for name, value in components[1:]:
        if name in numbers and numbers[name] is None:
            numbers[name] = _number(value, name, problems)
    partition = numbers["partition"]
    if partition == 0:
        problems.append("partition(0) is the whole disk: partitions count from 1")
    folder: str | None = None
    if not rest:
        problems.append(f"'{_show(written)}' names no Windows folder (such as \\WINDOWS)")
    elif not rest.startswith("\\") or rest.strip("\\") == "":
        problems.append(f"'{_show(rest)}' should be a folder such as \\WINDOWS")
    else:
        folder = rest
    return ArcPath(
        text=written,
        kind=kind,
        controller=controller,
        signature=signature,
        disk=numbers["disk"],
        rdisk=numbers["rdisk"],
        partition=partition,
        folder=folder,
        problems=tuple(problems),
    )


def _show(text: str, limit: int = 60) -> str:
    """Text fit for one line of a report (garbage may hold control bytes)."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


def _split_description(value: str) -> tuple[str, tuple[str, ...], list[str]]:
    """``"Windows XP" /fastdetect`` -> description, switches, problems."""
    problems: list[str] = []
    value = value.strip()
    if value.startswith('"'):
        end = value.find('"', 1)
        if end < 0:
            problems.append("its description has no closing quote")
            return value[1:].strip(), (), problems
        description, tail = value[1:end], value[end + 1 :]
    else:
        cut = value.find("/")
        description, tail = (value, "") if cut < 0 else (value[:cut], value[cut:])
        description = description.strip()
    switches = tuple(token for token in tail.split() if token.startswith("/"))
    return description, switches, problems


def parse_boot_ini(text: str) -> BootIni:
    """Read BOOT.INI's text. Never raises: problems list what is wrong."""
    try:
        return _parse(text)
    except Exception as exc:  # a parser bug must not turn a report into a traceback
        return BootIni(problems=(f"BOOT.INI could not be read ({type(exc).__name__})",))


def _parse(text: str) -> BootIni:
    problems: list[str] = []
    notes: list[str] = []
    if "\x00" in text:
        problems.append("BOOT.INI holds NUL bytes: it is damaged or not a text file")
    section: str | None = None
    seen: set[str] = set()
    timeout: int | None = None
    default: ArcPath | None = None
    default_line = 0
    entries: list[BootEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().strip("\x00")
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = " ".join(line[1:-1].split()).lower()
            seen.add(section)
            continue
        key, equals, value = line.partition("=")
        if section == "boot loader":
            name = key.strip().lower()
            if not equals:
                notes.append(f"line {number} of [boot loader] is not name=value; NTLDR ignores it")
            elif name == "timeout":
                digits = value.strip()
                sign = digits.startswith("-")
                body = digits[1:] if sign else digits
                if body.isdigit() and body.isascii() and len(body) <= _MAX_DIGITS:
                    timeout = -int(body) if sign else int(body)
                else:
                    problems.append(f"timeout={_show(value.strip())} on line {number} "
                                    "is not a number of seconds")
            elif name == "default":
                if default is not None:
                    notes.append(f"default= is given twice (line {default_line} and "
                                 f"line {number}); NTLDR uses one of them")
                default, default_line = parse_arc_path(value), number
        elif section == "operating systems":
            if not equals:
                problems.append(f"line {number} of [operating systems] "
                                f"('{_show(line)}') is not PATH=\"Description\"")
                continue
            path = parse_arc_path(key)
            description, switches, trouble = _split_description(value)
            entries.append(BootEntry(path, description, switches, number))
            for message in trouble:
                problems.append(f"entry on line {number}: {message}")
            for message in path.problems:
                problems.append(f"entry on line {number}: {message}")
        else:
            where = f"[{section}]" if section else "the top, before any [section]"
            notes.append(f"line {number} ('{_show(line)}') in {where} is not used by NTLDR")
    if not text.strip():
        problems.append("BOOT.INI is empty")
    else:
        if "boot loader" not in seen:
            problems.append("BOOT.INI has no [boot loader] section")
        if "operating systems" not in seen:
            problems.append("BOOT.INI has no [operating systems] section")
    if default is None:
        if "boot loader" in seen:
            problems.append("[boot loader] has no default= line naming the Windows to start")
    else:
        for message in default.problems:
            problems.append(f"default= on line {default_line}: {message}")
        if default.kind == "dos":
            notes.append("default= names a DOS path, not a Windows ARC path")
    if "operating systems" in seen and not entries:
        problems.append("[operating systems] lists no entry")
    if default is not None and entries and not any(e.path.same_as(default) for e in entries):
        notes.append("default= is not among the [operating systems] entries; "
                     "NTLDR still offers it, as '(default)'")
    if len(problems) > _MAX_PROBLEMS:
        hidden = len(problems) - _MAX_PROBLEMS
        problems = [*problems[:_MAX_PROBLEMS], f"… and {hidden} more problems"]
    if len(notes) > _MAX_PROBLEMS:
        hidden = len(notes) - _MAX_PROBLEMS
        notes = [*notes[:_MAX_PROBLEMS], f"… and {hidden} more notes"]
    return BootIni(
        timeout=timeout,
        default=default,
        entries=tuple(entries),
        problems=tuple(problems),
        notes=tuple(notes),
    )


def decode_boot_ini(data: bytes) -> str:
    """BOOT.INI's bytes as text: ANSI (cp1252), any byte accepted.

    Windows writes BOOT.INI in the ANSI code page; cp1252 leaves five bytes
    undefined, which fall back to latin-1 so that no byte is lost or fails.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return "".join(
            bytes([byte]).decode("cp1252", errors="ignore") or chr(byte) for byte in data
        )


def parse_boot_ini_bytes(data: bytes) -> BootIni:
    """Read BOOT.INI from its bytes (as found on a floppy or a disk). Never raises."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Notepad's "Save as Unicode": NTLDR reads only ANSI text.
        return BootIni(problems=(
            "BOOT.INI is saved as Unicode (UTF-16); NTLDR reads only ANSI text: "
            "save it again in Notepad with Encoding: ANSI",
        ))
    return parse_boot_ini(decode_boot_ini(data))

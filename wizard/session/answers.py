"""The answers file: a build's inputs as data (TOML), as issue 10 describes it.

```toml
[cloud]
eucarc = "/path/to/eucarc"   # or region = "..." for ~/.euca/*.ini, or the keys one by one

[build]
name = "winxp"
bucket = "winxp-images"
arch = "i386"
mode = "memdisk"             # or "native"
disk = "/path/to/xp.img"
floppy = "/path/to/win-boot.img"
memdisk = "/path/to/memdisk" # or syslinux_source = "/path/to/syslinux-4.07.tar.gz"
```

The file comes from outside: every key is checked. An unknown key, a value
of the wrong type or a missing key is one ``WizardError`` naming the key
(``build.disk``) and its line, with the fix; the error's ``key`` is set for
a face that focuses the field. Relative paths are taken from the answers
file's folder, so a file works from any current folder.

``answers_to_toml`` writes answers back (a session keeps its answers that
way): never the secret key, which is looked for in the environment or the
eucarc when the session goes on.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from wizard.core.choices import ARCHITECTURES, RECIPES
from wizard.core.errors import WizardError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (see pyproject)
    import tomli as tomllib

# A session's name is a folder name: no separators, no dot files, short.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Answers files are a few hundred bytes; anything huge is not one.
MAX_ANSWERS_BYTES = 64 * 1024


@dataclass(frozen=True)
class CloudAnswers:
    """Where the cloud and the keys come from: an eucarc, a region of ~/.euca, or each key.

    Paths are absolute. ``secret_key`` is never written back by
    ``answers_to_toml`` (nor to a session's state or events).
    """

    eucarc: Path | None = None
    region: str | None = None
    s3_url: str | None = None
    ec2_url: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    account: str | None = None
    cert: Path | None = None
    private_key: Path | None = None
    cloud_cert: Path | None = None
    ca_bundle: Path | None = None
    verify_ssl: bool | None = None

    def __repr__(self) -> str:
        # Never the secret key: a repr ends up in logs and tracebacks.
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                          if f.name != "secret_key" and getattr(self, f.name) is not None)
        return f"CloudAnswers({shown})"


@dataclass(frozen=True)
class BuildAnswers:
    """What to build: the disk image and, in memdisk mode, the floppy and memdisk."""

    name: str
    bucket: str
    arch: str
    mode: str
    disk: Path
    floppy: Path | None = None
    memdisk: Path | None = None
    syslinux_source: Path | None = None
    # Where the bundles are made (default: the session's folder in the state
    # folder). They take about the disk image's size: a large image wants a
    # roomy disk, not the home folder's.
    work_dir: Path | None = None


@dataclass(frozen=True)
class Answers:
    cloud: CloudAnswers
    build: BuildAnswers


# key -> (type, what the operator is told it must be)
_CLOUD_KEYS: dict[str, tuple[type, str]] = {
    "eucarc": (Path, "the path of your eucarc"),
    "region": (str, "a region name of ~/.euca/*.ini ([USER@]REGION)"),
    "s3_url": (str, "the S3 (object storage) URL"),
    "ec2_url": (str, "the EC2 (compute) URL"),
    "access_key": (str, "your access key id"),
    "secret_key": (str, "your secret key"),
    "account": (str, "your 12-digit account id"),
    "cert": (Path, "the path of your certificate"),
    "private_key": (Path, "the path of your private key"),
    "cloud_cert": (Path, "the path of the cloud's certificate (cloud-cert.pem)"),
    "ca_bundle": (Path, "the path of a PEM file of CA certificates"),
    "verify_ssl": (bool, "true or false"),
}
_BUILD_KEYS: dict[str, tuple[type, str]] = {
    "name": (str, "the session's name"),
    "bucket": (str, "the bucket to upload to"),
    "arch": (str, "i386 or x86_64"),
    "mode": (str, "memdisk or native"),
    "disk": (Path, "the path of the Windows disk image"),
    "floppy": (Path, "the path of the boot floppy image"),
    "memdisk": (Path, "the path of a memdisk file"),
    "syslinux_source": (Path, "the path of a syslinux release (tarball or folder)"),
    "work_dir": (Path, "the folder where the bundles are made"),
}
_TABLES: dict[str, dict[str, tuple[type, str]]] = {"cloud": _CLOUD_KEYS, "build": _BUILD_KEYS}
# Every key an answers file takes, as errors carry it ("build.disk").
ANSWER_KEYS: tuple[str, ...] = tuple(f"{table}.{key}" for table, keys in _TABLES.items()
                                     for key in keys)
_TYPE_WORDS = {str: "a string", bool: "true or false", int: "a number", float: "a number",
               list: "a list", dict: "a table"}


class _Lines:
    """Where each table and key of a TOML text is, for messages (tomllib keeps no positions).

    A plain scan: ``[table]`` headers and ``key =`` lines. Good enough to
    point the operator at the line; the parsing itself is tomllib's.
    """

    _HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*=")

    def __init__(self, text: str) -> None:
        self.tables: dict[str, int] = {}
        self.keys: dict[tuple[str, str], int] = {}
        table = ""
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                table = header.group(1).strip("\"'")
                self.tables.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.keys.setdefault((table, key.group(1).strip("\"'")), number)

    def of_key(self, table: str, key: str) -> str:
        number = self.keys.get((table, key))
        return f" (line {number})" if number else ""

    def of_table(self, table: str) -> str:
        number = self.tables.get(table)
        return f" (line {number})" if number else ""


def _error(source: str, what: str, fix: str, key: str | None) -> WizardError:
    return WizardError(f"the answers file {source}: {what}", fix, key=key)


def _type_word(value: Any) -> str:
    return _TYPE_WORDS.get(type(value), type(value).__name__)


def parse_answers(text: str, source: str, base: Path | None = None) -> Answers:
    """The answers in ``text`` (read from ``source``, named in every message).

    Relative paths are taken from ``base`` (the answers file's folder;
    default: the current folder).
    """
    folder = base if base is not None else Path.cwd()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(source, f"not valid TOML: {' '.join(str(exc).split())}",
                     "correct the file at that line (TOML: key = \"value\", tables as [cloud] "
                     "and [build])", None) from None
    lines = _Lines(text)
    for table, value in data.items():
        if table not in _TABLES:
            where = lines.of_table(table) or lines.of_key("", table)
            raise _error(source, f"unknown table or key {table!r}{where}",
                         "keep only the tables [cloud] and [build] (see assets/answers/ for "
                         "an example)", table)
        if not isinstance(value, dict):
            raise _error(source, f"{table} must be a table [{table}], not "
                         f"{_type_word(value)}{lines.of_key('', table)}",
                         f"write the {table} settings under a [{table}] line", table)
    values: dict[str, dict[str, Any]] = {}
    for table, allowed in _TABLES.items():
        given = data.get(table, {})
        values[table] = {}
        for key, value in given.items():
            dotted = f"{table}.{key}"
            where = lines.of_key(table, key)
            if key not in allowed:
                close = ", ".join(sorted(allowed))
                raise _error(source, f"unknown key {dotted}{where}",
                             f"remove it, or use one of the keys of [{table}]: {close}", dotted)
            kind, meaning = allowed[key]
            want = str if kind is Path else kind
            if type(value) is not want:
                raise _error(source, f"{dotted}{where} must be {_TYPE_WORDS[want]} "
                             f"({meaning}), not {_type_word(value)}",
                             f"write {key} = " + ("true" if want is bool else '"..."'),
                             dotted)
            if isinstance(value, bool):
                values[table][key] = value
                continue
            text = str(value).strip()
            if not text:
                raise _error(source, f"{dotted}{where} is empty",
                             f"give {meaning}, or remove the line", dotted)
            if kind is Path:
                path = Path(text).expanduser()
                # Normalised (no ``..``): a path is compared and recorded as
                # it stands, e.g. the session's claimed folder in work_dir.
                values[table][key] = Path(os.path.abspath(folder / path))
            else:
                values[table][key] = text
    return Answers(_cloud(values["cloud"]),
                   _build(values["build"], source, lines, "build" in data))


def _cloud(values: dict[str, Any]) -> CloudAnswers:
    return CloudAnswers(**values)


def _build(values: dict[str, Any], source: str, lines: _Lines, present: bool) -> BuildAnswers:
    def missing(key: str, meaning: str, fix: str | None = None) -> WizardError:
        where = lines.of_table("build")
        what = (f"build.{key} is missing: [build]{where} has no {key} ({meaning})" if present
                else f"build.{key} is missing: there is no [build] table ({meaning})")
        return _error(source, what, fix or f'add {key} = "..." under [build]', f"build.{key}")

    for key in ("bucket", "arch", "mode", "disk"):
        if key not in values:
            raise missing(key, _BUILD_KEYS[key][1])
    for key, allowed in (("arch", ARCHITECTURES), ("mode", RECIPES)):
        if values[key] not in allowed:
            raise _error(source, f"build.{key}{lines.of_key('build', key)} is "
                         f"{values[key]!r}, which is not " + " or ".join(allowed),
                         f"write {key} = \"{allowed[0]}\" or {key} = \"{allowed[1]}\"",
                         f"build.{key}")
    memdisk_keys = ("floppy", "memdisk", "syslinux_source")
    if values["mode"] == "native":
        for key in memdisk_keys:
            if key in values:
                raise _error(source, f"build.{key}{lines.of_key('build', key)} is for "
                             "memdisk mode, and mode is native (the disk image boots alone)",
                             f'remove {key}, or write mode = "memdisk"', f"build.{key}")
    else:
        if "floppy" not in values:
            raise missing("floppy", _BUILD_KEYS["floppy"][1],
                          'add floppy = "/path/to/win-boot.img" under [build] (the wizard\'s '
                          "floppy command makes the blank and walks you through it)")
        if "memdisk" in values and "syslinux_source" in values:
            raise _error(source, f"build.syslinux_source{lines.of_key('build', 'syslinux_source')}"
                         " and build.memdisk are both given",
                         "keep one: memdisk (a built file) or syslinux_source (to build it)",
                         "build.syslinux_source")
        if "memdisk" not in values and "syslinux_source" not in values:
            raise missing("memdisk", "a memdisk file, or syslinux_source to build one",
                          'add memdisk = "/usr/lib/syslinux/memdisk" (Debian/Ubuntu '
                          "syslinux-common) or syslinux_source = \"/path/to/syslinux-4.07."
                          'tar.gz" under [build]')
    if "name" in values:
        if not NAME_PATTERN.fullmatch(values["name"]):
            raise _error(source, f"build.name{lines.of_key('build', 'name')} "
                         f"{values['name']!r} is not a session name",
                         "use up to 64 letters, digits, dots, dashes or underscores, "
                         "starting with a letter or digit", "build.name")
    else:
        values["name"] = name_from_disk(values["disk"])
    return BuildAnswers(**values)


def name_from_disk(disk: Path) -> str:
    """A session name from the disk image's file name (``xp.img`` -> ``xp``)."""
    stem = disk.name.split(".")[0] or disk.name
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:64]
    return name or "build"


def load_answers(path: Path | str) -> Answers:
    """The answers in the file ``path``; a WizardError naming the file if it cannot be read."""
    path = Path(path).expanduser()
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_ANSWERS_BYTES + 1)
    except FileNotFoundError:
        raise _error(str(path), "not found", "give the path of your answers file "
                     "(an example: assets/answers/memdisk.toml)", None) from None
    except IsADirectoryError:
        raise _error(str(path), "is a folder", "give the path of the answers file itself",
                     None) from None
    except OSError as exc:
        raise _error(str(path), f"cannot be read ({exc.strerror})",
                     "check the file's permissions", None) from None
    if len(raw) > MAX_ANSWERS_BYTES:
        raise _error(str(path), f"is larger than {MAX_ANSWERS_BYTES // 1024} KiB, "
                     "so it is not an answers file", "give the answers file", None)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise _error(str(path), f"is not UTF-8 text (line {line})",
                     "save it as UTF-8", None) from None
    return parse_answers(text, str(path), base=path.resolve().parent)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # JSON's string escapes are all valid in a TOML basic string.
    return json.dumps(str(value), ensure_ascii=False)


def answers_to_toml(answers: Answers) -> str:
    """The answers as an answers file, without the secret key; ``parse_answers`` reads it back."""
    out = ["# Answers of euca-windows-wizard (run --answers FILE). The secret key is never",
           "# written here: it comes from the environment or the eucarc.", "", "[cloud]"]
    for f in fields(answers.cloud):
        value = getattr(answers.cloud, f.name)
        if f.name == "secret_key":
            if value is not None:
                out.append("# secret_key: left out (set EC2_SECRET_KEY, or use an eucarc)")
            continue
        if value is not None:
            out.append(f"{f.name} = {_toml_value(value)}")
    out += ["", "[build]"]
    for f in fields(answers.build):
        value = getattr(answers.build, f.name)
        if value is not None:
            out.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(out) + "\n"


def sandbox_answers(sandbox_folder: Path) -> Answers:
    """The whole memdisk recipe with the sandbox's sample inputs and its eucarc.

    Every key is taken from the sandbox's eucarc and given one by one, so
    nothing in the environment (a real cloud's EC2_URL) can send the samples
    anywhere but the sandbox. The memdisk is the system's when it has one,
    else the sandbox's sample (``wizard.cloud.samples``).
    """
    from wizard.credentials import load_credentials

    folder = Path(sandbox_folder)
    memdisk = folder / "sample-memdisk"
    if not memdisk.exists():
        from wizard.memdisk.find import find_memdisk

        found = find_memdisk()
        if found is None:
            raise WizardError(f"the sandbox folder {folder} holds no sample-memdisk and this "
                              "system has no memdisk", "start the sandbox again")
        memdisk = found.path
    creds = load_credentials(environ={}, eucarc=folder / "eucarc", ini_paths=[])

    def path(name: str) -> Path | None:
        value = creds.get(name)
        return Path(value) if value else None

    cloud = CloudAnswers(
        eucarc=folder / "eucarc", s3_url=creds.get("s3_url"), ec2_url=creds.get("ec2_url"),
        access_key=creds.get("access_key"), secret_key=creds.get("secret_key"),
        account=creds.get("user"), cert=path("cert"), private_key=path("private_key"),
        cloud_cert=path("cloud_cert"))
    return Answers(
        cloud,
        BuildAnswers(name="sandbox", bucket="sandbox-images", arch="i386", mode="memdisk",
                     disk=folder / "sample-disk.img", floppy=folder / "sample-floppy.img",
                     memdisk=memdisk),
    )

"""Read euca2ools 3 configuration files (``~/.euca/*.ini``).

euca2ools keeps a ``[region NAME]`` section per cloud (``ec2-url``,
``s3-url``, ``certificate`` = the cloud's certificate, ``user`` = the default
user, ``verify-ssl``, a CA bundle) and a ``[user NAME]`` section per set of
keys (``key-id``, ``secret-key``, ``account-id``, ``certificate``,
``private-key``); ``[global] default-region`` picks the region. Later files
override earlier ones, key by key, as euca2ools does. Every value remembers
the file and section it came from, so ``check`` can say where it was found.
"""

from __future__ import annotations

import configparser
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.core.errors import WizardError
from wizard.core.logs import get_logger

log = get_logger(__name__)

# Field of Credentials <- keys of a [region] section (first found wins).
REGION_KEYS: dict[str, tuple[str, ...]] = {
    "ec2_url": ("ec2-url",),
    "s3_url": ("s3-url",),
    "cloud_cert": ("certificate",),
    "verify_ssl": ("verify-ssl",),
    "ca_bundle": ("ssl-ca-bundle", "ca-bundle", "ca-cert"),
}
# Field of Credentials <- keys of a [user] section.
USER_KEYS: dict[str, tuple[str, ...]] = {
    "access_key": ("key-id",),
    "secret_key": ("secret-key",),
    "user": ("account-id",),
    "cert": ("certificate",),
    "private_key": ("private-key",),
}


@dataclass(frozen=True)
class IniValue:
    value: str
    file: Path
    section: str  # e.g. "user admin"


def default_ini_paths() -> list[Path]:
    """``~/.euca/*.ini`` in name order (later files override earlier)."""
    folder = Path("~/.euca").expanduser()
    try:
        return sorted(p for p in folder.glob("*.ini") if p.is_file())
    except OSError:
        return []


def _display(path: Path) -> str:
    home = Path.home()
    try:
        return f"~/{path.relative_to(home)}"
    except ValueError:
        return str(path)


def describe_source(item: IniValue) -> str:
    """``~/.euca/x.ini [user admin]``."""
    return f"{_display(item.file)} [{item.section}]"


def read_ini_files(paths: Sequence[Path]) -> dict[str, dict[str, IniValue]]:
    """Section name -> key -> value (with its origin), merged over ``paths``."""
    merged: dict[str, dict[str, IniValue]] = {}
    for path in paths:
        parser = configparser.RawConfigParser(strict=False)
        try:
            with open(path, encoding="utf-8") as handle:
                parser.read_file(handle)
        except OSError as exc:
            log.warning("cannot read %s (%s), skipped", path, exc.strerror or exc)
            continue
        except UnicodeDecodeError as exc:
            line = exc.object[:exc.start].count(b"\n") + 1
            raise WizardError(
                f"the euca2ools configuration file {path} is not UTF-8 text (line {line})",
                f"save {path} as UTF-8 (or plain ASCII) text, or move it aside",
            ) from None
        except configparser.Error as exc:
            raise WizardError(
                f"the euca2ools configuration file {path} is not a valid ini file "
                f"({_ini_problem(exc)})",
                f"correct or move {path} aside",
            ) from None
        for section in parser.sections():
            name = " ".join(section.split())
            target = merged.setdefault(name, {})
            for key, value in parser.items(section):
                target[key] = IniValue(value.strip(), Path(path), name)
    return merged


def _ini_problem(exc: configparser.Error) -> str:
    """Where the file goes wrong, by line number only: the line may hold a secret key."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno} comes before any [section] header"
    if isinstance(exc, configparser.ParsingError) and exc.errors:
        return f"line {exc.errors[0][0]} is neither 'key = value' nor a '[section]' header"
    return type(exc).__name__


def unchosen_regions(sections: dict[str, dict[str, IniValue]],
                     region_name: str | None) -> list[str]:
    """The region names to choose from when none is chosen and there are several.

    ``select`` then takes no [region] section at all, and the operator must be
    told why the URLs in them are not used.
    """
    regions = sorted(s.split(" ", 1)[1] for s in sections
                     if s.startswith("region ") and " " in s)
    if region_name is not None or "default-region" in sections.get("global", {}):
        return []
    return regions if len(regions) > 1 else []


def select(
    sections: dict[str, dict[str, IniValue]],
    region_name: str | None,
    user_name: str | None,
) -> dict[str, IniValue]:
    """The values for one region and one user, as Credentials fields."""
    found: dict[str, IniValue] = {}
    regions = {s.split(" ", 1)[1]: keys for s, keys in sections.items()
               if s.startswith("region ") and " " in s}
    users = {s.split(" ", 1)[1]: keys for s, keys in sections.items()
             if s.startswith("user ") and " " in s}
    region_keys: dict[str, IniValue] = {}
    region = region_name
    if region is None and "default-region" in sections.get("global", {}):
        region = sections["global"]["default-region"].value
    if region is None and len(regions) == 1:
        region = next(iter(regions))
    if region is not None:
        region_keys = regions.get(region, {})
        if region_keys:
            found["region"] = IniValue(region, region_keys[next(iter(region_keys))].file,
                                       f"region {region}")
        elif regions:
            log.info("no [region %s] in the euca2ools configuration", region)
    for field_name, keys in REGION_KEYS.items():
        for key in keys:
            if key in region_keys:
                found[field_name] = region_keys[key]
                break
    user = user_name
    if user is None and "user" in region_keys:
        user = region_keys["user"].value
    if user is None and "default-user" in sections.get("global", {}):
        user = sections["global"]["default-user"].value
    if user is None and len(users) == 1:
        user = next(iter(users))
    if user is not None:
        # euca2ools also allows [user REGION:NAME]; prefer the exact name.
        user_keys = users.get(user) or users.get(f"{region}:{user}") or {}
        if not user_keys and users:
            log.info("no [user %s] in the euca2ools configuration", user)
        for field_name, keys in USER_KEYS.items():
            for key in keys:
                if key in user_keys:
                    found[field_name] = user_keys[key]
                    break
    return found

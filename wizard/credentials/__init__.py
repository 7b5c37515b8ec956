"""Cloud credentials: what each value is, and where it came from.

Sources, highest first (issue 4): what the face was given (command-line
flags, answers), the environment, the eucarc (read as data, see ``eucarc.py``), then the
euca2ools ini files (``~/.euca/*.ini``, see ``ini.py``). Each value keeps its
source in words, so ``check`` and error messages can say "from environment
EC2_CERT" and the operator knows what to change. The secret key is shown only
through ``wizard.core.logs.mask`` and never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from wizard.core.account import normalise_account
from wizard.core.errors import WizardError
from wizard.core.logs import get_logger, mask
from wizard.credentials import ini as _ini
from wizard.credentials.eucarc import read_eucarc

__all__ = [
    "ENV_NAMES",
    "FIELD_KEYS",
    "FIELD_TITLES",
    "Credentials",
    "Value",
    "load_credentials",
]

log = get_logger(__name__)


@dataclass(frozen=True)
class Value:
    """One credential setting and its source, e.g. ("…/cert.pem", "environment EC2_CERT")."""

    value: str
    source: str

    def __repr__(self) -> str:
        # Never the value itself: a Value may hold the secret key, and a
        # repr ends up in logs and tracebacks.
        return f"Value(source={self.source!r})"


# Environment variables, in the order they are looked at. An eucarc sets the
# same names (BUNDLE-FORMAT.md section 5).
ENV_NAMES: dict[str, tuple[str, ...]] = {
    "access_key": ("EC2_ACCESS_KEY", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
    "secret_key": ("EC2_SECRET_KEY", "AWS_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
    "ec2_url": ("EC2_URL",),
    "s3_url": ("S3_URL",),
    "cert": ("EC2_CERT",),
    "private_key": ("EC2_PRIVATE_KEY",),
    "user": ("EC2_USER_ID", "EC2_ACCOUNT_NUMBER"),
    "cloud_cert": ("EUCALYPTUS_CERT",),
    "region": ("AWS_DEFAULT_REGION", "EUCA_DEFAULT_REGION"),
    "ca_bundle": ("AWS_CA_BUNDLE",),
    "verify_ssl": (),
}

# The answer key of each value (wizard.core.keys): errors about a value carry
# it, and the face names its own flag or field for it.
FIELD_KEYS: dict[str, str] = {
    "access_key": "cloud.access_key",
    "secret_key": "cloud.secret_key",
    "ec2_url": "cloud.ec2_url",
    "s3_url": "cloud.s3_url",
    "cert": "cloud.cert",
    "private_key": "cloud.private_key",
    "user": "cloud.account",
    "cloud_cert": "cloud.cloud_cert",
    "region": "cloud.region",
    "ca_bundle": "cloud.ca_bundle",
    "verify_ssl": "cloud.verify_ssl",
}

FIELD_TITLES: dict[str, str] = {
    "access_key": "access key id",
    "secret_key": "secret key",
    "ec2_url": "EC2 (compute) URL",
    "s3_url": "S3 (object storage) URL",
    "cert": "your certificate",
    "private_key": "your private key",
    "user": "account id",
    "cloud_cert": "the cloud's certificate",
    "region": "region",
    "ca_bundle": "CA bundle",
    "verify_ssl": "HTTPS verification",
}

_INI_KEYS: dict[str, str] = {
    **{k: f"[region] {v[0]}" for k, v in _ini.REGION_KEYS.items()},
    **{k: f"[user] {v[0]}" for k, v in _ini.USER_KEYS.items()},
}

_PATH_FIELDS = frozenset({"cert", "private_key", "cloud_cert", "ca_bundle"})
_SECRET_FIELDS = frozenset({"secret_key"})
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


@dataclass(frozen=True, repr=False)
class Credentials:
    access_key: Value | None = None
    secret_key: Value | None = None
    ec2_url: Value | None = None
    s3_url: Value | None = None
    cert: Value | None = None
    private_key: Value | None = None
    user: Value | None = None
    cloud_cert: Value | None = None
    region: Value | None = None
    ca_bundle: Value | None = None
    verify_ssl: Value | None = None
    # Why a value may be missing although a source seems to hold it (not a setting).
    notes: tuple[str, ...] = field(default=(), compare=False)
    # The values the face was given for this run (flags, answers), not found in
    # the environment or a file: checked even where a found one is not.
    given: frozenset[str] = field(default=frozenset(), compare=False)

    def get(self, name: str) -> str | None:
        """The value of ``name`` as a string, or None when no source set it."""
        item: Value | None = getattr(self, name)
        return item.value if item is not None else None

    def require(self, name: str) -> Value:
        """The value of ``name``; a WizardError naming every way to set it if missing."""
        item: Value | None = getattr(self, name)
        if item is not None:
            return item
        fix = _how_to_set(name)
        if self.notes:
            fix = "; ".join(self.notes) + ". Or " + fix
        # "no certificate is set", never "no your certificate is set".
        title = FIELD_TITLES[name].removeprefix("your ").removeprefix("the ")
        raise WizardError(f"no {title} is set", fix, key=FIELD_KEYS[name])

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value shown to the operator, source) for every field; secrets masked."""
        rows: list[tuple[str, str, str]] = []
        for f in fields(self):
            if f.name in ("notes", "given"):
                continue
            item: Value | None = getattr(self, f.name)
            if item is None:
                rows.append((f.name, "(not set)", "-"))
            elif f.name in _SECRET_FIELDS:
                rows.append((f.name, mask(item.value), item.source))
            else:
                rows.append((f.name, item.value, item.source))
        return rows

    @property
    def verify(self) -> bool:
        """Whether HTTPS certificates are checked (yes unless turned off)."""
        return self.get("verify_ssl") != "false"

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v, _ in self.describe() if v != "(not set)")
        return f"Credentials({shown})"


def _how_to_set(name: str) -> str:
    # Giving the value itself comes last: the face names its flag or field
    # right after the fix ("... or give your certificate (-c)").
    ways: list[str] = []
    env = ENV_NAMES[name]
    if env:
        ways.append("set " + " or ".join(env) + " in the environment or in the eucarc")
    if name in _INI_KEYS:
        ways.append(f"put {_INI_KEYS[name]} in ~/.euca/*.ini")
    title = FIELD_TITLES[name]
    ways.append("give " + (title if title.startswith(("your", "the")) else "the " + title))
    return ", or ".join(ways)


def _normalise_bool(value: str, source: str) -> str:
    word = value.strip().lower()
    if word in _TRUE:
        return "true"
    if word in _FALSE:
        return "false"
    raise WizardError(
        f"the HTTPS verification setting {value!r} (from {source}) is neither true nor false",
        "write verify-ssl = true or verify-ssl = false",
        key="cloud.verify_ssl",
    )


def load_credentials(
    flags: Mapping[str, str | None] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    eucarc: Path | str | None = None,
    ini_paths: Sequence[Path] | None = None,
    region_name: str | None = None,
    user_name: str | None = None,
    sources: Mapping[str, str] | None = None,
) -> Credentials:
    """Gather every credential value from the sources, highest priority first.

    ``flags`` maps field names to what the command line gave (None: not
    given). ``environ`` defaults to ``os.environ``; ``ini_paths`` to
    ``~/.euca/*.ini`` (pass ``[]`` to read none). ``sources`` names where
    the face took each of ``flags`` from, in its words (``{"s3_url": "--url
    flag"}``); the default is the value's answer key.
    """
    env = os.environ if environ is None else environ
    flags = dict(flags or {})
    unknown = set(flags) - set(ENV_NAMES)
    if unknown:
        raise ValueError(f"unknown credential fields: {sorted(unknown)}")
    names = {**FIELD_KEYS, **(sources or {})}
    found: dict[str, Value] = {}

    def offer(name: str, value: str | None, source: str) -> None:
        if name in found or value is None or value.strip() == "":
            return
        found[name] = Value(value.strip(), source)

    for name, value in flags.items():
        offer(name, value, names[name])
    for name, env_names in ENV_NAMES.items():
        for var in env_names:
            offer(name, env.get(var), f"environment {var}")
    if eucarc is not None:
        path = Path(eucarc).expanduser()
        data = read_eucarc(path, environ=env)
        log.info("read the eucarc %s (%d settings)", path, len(data))
        for name, env_names in ENV_NAMES.items():
            for var in env_names:
                offer(name, data.get(var), f"eucarc {path}")
    if ini_paths is None:
        ini_paths = _ini.default_ini_paths()
    notes: list[str] = []
    if ini_paths:
        region = region_name or (found["region"].value if "region" in found else None)
        sections = _ini.read_ini_files(ini_paths)
        several = _ini.unchosen_regions(sections, region)
        if several:
            notes.append("~/.euca holds several regions (" + ", ".join(several) + "): choose "
                         "one by its name as the region, or in AWS_DEFAULT_REGION")
        chosen = _ini.select(sections, region, user_name)
        for name, ini_item in chosen.items():
            offer(name, ini_item.value, _ini.describe_source(ini_item))

    for name in _PATH_FIELDS & found.keys():
        item = found[name]
        found[name] = Value(str(Path(item.value).expanduser()), item.source)
    if "user" in found:
        item = found["user"]
        found["user"] = Value(normalise_account(item.value, item.source), item.source)
    if "verify_ssl" in found:
        item = found["verify_ssl"]
        found["verify_ssl"] = Value(_normalise_bool(item.value, item.source), item.source)
    given = frozenset(name for name, value in flags.items() if value and value.strip())
    creds = Credentials(**found, notes=tuple(notes), given=given)
    for name, shown, source in creds.describe():
        if source != "-":
            log.debug("credential %s = %s (from %s)", name, shown, source)
    return creds

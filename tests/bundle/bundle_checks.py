"""Helpers that read a bundle the way the clouds do, with the OS tools.

Nothing here uses the project's own reader: the keys are unwrapped with
``openssl pkeyutl``, the parts decrypted with ``openssl enc``, inflated with
``gzip`` and unpacked with ``tar``, and the signature checked with
``openssl dgst``, as BUNDLE-FORMAT.md section 1 describes the cloud's side.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.wizard_cli import run_wizard
from wizard.bundle.bundler import Bundle
from wizard.core.events import Event

ROOT = Path(__file__).resolve().parents[2]
ERROR_PREFIX = "euca-windows-wizard: error:"
CREDENTIAL_VARS = (
    "EC2_CERT", "EC2_PRIVATE_KEY", "EC2_USER_ID", "EC2_ACCOUNT_NUMBER", "EUCALYPTUS_CERT",
    "EUCA_KEY_DIR", "EC2_URL", "S3_URL", "EC2_ACCESS_KEY", "EC2_SECRET_KEY",
    "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
)


@dataclass(frozen=True)
class MadeBundle:
    """A bundle made in a fixture, with the image it came from and its events."""

    image: Path
    bundle: Bundle
    events: tuple[Event, ...]

    @property
    def manifest_path(self) -> Path:
        return self.bundle.manifest_path

    @property
    def folder(self) -> Path:
        return self.bundle.manifest_path.parent


def run(args: list[str], stdin: bytes | None = None, check: bool = True,
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(args, input=stdin, capture_output=True, cwd=cwd, timeout=120,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}): {result.stderr!r}")
    return result


# ``python -m wizard ARGS`` with no credentials but those in ``env``.
run_cli = run_wizard


def assert_one_error_line(stderr: str, *needles: str) -> str:
    """Exactly one error line, no traceback; returns that line (checked for needles)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# --- the manifest, read with regular expressions (no XML library) -----------

def text_of(raw: bytes, tag: str) -> str:
    """The text of the one element ``tag`` (attributes allowed) in ``raw``."""
    found = re.findall(rb"<" + tag.encode() + rb"(?: [^>]*)?>([^<]*)</" + tag.encode() + rb">",
                       raw)
    assert len(found) == 1, (tag, found)
    return str(found[0].decode())


def part_entries(raw: bytes) -> list[tuple[int, str, str]]:
    """(index, filename, digest) of every part, in file order."""
    entries = re.findall(
        rb"<part index=['\"](\d+)['\"]>\s*<filename>([^<]+)</filename>\s*"
        rb"<digest algorithm=['\"]SHA1['\"]>([0-9a-fA-F]+)</digest>\s*</part>", raw)
    return [(int(i), f.decode(), d.decode()) for i, f, d in entries]


def signed_bytes(raw: bytes) -> bytes:
    """``<machine_configuration>…</machine_configuration><image>…</image>`` found
    with indexOf, as the clouds cut it (no canonicalisation)."""
    mc_start = raw.index(b"<machine_configuration>")
    mc_end = raw.index(b"</machine_configuration>") + len(b"</machine_configuration>")
    image_start = raw.index(b"<image>")
    image_end = raw.index(b"</image>") + len(b"</image>")
    return raw[mc_start:mc_end] + raw[image_start:image_end]


# --- openssl, gzip, tar ------------------------------------------------------

def unwrap(wrapped_hex: str, key: Path) -> str:
    """``openssl pkeyutl -decrypt`` (PKCS#1 v1.5) of a hex-encoded wrapping."""
    out = run(["openssl", "pkeyutl", "-decrypt", "-inkey", str(key),
               "-pkeyopt", "rsa_padding_mode:pkcs1"], stdin=bytes.fromhex(wrapped_hex)).stdout
    return out.decode("ascii")


def wrap(secret_hex: str, cert: Path) -> str:
    """``openssl pkeyutl -encrypt -certin`` of the hex string, hex-encoded."""
    out = run(["openssl", "pkeyutl", "-encrypt", "-certin", "-inkey", str(cert),
               "-pkeyopt", "rsa_padding_mode:pkcs1"], stdin=secret_hex.encode("ascii")).stdout
    return out.hex()


def decrypt_parts(parts: list[Path], key_hex: str, iv_hex: str, out: Path) -> Path:
    """``cat PARTS | openssl enc -d -aes-128-cbc -K … -iv …`` into ``out``."""
    with open(out, "wb") as sink:
        cat = subprocess.Popen(["cat", *map(str, parts)], stdout=subprocess.PIPE)
        assert cat.stdout is not None
        dec = subprocess.run(["openssl", "enc", "-d", "-aes-128-cbc", "-K", key_hex,
                              "-iv", iv_hex], stdin=cat.stdout, stdout=sink,
                             stderr=subprocess.PIPE, timeout=120, check=False)
        cat.stdout.close()
        assert cat.wait(timeout=120) == 0
    assert dec.returncode == 0, dec.stderr
    return out


def gunzip_sha1(gz: Path) -> tuple[str, int]:
    """SHA-1 and length of ``gzip -dc`` output."""
    proc = subprocess.Popen(["gzip", "-dc", str(gz)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    digest = hashlib.sha1()
    length = 0
    while chunk := proc.stdout.read(1 << 20):
        digest.update(chunk)
        length += len(chunk)
    assert proc.wait(timeout=120) == 0
    return digest.hexdigest(), length


def file_sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_signature(signed: bytes, signature_hex: str, pub: Path, work: Path) -> bool:
    """``openssl dgst -sha1 -verify PUB -signature SIG`` over ``signed``."""
    data = work / "signed.bin"
    sig = work / "sig.bin"
    data.write_bytes(signed)
    sig.write_bytes(bytes.fromhex(signature_hex))
    result = run(["openssl", "dgst", "-sha1", "-verify", str(pub), "-signature", str(sig),
                  str(data)], check=False)
    return result.returncode == 0 and b"Verified OK" in result.stdout


def first_group(pattern: bytes, raw: bytes) -> str:
    """Group 1 of the first match of ``pattern`` (which must match)."""
    match = re.search(pattern, raw, re.DOTALL)
    assert match is not None, pattern
    return str(match.group(1).decode())


def image_digest(raw: bytes) -> str:
    """The image's digest (the first digest inside <image>)."""
    return first_group(rb"<image>.*?<digest algorithm=['\"]SHA1['\"]>([^<]*)</digest>", raw)


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    def manifest(self) -> Path:
        """The path on the last stdout line, ``Wrote manifest PATH``."""
        last = self.out.strip().splitlines()[-1]
        assert last.startswith("Wrote manifest "), self.out
        return Path(last.split()[-1])


def extract_with_os_tools(manifest: Path, key: Path, work: Path, wrapping: str = "user") -> Path:
    """Decrypt, inflate and untar a bundle with openssl, gzip and tar; checks the
    digest on the way; returns the one extracted file. ``wrapping`` is "user"
    or "ec2": whose copy of the AES key ``key`` opens."""
    raw = manifest.read_bytes()
    prefix = wrapping
    aes_key = unwrap(text_of(raw, f"{prefix}_encrypted_key"), key)
    aes_iv = unwrap(text_of(raw, f"{prefix}_encrypted_iv"), key)
    parts = [manifest.parent / name for _, name, _ in part_entries(raw)]
    work.mkdir(parents=True, exist_ok=True)
    gz = decrypt_parts(parts, aes_key, aes_iv, work / "bundle.tar.gz")
    run(["gzip", "-t", str(gz)])
    digest, _ = gunzip_sha1(gz)
    assert digest == image_digest(raw)
    out = work / "extracted"
    out.mkdir()
    with open(gz, "rb") as source:
        gunzip = subprocess.Popen(["gzip", "-dc"], stdin=source, stdout=subprocess.PIPE)
        untar = subprocess.run(["tar", "-xf", "-", "-C", str(out)], stdin=gunzip.stdout,
                               capture_output=True, timeout=120, check=False)
        assert gunzip.stdout is not None
        gunzip.stdout.close()
        assert gunzip.wait(timeout=120) == 0
    assert untar.returncode == 0, untar.stderr
    files = list(out.iterdir())
    assert len(files) == 1, files
    gz.unlink()
    return files[0]

"""Bundles made by the OS tools, as euca2ools and ec2-ami-tools make them.

``tar -cS | gzip -9 | openssl enc -aes-128-cbc | split -b 10m -d``
(unpadded part names: .part.0, .part.1, …), keys wrapped with ``openssl pkeyutl -encrypt`` of
the hex strings, a manifest with double quotes and indentation, signed with
``openssl dgst -sha1 -sign`` over the text as it stands in the file.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

from tests.bundle.bundle_checks import file_sha1, run, signed_bytes, wrap
from tests.bundle.conftest import ACCOUNT, KeyFiles


@dataclass(frozen=True)
class OsBundle:
    image: Path
    manifest: Path
    parts: tuple[Path, ...]


def _euca2ools_manifest(name: str, size: int, tar_sha1: str, parts: list[Path],
                        key_hex: str, iv_hex: str, key_files: KeyFiles,
                        work: Path) -> bytes:
    """A manifest the way euca2ools writes it: double quotes, indentation, newlines."""
    part_xml = "".join(
        f'      <part index="{i}">\n'
        f"        <filename>{p.name}</filename>\n"
        f'        <digest algorithm="SHA1">{file_sha1(p)}</digest>\n'
        f"      </part>\n"
        for i, p in enumerate(parts)
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<manifest>\n"
        "  <version>2007-10-10</version>\n"
        "  <bundler>\n    <name>euca-tools</name>\n    <version>3.4.1</version>\n"
        "    <release>3.4.1</release>\n  </bundler>\n"
        "  <machine_configuration>\n"
        "    <architecture>x86_64</architecture>\n"
        "  </machine_configuration>\n"
        "  <image>\n"
        f"    <name>{name}</name>\n"
        f"    <user>{ACCOUNT}</user>\n"
        "    <type>machine</type>\n"
        f'    <digest algorithm="SHA1">{tar_sha1}</digest>\n'
        f"    <size>{size}</size>\n"
        f"    <bundled_size>{sum(p.stat().st_size for p in parts)}</bundled_size>\n"
        f'    <ec2_encrypted_key algorithm="AES-128-CBC">{wrap(key_hex, key_files.cloud_cert)}'
        "</ec2_encrypted_key>\n"
        f'    <user_encrypted_key algorithm="AES-128-CBC">{wrap(key_hex, key_files.user_cert)}'
        "</user_encrypted_key>\n"
        f"    <ec2_encrypted_iv>{wrap(iv_hex, key_files.cloud_cert)}</ec2_encrypted_iv>\n"
        f"    <user_encrypted_iv>{wrap(iv_hex, key_files.user_cert)}</user_encrypted_iv>\n"
        f'    <parts count="{len(parts)}">\n{part_xml}    </parts>\n'
        "  </image>\n"
        "  <signature>SIGNATURE</signature>\n"
        "</manifest>\n"
    ).encode()
    signed = work / "to-sign.bin"
    signed.write_bytes(signed_bytes(text))
    signature = run(["openssl", "dgst", "-sha1", "-sign", str(key_files.user_key),
                     str(signed)]).stdout.hex()
    return text.replace(b"SIGNATURE", signature.encode())


def build_with_os_tools(folder: Path, image: Path, key_files: KeyFiles,
                        gzip_members: int = 1, tar_cut: int = 0,
                        part_bytes: str = "10m") -> OsBundle:
    """tar -cS | gzip -9 | openssl enc -aes-128-cbc | split -b 10m -d (unpadded names), and a
    euca2ools-style manifest with keys wrapped and signed by openssl."""
    folder.mkdir(parents=True)
    tar = folder / "image.tar"
    run(["tar", "-cS", "-f", str(tar), "-C", str(image.parent), image.name])
    if tar_cut:  # a damaged archive, for the bad-input tests
        os.truncate(tar, tar.stat().st_size - tar_cut)
    tar_sha1 = file_sha1(tar)
    gz = folder / "image.tar.gz"
    data = tar.read_bytes()
    with open(gz, "wb") as out:
        # Several members when asked: what some tools write (cat of gzip outputs).
        cut = [len(data) * i // gzip_members for i in range(gzip_members + 1)]
        for start, end in itertools.pairwise(cut):
            out.write(run(["gzip", "-9", "-c"], stdin=data[start:end]).stdout)
    key_hex, iv_hex = os.urandom(16).hex(), os.urandom(16).hex()
    enc = folder / "image.tar.gz.enc"
    run(["openssl", "enc", "-aes-128-cbc", "-K", key_hex, "-iv", iv_hex, "-in", str(gz),
         "-out", str(enc)])
    bundle = folder / "bundle"
    bundle.mkdir()
    run(["split", "-b", part_bytes, "-a", "3", "-d", str(enc), f"{image.name}.part."],
        cwd=bundle)
    # ec2-ami-tools names parts .part.0, .part.1, … .part.10: no padding, so
    # past ten parts a lexical sort is NOT the index order.
    for padded in bundle.glob(f"{image.name}.part.*"):
        padded.rename(bundle / f"{image.name}.part.{int(padded.suffix[1:])}")
    parts = sorted(bundle.glob(f"{image.name}.part.*"), key=lambda p: int(p.suffix[1:]))
    manifest = bundle / f"{image.name}.manifest.xml"
    manifest.write_bytes(_euca2ools_manifest(image.name, image.stat().st_size, tar_sha1, parts,
                                             key_hex, iv_hex, key_files, folder))
    for leftover in (tar, gz, enc):
        leftover.unlink()
    return OsBundle(image, manifest, tuple(parts))

"""Bundles read the way the cloud reads them: openssl, gzip and tar, not our reader.

BUNDLE-FORMAT.md sections 1 and 2, byte by byte: the key and IV unwrap to
32-character hex strings with either private key, the concatenated parts
decrypt with ``openssl enc``, inflate as one gzip member whose output hashes
to the manifest's digest, untar to exactly the image; the signature verifies
with ``openssl dgst`` over the text cut from the file; the manifest's layout.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import zlib
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import (
    MadeBundle,
    decrypt_parts,
    file_sha1,
    first_group,
    gunzip_sha1,
    image_digest,
    part_entries,
    run,
    signed_bytes,
    text_of,
    unwrap,
    verify_signature,
)
from tests.bundle.conftest import ACCOUNT, MIB, KeyFiles, make_bundle
from wizard.bundle.bundler import PART_SIZE
from wizard.bundle.keys import BundleKeys

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(params=["big", "disk"])
def made(request: pytest.FixtureRequest) -> MadeBundle:
    """Each check runs on the 105 MiB random bundle (default parts) and on the
    sparse disk bundle (prefix, i386, kernel and ramdisk ids, 1 MiB parts)."""
    result: MadeBundle = request.getfixturevalue(f"{request.param}_bundle")
    return result


def _expected_tags(made: MadeBundle) -> list[str]:
    raw = made.manifest_path.read_bytes()
    config = ["architecture"]
    if b"<kernel_id>" in raw:
        config.append("kernel_id")
    if b"<ramdisk_id>" in raw:
        config.append("ramdisk_id")
    parts = ["part", "filename", "digest"] * len(made.bundle.part_paths)
    return [
        "manifest", "version", "bundler", "name", "version", "release",
        "machine_configuration", *config,
        "image", "name", "user", "type", "digest", "size", "bundled_size",
        "ec2_encrypted_key", "user_encrypted_key", "ec2_encrypted_iv", "user_encrypted_iv",
        "parts", *parts, "signature",
    ]


def test_manifest_layout(made: MadeBundle) -> None:
    raw = made.manifest_path.read_bytes()
    assert raw.startswith(b"<?xml version='1.0'?><manifest>")
    assert raw.rstrip(b"\n").endswith(b"</manifest>")
    assert re.search(rb">\s+<", raw) is None, "whitespace between elements"
    assert b'"' not in raw, "attributes must be single-quoted"
    for attrs in re.findall(rb"<[a-z0-9_]+( [^>]*)>", raw):
        assert re.fullmatch(rb"( [a-z_]+='[^']*')+", attrs), attrs
    tags = [t.decode() for t in re.findall(rb"<([a-z0-9_]+)[ >]", raw)]
    assert tags == _expected_tags(made)
    assert raw.startswith(b"<?xml version='1.0'?><manifest><version>2007-10-10</version>"
                          b"<bundler><name>")

    prefix = made.bundle.manifest.name
    assert text_of(raw, "user") == ACCOUNT
    assert re.fullmatch(r"\d{12}", text_of(raw, "user"))
    assert text_of(raw, "type") == "machine"
    assert re.fullmatch(r"[0-9a-f]{40}", image_digest(raw))
    assert int(text_of(raw, "size")) == made.image.stat().st_size

    entries = part_entries(raw)
    folder = made.folder
    on_disk = sorted(p.name for p in folder.glob(f"{prefix}.part.*"))
    assert sorted(os.listdir(folder)) == sorted([*on_disk, f"{prefix}.manifest.xml"])
    assert [i for i, _, _ in entries] == list(range(len(entries)))
    assert first_group(rb"<parts count='(\d+)'>", raw) == str(len(entries))
    names = [name for _, name, _ in entries]
    assert names == on_disk, "a lexical sort of the part names must be the index order"
    width = len(names[0].rsplit(".", 1)[1])
    assert width >= 2
    for index, name in enumerate(names):
        assert name == f"{prefix}.part.{index:0{width}d}"
    sizes = [(folder / name).stat().st_size for name in names]
    part_size = PART_SIZE if made.bundle.manifest.name == "big.img" else MIB
    assert all(size == part_size for size in sizes[:-1]), sizes
    assert 0 < sizes[-1] <= part_size
    assert int(text_of(raw, "bundled_size")) == sum(sizes)
    for _, name, digest in entries:
        assert digest == file_sha1(folder / name), name


def test_big_bundle_has_more_than_ten_ten_mib_parts(big_bundle: MadeBundle) -> None:
    raw = big_bundle.manifest_path.read_bytes()
    names = [name for _, name, _ in part_entries(raw)]
    assert len(names) == 11
    assert names[9:] == ["big.img.part.09", "big.img.part.10"]
    assert [p.stat().st_size for p in big_bundle.bundle.part_paths[:-1]] == [10_485_760] * 10


@pytest.mark.parametrize("who", ["user", "cloud"])
def test_key_and_iv_unwrap_with_openssl_to_hex_strings(
    made: MadeBundle, key_files: KeyFiles, who: str
) -> None:
    raw = made.manifest_path.read_bytes()
    tag = "user" if who == "user" else "ec2"
    key_file = key_files.user_key if who == "user" else key_files.cloud_key
    aes_key = unwrap(text_of(raw, f"{tag}_encrypted_key"), key_file)
    aes_iv = unwrap(text_of(raw, f"{tag}_encrypted_iv"), key_file)
    assert HEX32.fullmatch(aes_key), aes_key
    assert HEX32.fullmatch(aes_iv), aes_iv
    assert aes_key != aes_iv
    # Both wrappings hold the same key and IV.
    other = "ec2" if tag == "user" else "user"
    other_file = key_files.cloud_key if who == "user" else key_files.user_key
    assert unwrap(text_of(raw, f"{other}_encrypted_key"), other_file) == aes_key
    assert unwrap(text_of(raw, f"{other}_encrypted_iv"), other_file) == aes_iv
    # ... and each only for its own key.
    result = run(["openssl", "pkeyutl", "-decrypt", "-inkey", str(other_file)],
                 stdin=bytes.fromhex(text_of(raw, f"{tag}_encrypted_key")), check=False)
    assert result.returncode != 0 or result.stdout.decode("latin-1") != aes_key


def test_every_bundle_gets_a_fresh_key(disk_image: Path, bundle_keys: BundleKeys,
                                       key_files: KeyFiles, tmp_path: Path) -> None:
    first = make_bundle(disk_image, tmp_path / "a", bundle_keys, part_size=4 * MIB)
    second = make_bundle(disk_image, tmp_path / "b", bundle_keys, part_size=4 * MIB)
    keys = [unwrap(text_of(m.manifest_path.read_bytes(), "user_encrypted_key"),
                   key_files.user_key) for m in (first, second)]
    assert keys[0] != keys[1]
    assert first.bundle.part_paths[0].read_bytes() != second.bundle.part_paths[0].read_bytes()


def test_os_tools_decrypt_inflate_and_untar_the_image(
    made: MadeBundle, key_files: KeyFiles, tmp_path: Path
) -> None:
    raw = made.manifest_path.read_bytes()
    prefix = made.bundle.manifest.name
    # The cloud's way: its own key, parts in index order (here: a shell glob's order).
    aes_key = unwrap(text_of(raw, "ec2_encrypted_key"), key_files.cloud_key)
    aes_iv = unwrap(text_of(raw, "ec2_encrypted_iv"), key_files.cloud_key)
    parts = sorted(made.folder.glob(f"{prefix}.part.*"))
    assert [p.name for p in parts] == [name for _, name, _ in part_entries(raw)]
    gz = decrypt_parts(parts, aes_key, aes_iv, tmp_path / "image.tar.gz")

    run(["gzip", "-t", str(gz)])
    digest, tar_length = gunzip_sha1(gz)
    assert digest == image_digest(raw)

    # Exactly one gzip member: inflating it leaves nothing after its trailer.
    inflater = zlib.decompressobj(31)
    inflated = 0
    with open(gz, "rb") as handle:
        while chunk := handle.read(1 << 22):
            assert not inflater.eof, "data after the first gzip member"
            inflated += len(inflater.decompress(chunk))
    inflated += len(inflater.flush())
    assert inflater.eof
    assert inflater.unused_data == b""
    assert inflated == tar_length
    assert tar_length % 10240 == 0  # whole tar records, as GNU tar writes

    tar_file = tmp_path / "image.tar"
    with open(tar_file, "wb") as out:
        subprocess.run(["gzip", "-dc", str(gz)], stdout=out, check=True, timeout=120)
    listing = run(["tar", "--numeric-owner", "-tvf", str(tar_file)]).stdout.decode()
    lines = listing.splitlines()
    assert len(lines) == 1, listing
    fields = lines[0].split()
    assert fields[0] == "-rw-r--r--"
    assert fields[1] == "0/0"
    assert int(fields[2]) == made.image.stat().st_size
    assert fields[-1] == prefix
    with tarfile.open(tar_file) as archive:
        members = archive.getmembers()
    assert [(m.name, m.uid, m.gid, m.mode, m.type) for m in members] == [
        (prefix, 0, 0, 0o644, tarfile.REGTYPE)]

    out_dir = tmp_path / "x"
    out_dir.mkdir()
    run(["tar", "-xf", str(tar_file), "-C", str(out_dir)])
    assert os.listdir(out_dir) == [prefix]
    run(["cmp", str(made.image), str(out_dir / prefix)])


def test_signature_verifies_with_openssl(made: MadeBundle, key_files: KeyFiles,
                                         tmp_path: Path) -> None:
    raw = made.manifest_path.read_bytes()
    signed = signed_bytes(raw)
    # Immediately followed: the signed text is one run of the file.
    assert signed in raw
    signature = text_of(raw, "signature")
    assert re.fullmatch(r"[0-9a-f]{512}", signature)  # RSA 2048, hex
    assert verify_signature(signed, signature, key_files.user_pub, tmp_path)
    # The check can fail: another key, or one changed byte.
    assert not verify_signature(signed, signature, key_files.cloud_pub, tmp_path)
    changed = signed.replace(b"<size>", b"<size>1", 1)
    assert not verify_signature(changed, signature, key_files.user_pub, tmp_path)


def test_many_parts_keep_lexical_order(bundle_keys: BundleKeys, key_files: KeyFiles,
                                       tmp_path: Path) -> None:
    """Over 100 parts: three-digit indexes, and ``cat PREFIX.part.*`` still works."""
    image = tmp_path / "floppy.img"
    image.write_bytes(os.urandom(2 * MIB))  # 2 MiB: no floppy, so a machine image
    made = make_bundle(image, tmp_path / "out", bundle_keys, part_size=16 * 1024)
    raw = made.manifest_path.read_bytes()
    names = [name for _, name, _ in part_entries(raw)]
    assert len(names) > 100
    assert all(re.fullmatch(r"floppy\.img\.part\.\d{3}", n) for n in names), names[:3]
    globbed = sorted(made.folder.glob("floppy.img.part.*"))
    assert [p.name for p in globbed] == names
    aes_key = unwrap(text_of(raw, "user_encrypted_key"), key_files.user_key)
    aes_iv = unwrap(text_of(raw, "user_encrypted_iv"), key_files.user_key)
    gz = decrypt_parts(globbed, aes_key, aes_iv, tmp_path / "x.tar.gz")
    with tarfile.open(gz, "r:gz") as archive:
        member = archive.next()
        assert member is not None
        extracted = archive.extractfile(member)
        assert extracted is not None
        assert hashlib.sha1(extracted.read()).digest() == hashlib.sha1(
            image.read_bytes()).digest()


def test_ciphertext_of_exactly_two_parts_has_no_empty_third(
    bundle_keys: BundleKeys, key_files: KeyFiles, tmp_path: Path
) -> None:
    """Random data sized until the ciphertext is exactly 2 x 10,485,760 bytes.

    Compression of given data is deterministic, so the size of the bundle
    follows the image's size almost byte for byte; a few tries find it.
    """
    target = 2 * PART_SIZE
    pool = os.urandom(target)
    length = target - 64 * 1024
    made = None
    for attempt in range(40):
        image = tmp_path / f"try{attempt}" / "exact.img"
        image.parent.mkdir()
        image.write_bytes(pool[:length])
        made = make_bundle(image, tmp_path / f"try{attempt}" / "out", bundle_keys)
        bundled = made.bundle.manifest.bundled_size
        if bundled == target:
            break
        shutil.rmtree(image.parent)
        step = target - bundled
        length += step if abs(step) > 16 else (8 if step > 0 else -8)
    else:
        pytest.fail("no image size gave a ciphertext of exactly two parts")
    assert made is not None
    files = sorted(made.folder.glob("exact.img.part.*"))
    assert [p.name for p in files] == ["exact.img.part.00", "exact.img.part.01"]
    assert [p.stat().st_size for p in files] == [PART_SIZE, PART_SIZE]
    raw = made.manifest_path.read_bytes()
    assert re.search(rb"<parts count='2'>", raw)
    assert int(text_of(raw, "bundled_size")) == target
    aes_key = unwrap(text_of(raw, "user_encrypted_key"), key_files.user_key)
    aes_iv = unwrap(text_of(raw, "user_encrypted_iv"), key_files.user_key)
    gz = decrypt_parts(files, aes_key, aes_iv, tmp_path / "exact.tar.gz")
    run(["gzip", "-t", str(gz)])
    digest, _ = gunzip_sha1(gz)
    assert digest == made.bundle.manifest.digest


def test_machine_configuration_order_with_mappings_and_product_codes(
    bundle_keys: BundleKeys, key_files: KeyFiles, tmp_path: Path
) -> None:
    """kernel_id and ramdisk_id come after block device mappings and product codes."""
    image = tmp_path / "w.img"
    image.write_bytes(os.urandom(5000))
    made = make_bundle(image, tmp_path / "out", bundle_keys, kernel_id="eki-11111111",
                       ramdisk_id="eri-22222222",
                       block_device_mapping=(("ami", "sda1"), ("root", "/dev/sda1")),
                       product_codes=("8A3C1F2E",))
    raw = made.manifest_path.read_bytes()
    assert (
        b"<machine_configuration><architecture>x86_64</architecture>"
        b"<block_device_mapping><mapping><virtual>ami</virtual><device>sda1</device></mapping>"
        b"<mapping><virtual>root</virtual><device>/dev/sda1</device></mapping>"
        b"</block_device_mapping><product_codes><product_code>8A3C1F2E</product_code>"
        b"</product_codes><kernel_id>eki-11111111</kernel_id><ramdisk_id>eri-22222222"
        b"</ramdisk_id></machine_configuration><image>"
    ) in raw
    assert verify_signature(signed_bytes(raw), text_of(raw, "signature"), key_files.user_pub,
                            tmp_path)

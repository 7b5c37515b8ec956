"""The FAT12 reader against images mtools and dosfstools made, intact and damaged."""

from __future__ import annotations

import itertools
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.floppy.images import (
    FAT1,
    NTBOOTDD,
    NTDETECT,
    NTLDR,
    XP_MULTI_INI,
    add_file,
    build_floppy,
    fat_entry,
    format_image,
    ready_image,
    root_entry,
    run,
    set_fat,
)
from wizard.floppy.fat12 import FLOPPY_SIZE, DirEntry, Fat12Volume, FatError


@pytest.mark.parametrize("tool", ["mformat", "mkfs.fat"])
def test_reads_back_what_mtools_copied(tmp_path: Path, tool: str) -> None:
    image = build_floppy(tmp_path / "f.img", tool=tool, nt=False, ntbootdd=True)
    volume = Fat12Volume(image.read_bytes())
    assert volume.bpb.bytes_per_sector == 512
    assert volume.bpb.total_sectors == 2880
    assert volume.bpb.media == 0xF0
    names = [entry.name for entry in volume.root_folder()]
    assert names == ["NTLDR", "NTDETECT.COM", "BOOT.INI", "NTBOOTDD.SYS"]
    for name, content in [("NTLDR", NTLDR), ("NTDETECT.COM", NTDETECT),
                          ("BOOT.INI", XP_MULTI_INI), ("NTBOOTDD.SYS", NTBOOTDD)]:
        entry = volume.find(name.lower())
        assert entry is not None
        assert entry.hidden  # mattrib +h was applied, as on C:\
        assert volume.read_file(entry).data == content


def test_fragmented_file_follows_its_chain(tmp_path: Path) -> None:
    image = format_image(tmp_path / "f.img")
    add_file(image, "A.BIN", b"a" * 3000, hidden=False)
    add_file(image, "B.BIN", b"b" * 3000, hidden=False)
    add_file(image, "C.BIN", b"c" * 3000, hidden=False)
    run("mdel", "-i", image, "::B.BIN")
    big = bytes(range(256)) * 40  # 10,240 bytes: fills B's hole, then goes on past C
    add_file(image, "D.BIN", big, hidden=False)
    data = image.read_bytes()
    _, first, _ = root_entry(data, "D.BIN")
    chain = [first]
    while fat_entry(data, chain[-1]) < 0xFF8:
        chain.append(fat_entry(data, chain[-1]))
    assert any(b - a != 1 for a, b in itertools.pairwise(chain)), "the fixture is not fragmented"
    volume = Fat12Volume(data)
    entry = volume.find("D.BIN")
    assert entry is not None
    assert volume.read_file(entry).data == big
    mtype = subprocess.run(["mtype", "-i", str(image), "::D.BIN"], capture_output=True,
                           check=True, timeout=60).stdout
    assert mtype == big


def test_long_names_labels_and_folders(tmp_path: Path) -> None:
    image = format_image(tmp_path / "f.img")
    run("mlabel", "-i", image, "::BOOTDISK")
    run("mmd", "-i", image, "::SUB")
    add_file(image, "Long File Name.txt", b"x" * 10, hidden=False)
    volume = Fat12Volume(image.read_bytes())
    entries = {entry.name: entry for entry in volume.root_folder()}
    assert set(entries) == {"SUB", "LONGFI~1.TXT"}
    assert entries["SUB"].is_directory
    assert volume.bpb.volume_label in ("BOOTDISK", "NO NAME")


def _ntldr_chain_start() -> tuple[bytearray, int]:
    data = bytearray(ready_image())
    _, first, size = root_entry(bytes(data), "NTLDR")
    assert size == len(NTLDR)
    return data, first


def _read_ntldr(data: bytes | bytearray) -> bytes:
    volume = Fat12Volume(bytes(data))
    entry = volume.find("NTLDR")
    assert entry is not None
    return volume.read_file(entry).data


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda first: (first + 5, first + 2), "loops back to cluster"),
        (lambda first: (first + 5, 0), "marks cluster"),
        (lambda first: (first + 5, 4000), "outside the floppy's clusters"),
        (lambda first: (first + 5, 0xFF7), "bad cluster"),
        (lambda first: (first + 5, 0xFF8), "ends after 6 clusters"),
        (lambda first: (first + 5, 0xFF3), "reserved value 0xFF3"),
        (lambda first: (first + 5, 1), "reserved value 0x001"),
    ],
)
def test_damaged_chains_are_named(damage, words: str) -> None:
    data, first = _ntldr_chain_start()
    cluster, value = damage(first)
    set_fat(data, cluster, value)
    with pytest.raises(FatError, match=words.replace("(", r"\(")):
        _read_ntldr(data)


def test_free_target_of_a_pointer_is_caught() -> None:
    # A chain that points to a cluster the FAT marks free ("lost" data).
    data, first = _ntldr_chain_start()
    free = 2800
    assert fat_entry(bytes(data), free) == 0
    set_fat(data, first + 1, free)
    with pytest.raises(FatError, match=f"cluster {free} free"):
        _read_ntldr(data)


def test_bad_first_cluster_and_oversized_file() -> None:
    data = bytearray(ready_image())
    offset, _, _ = root_entry(bytes(data), "NTLDR")
    struct.pack_into("<H", data, offset + 26, 0)
    with pytest.raises(FatError, match="starts at cluster 0"):
        _read_ntldr(data)
    struct.pack_into("<HI", data, offset + 26, 2, 0xFFFFFFFF)
    with pytest.raises(FatError, match="more than the"):
        _read_ntldr(data)


def test_chain_longer_than_the_file_is_a_note() -> None:
    data = bytearray(ready_image())
    _, first, size = root_entry(bytes(data), "BOOT.INI")
    assert size < 512
    set_fat(data, first, 2850)
    set_fat(data, 2850, 0xFFF)
    volume = Fat12Volume(bytes(data))
    entry = volume.find("BOOT.INI")
    assert entry is not None
    result = volume.read_file(entry)
    assert result.data == XP_MULTI_INI
    assert "runs past the end" in result.notes[0]


def test_truncated_image_cannot_reach_its_clusters() -> None:
    data = ready_image()[: 40 * 512]
    volume = Fat12Volume(data)
    entry = volume.find("NTLDR")
    assert entry is not None
    with pytest.raises(FatError, match="beyond the end of the image"):
        volume.read_file(entry)


def _patched(offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(ready_image())
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "words"),
    [
        (11, "<H", 0, "0 bytes per sector"),
        (11, "<H", 100, "100 bytes per sector"),
        (13, "<B", 0, "0 sectors per cluster"),
        (13, "<B", 3, "3 sectors per cluster"),
        (14, "<H", 0, "0 reserved sectors"),
        (16, "<B", 0, "0 FAT copies"),
        (17, "<H", 0, "root folder of 0 entries"),
        (19, "<H", 20, "leave no room for data"),
        (22, "<H", 0, "0 sectors per FAT"),
        (22, "<H", 1, "too small"),
        (14, "<H", 2870, "leave no room for data"),
    ],
)
def test_bad_bpb_values_are_refused(offset: int, fmt: str, value: int, words: str) -> None:
    with pytest.raises(FatError, match=words):
        Fat12Volume(_patched(offset, fmt, value))


def test_too_many_clusters_for_fat12() -> None:
    data = bytearray(ready_image())
    struct.pack_into("<H", data, 19, 0)
    struct.pack_into("<I", data, 32, 100_000)  # the 32-bit total takes over
    with pytest.raises(FatError, match="too many for FAT12"):
        Fat12Volume(bytes(data))


def test_short_images() -> None:
    with pytest.raises(FatError, match="less than one sector"):
        Fat12Volume(b"\xeb\x3c\x90")
    with pytest.raises(FatError, match="ends before the FATs"):
        Fat12Volume(ready_image()[:4000])
    assert FLOPPY_SIZE == 1_474_560


def _exercise(data: bytes) -> None:
    try:
        volume = Fat12Volume(data)
    except FatError:
        return
    for entry in volume.root_folder():
        assert isinstance(entry, DirEntry)
        try:
            content = volume.read_file(entry)
        except FatError as exc:
            assert str(exc)
        else:
            assert len(content.data) == entry.size


@settings(max_examples=300, deadline=2000)
@given(st.lists(st.tuples(st.integers(0, 33 * 512 + 4096), st.integers(0, 255)),
                min_size=1, max_size=40))
def test_fuzz_mutated_images_never_crash(mutations: list[tuple[int, int]]) -> None:
    # Mutations land in the boot sector, both FATs, the root folder and the
    # first data clusters: where the structure a reader trusts lives.
    data = bytearray(ready_image())
    for offset, value in mutations:
        data[offset] = value
    _exercise(bytes(data))


@settings(max_examples=200, deadline=2000)
@given(st.integers(0, FLOPPY_SIZE), st.binary(min_size=0, max_size=64))
def test_fuzz_truncated_and_spliced_images_never_crash(cut: int, junk: bytes) -> None:
    _exercise(ready_image()[:cut] + junk)


@settings(max_examples=200, deadline=2000)
@given(st.binary(min_size=512, max_size=8192))
def test_fuzz_random_fat_bytes_never_crash(fat: bytes) -> None:
    # Any FAT whatever, loops and wild pointers included, behind a good BPB.
    data = bytearray(ready_image())
    data[FAT1 : FAT1 + len(fat)] = fat
    _exercise(bytes(data))

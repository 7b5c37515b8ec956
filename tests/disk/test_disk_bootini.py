"""BOOT.INI parsing: real XP/2003 files, every ARC form, and garbage that must not raise."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.disk.bootini import (
    BootIni,
    decode_boot_ini,
    parse_arc_path,
    parse_boot_ini,
    parse_boot_ini_bytes,
)

XP_MULTI = (
    "[boot loader]\r\n"
    "timeout=30\r\n"
    "default=multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\r\n"
    "[operating systems]\r\n"
    'multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS="Microsoft Windows XP Professional" '
    "/noexecute=optin /fastdetect\r\n"
    'C:\\CMDCONS\\BOOTSECT.DAT="Microsoft Windows Recovery Console" /cmdcons\r\n'
)

SERVER_SCSI = (
    "[boot loader]\n"
    "timeout=5\n"
    "default=scsi(0)disk(1)rdisk(0)partition(2)\\WINNT\n"
    "[operating systems]\n"
    'scsi(0)disk(1)rdisk(0)partition(2)\\WINNT="Windows Server 2003, Standard" /fastdetect\n'
)


def test_xp_multi_boot_ini() -> None:
    ini = parse_boot_ini(XP_MULTI)
    assert ini.ok, ini.problems
    assert ini.timeout == 30
    assert ini.default is not None
    assert ini.default.kind == "multi"
    assert (ini.default.controller, ini.default.disk, ini.default.rdisk) == (0, 0, 0)
    assert ini.default.partition == 1
    assert ini.default.folder == "\\WINDOWS"
    assert not ini.needs_ntbootdd
    assert len(ini.entries) == 2
    first, console = ini.entries
    assert first.description == "Microsoft Windows XP Professional"
    assert first.switches == ("/noexecute=optin", "/fastdetect")
    assert console.path.kind == "dos"
    assert console.switches == ("/cmdcons",)
    assert ini.default_entry is first


def test_scsi_boot_ini_needs_ntbootdd() -> None:
    ini = parse_boot_ini(SERVER_SCSI)
    assert ini.ok, ini.problems
    assert ini.needs_ntbootdd
    assert ini.default is not None
    assert ini.default.kind == "scsi"
    assert (ini.default.disk, ini.default.partition, ini.default.folder) == (1, 2, "\\WINNT")


def test_signature_path() -> None:
    path = parse_arc_path("signature(8b467c12)disk(1)rdisk(0)partition(1)\\WINDOWS")
    assert path.well_formed, path.problems
    assert path.kind == "signature"
    assert path.signature == "8B467C12"
    assert path.controller is None
    assert path.partition == 1
    assert path.needs_ntbootdd


def test_only_a_scsi_entry_but_multi_default_still_needs_ntbootdd() -> None:
    text = XP_MULTI + 'scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS="other"\n'
    assert parse_boot_ini(text).needs_ntbootdd


def test_scsi_default_alone_needs_ntbootdd() -> None:
    text = ("[boot loader]\ndefault=scsi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\n"
            "[operating systems]\n"
            'multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS="XP"\n')
    ini = parse_boot_ini(text)
    assert ini.needs_ntbootdd
    # Same folder, different path: the default is not a listed entry.
    assert ini.default_entry is None
    assert any("(default)" in note for note in ini.notes)


def test_case_and_spacing_are_tolerated() -> None:
    path = parse_arc_path("  MULTI(0)DISK(0)RDISK(1)PARTITION(3)\\Windows  ")
    assert path.well_formed, path.problems
    assert (path.kind, path.rdisk, path.partition, path.folder) == ("multi", 1, 3, "\\Windows")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("multi(0)disk(0)rdisk(0)partition(0)\\WINDOWS", "partition(0)"),
        ("multi(0)disk(0)rdisk(0)partition(1)", "no Windows folder"),
        ("multi(0)disk(0)partition(1)\\WINDOWS", "should read"),
        ("multi(x)disk(0)rdisk(0)partition(1)\\WINDOWS", "needs a number"),
        ("eisa(0)disk(0)rdisk(0)partition(1)\\WINDOWS", "not an ARC path kind"),
        ("signature(zz)disk(0)rdisk(0)partition(1)\\WINDOWS", "hex number"),
        ("WINDOWS", "not an ARC path"),
        ("multi(0)disk(0)rdisk(0)partition(1)WINDOWS", "folder such as"),
        ("multi(0)disk(0)rdisk(0)partition(" + "9" * 5000 + ")\\W", "needs a number"),
    ],
)
def test_malformed_arc_paths_are_named(text: str, words: str) -> None:
    path = parse_arc_path(text)
    assert not path.well_formed
    assert any(words in problem for problem in path.problems), path.problems


def test_malformed_default_is_a_problem() -> None:
    text = XP_MULTI.replace("default=multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS",
                            "default=multi(0)disk(0)rdisk(0)partition(0)\\WINDOWS")
    ini = parse_boot_ini(text)
    assert not ini.ok
    assert any(p.startswith("default= on line 3") for p in ini.problems)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   \r\n\r\n", "empty"),
        ("[operating systems]\nmulti(0)disk(0)rdisk(0)partition(1)\\W=\"x\"\n",
         "no [boot loader]"),
        ("[boot loader]\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\W\n",
         "no [operating systems]"),
        ("[boot loader]\ntimeout=30\n[operating systems]\n", "no default="),
        ("[boot loader]\ntimeout=soon\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\W\n"
         "[operating systems]\nmulti(0)disk(0)rdisk(0)partition(1)\\W=\"x\"\n",
         "not a number of seconds"),
        ("[boot loader]\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\W\n"
         "[operating systems]\n", "lists no entry"),
        ("[boot loader]\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\W\n"
         "[operating systems]\nmulti(0)disk(0)rdisk(0)partition(1)\\W\n", "not PATH="),
        ("[boot loader]\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\W\n"
         "[operating systems]\nmulti(0)disk(0)rdisk(0)partition(1)\\W=\"open\n",
         "no closing quote"),
        ("\x00\x00\x00garbage\x00", "NUL bytes"),
    ],
)
def test_broken_files_list_their_problems(text: str, words: str) -> None:
    ini = parse_boot_ini(text)
    assert not ini.ok
    assert any(words in problem for problem in ini.problems), ini.problems


def test_comments_and_unknown_lines_are_notes_not_problems() -> None:
    text = "; written by hand\nstray line\n" + XP_MULTI + "[debug]\nport=com1\n"
    ini = parse_boot_ini(text)
    assert ini.ok, ini.problems
    assert any("stray line" in note for note in ini.notes)


def test_garbage_lists_are_capped() -> None:
    text = "[boot loader]\n[operating systems]\n" + "nonsense\n" * 500
    ini = parse_boot_ini(text)
    assert len(ini.problems) <= 21
    assert ini.problems[-1].startswith("… and")


def test_decode_is_lenient_and_keeps_every_byte() -> None:
    data = bytes(range(256))
    text = decode_boot_ini(data)
    assert len(text) == 256
    assert decode_boot_ini(b"caf\xe9 \x80") == "café €"
    assert decode_boot_ini(codecs.BOM_UTF8 + b"[boot loader]") == "[boot loader]"


def test_unicode_saved_boot_ini_is_refused_with_the_fix() -> None:
    ini = parse_boot_ini_bytes(codecs.BOM_UTF16_LE + XP_MULTI.encode("utf-16-le"))
    assert not ini.ok
    assert "ANSI" in ini.problems[0]


def test_bytes_round_trip() -> None:
    assert parse_boot_ini_bytes(SERVER_SCSI.encode("cp1252")).needs_ntbootdd


def _check_total(ini: BootIni) -> None:
    assert isinstance(ini, BootIni)
    # parse_boot_ini turns its own crash into this problem so that a report
    # still comes out; a fuzz run that meets it has found a parser bug.
    assert not any(p.startswith("BOOT.INI could not be read (") for p in ini.problems), \
        ini.problems
    # Every derived view must work on whatever was parsed.
    _ = (ini.ok, ini.needs_ntbootdd, ini.default_entry, ini.boot_path)
    for line in (*ini.problems, *ini.notes):
        assert "\n" not in line


_ARCISH = st.lists(
    st.sampled_from([
        "[boot loader]", "[operating systems]", "timeout=", "default=", "multi(", "scsi(",
        "signature(", ")", "(", "disk(", "rdisk(", "partition(", "\\WINDOWS", "=", '"', "/",
        "0", "1", "ff", "\r\n", "\n", " ", ";", "\x00", "C:\\", "-", "99999999999",
    ]),
    max_size=60,
).map("".join)


@settings(max_examples=400, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=2000), _ARCISH))
def test_fuzz_parse_boot_ini_never_raises(text: str) -> None:
    _check_total(parse_boot_ini(text))


@settings(max_examples=300, deadline=500)
@given(st.binary(max_size=2000))
def test_fuzz_parse_boot_ini_bytes_never_raises(data: bytes) -> None:
    _check_total(parse_boot_ini_bytes(data))


@settings(max_examples=300, deadline=500)
@given(st.text(max_size=500))
def test_fuzz_parse_arc_path_never_raises(text: str) -> None:
    path = parse_arc_path(text)
    assert path.kind in ("", "multi", "scsi", "signature", "dos")
    if path.well_formed and path.kind != "dos":
        assert path.partition is not None and path.partition >= 1
        assert path.folder is not None and path.folder.startswith("\\")


def test_long_pathological_input_is_quick() -> None:
    # Regex backtracking would make these take minutes; they must be instant.
    for text in ("multi" + " " * 100_000, "a" * 200_000 + "(", "(" * 100_000,
                 "[boot loader]\ndefault=" + "x(" * 50_000):
        _check_total(parse_boot_ini(text))

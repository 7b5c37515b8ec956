"""Errors name the input, not a flag: the engine's texts carry answer keys, the CLI the flags.

The engine (everything under wizard/ but the faces, wizard/cli and wizard/tui)
is read as Python (ast), and every string that can become an error's message
or fix is looked at: the literals inside a call of ``WizardError`` (or any
``...Error``), ``CheckResult`` or ``Check``, the ``fix=`` keyword anywhere, and
literals assigned to a name with ``fix`` in it. None may name a command-line
flag (``-u``, ``--concurrency``). Commands of other programs (``qemu-img
convert -f``, ``attrib -h``, ``virsh ... --config``) are theirs, not ours.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.wizard_cli import run_wizard
from wizard.cli.flags import FLAGS, where
from wizard.cli.main import build_parser
from wizard.core.errors import WizardError
from wizard.core.keys import KEYS

ROOT = Path(__file__).resolve().parents[1]
ENGINE = [path for path in sorted((ROOT / "wizard").rglob("*.py"))
          if path.relative_to(ROOT / "wizard").parts[0] not in ("cli", "tui")]

# A flag: one dash and one letter, or two dashes and a word, standing alone.
FLAG = re.compile(r"(?<![\w./\\-])(-[a-zA-Z]|--[a-z][a-z0-9-]+)(?![\w-])")
# Other programs' command lines, quoted whole in a fix for the operator to run.
OTHER_PROGRAMS = re.compile(r"\b(qemu-img|attrib|virsh|pacman|apt-get|dnf|zypper|yum)\b")
_CALLS = re.compile(r"(Error|^CheckResult|^Check|^Cancelled)$")


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _text(node: ast.expr) -> str | None:
    """A literal string as it will read ({} where an f-string puts a value)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(part.value) if isinstance(part, ast.Constant) else "{}"
                       for part in node.values)
    return None


def _literals(node: ast.AST) -> Iterator[ast.expr]:
    # An f-string's pieces are read as the whole f-string, not one by one.
    pieces = {id(part) for sub in ast.walk(node) if isinstance(sub, ast.JoinedStr)
              for part in sub.values}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant | ast.JoinedStr) and _text(sub) is not None \
                and id(sub) not in pieces:
            yield sub


def operator_texts(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every literal that can reach an error's message or fix."""
    tree = ast.parse(source)
    seen: set[int] = set()
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if _CALLS.search(_name(node.func)):
                found += _literals(node)
            for keyword in node.keywords:
                if keyword.arg == "fix":
                    found += _literals(keyword.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any(
                    isinstance(t, ast.Name) and "fix" in t.id.lower() for t in targets):
                found += _literals(node.value)
    for literal in found:
        if id(literal) in seen:
            continue
        seen.add(id(literal))
        text = _text(literal)
        assert text is not None
        yield literal.lineno, text


def flags_named(text: str) -> list[str]:
    """The flags ``text`` names, other programs' command lines left out."""
    if OTHER_PROGRAMS.search(text):
        return []
    return FLAG.findall(text)


def test_the_detector_finds_flags_where_they_were() -> None:
    # The texts as they were before the engine named inputs: each is caught.
    old = '''
raise WizardError("bad account", "give your account number with -u (12 digits)")
raise WizardError(f"--concurrency {n} is out of range", "give 1 to 64")
fix = "choose another folder with -d"
rows.append(CheckResult("x", False, "y", f"give e.g. --timeout {t:g}"))
probe = Probe(fix=f"give a PEM file with --ca-bundle (or unset {v})")
'''
    named = [flag for _, text in operator_texts(old) for flag in flags_named(text)]
    assert sorted(named) == sorted(["-u", "--concurrency", "-d", "--timeout", "--ca-bundle"])
    # Not flags: file names, other programs' commands, dashes in words.
    fine = '''
raise WizardError("x", "use the -pk.pem and -cert.pem files of one zip")
raise WizardError("x", "run qemu-img convert -p -f qcow2 -O raw a b")
raise WizardError("x", "in Windows: attrib -h -s -r C:\\\\NTLDR, then copy it")
raise WizardError("a non-raw image", "a 12-digit id, e.g. 1234-5678-9012")
'''
    assert [flag for _, text in operator_texts(fine) for flag in flags_named(text)] == []


def test_no_engine_error_or_fix_names_a_flag() -> None:
    offenders: list[str] = []
    looked_at = 0
    for path in ENGINE:
        for line, text in operator_texts(path.read_text(encoding="utf-8")):
            looked_at += 1
            for flag in flags_named(text):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {flag} in {text!r}")
    # The engine has a few hundred such texts: a scan that finds none is broken.
    assert looked_at > 300, looked_at
    assert offenders == []


def _keys_used(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.keyword) and node.arg == "key":
            text = _text(node.value)
            if text is not None:
                yield node.value.lineno, text


def test_every_key_is_a_known_input_and_every_command_names_known_keys() -> None:
    used = [(path, line, key) for path in ENGINE for line, key in _keys_used(path)]
    assert len(used) > 40
    # f"build.{what}" stands for keys of that section.
    assert [(str(p), line, key) for p, line, key in used if key not in KEYS
            and not ("{}" in key and any(k.startswith(key.split("{}")[0]) for k in KEYS))] == []
    commands = {" ".join(words) for words in _commands()}
    for command, table in FLAGS.items():
        assert command in commands, command
        assert set(table) <= set(KEYS), (command, set(table) - set(KEYS))


def _commands() -> Iterator[tuple[str, ...]]:
    import argparse

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if words:
            yield words
        for action in subs:
            for name, sub in action.choices.items():
                yield from walk(sub, (*words, name))

    yield from walk(build_parser(), ())


def test_each_tables_flags_are_the_commands_own() -> None:
    import argparse

    parsers: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        parsers[" ".join(words)] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*words, name))

    walk(build_parser(), ())
    for command, table in FLAGS.items():
        parser = parsers[command]
        options = set(parser._option_string_actions)
        positionals = {a.metavar for a in parser._actions if not a.option_strings}
        for key, flag in table.items():
            if flag.startswith("-"):
                assert flag in options, (command, key, flag)
            elif flag.isupper():
                assert flag in positionals, (command, key, flag)
            # else words, not a flag: "memdisk build --source", "cloud.eucarc in the answers"


def test_one_line_puts_the_flag_after_the_fix() -> None:
    exc = WizardError("the account id '12' is not 12 digits.", "give your account id",
                      key="cloud.account")
    args = build_parser().parse_args(["bundle", "-i", "x"])
    assert where(exc.key, args) == "-u"
    assert exc.one_line(where(exc.key, args)) == \
        "the account id '12' is not 12 digits. Fix: give your account id (-u)."
    assert exc.one_line() == "the account id '12' is not 12 digits. Fix: give your account id."
    memdisk = build_parser().parse_args(["memdisk", "build", "--source", "x"])
    assert where("build.memdisk", memdisk) == "-o"
    assert where("build.memdisk", build_parser().parse_args(["memdisk", "verify", "f"])) == "FILE"
    assert where(None, args) is None and where("build.bucket", args) is None


@pytest.mark.parametrize(("argv", "fix"), [
    (["memdisk", "build", "--source", "missing.tar.gz", "-o", "out/memdisk"],
     "(--source)."),
    (["floppy", "create", "."], "(PATH)."),
    (["unbundle", "-m", "missing.manifest.xml"], "give your private key (-k)."),
    (["upload", "-b", "bucket", "-m", "missing.manifest.xml", "--concurrency", "0",
      "-I", "AKI", "-S", "secret", "-U", "http://127.0.0.1:9/services/objectstorage"],
     "(--concurrency)."),
])
def test_the_cli_names_its_flag_for_the_input(tmp_path: Path, argv: list[str], fix: str) -> None:
    result = run_wizard(*argv, cwd=tmp_path, home=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("euca-windows-wizard: error: "), lines
    assert lines[0].endswith(fix), lines[0]
    assert "Traceback" not in result.stderr

"""Stumbles in how commands are typed: -v after the last word of any command."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.bundle.bundle_checks import CliResult
from wizard.cli.main import build_parser


def leaf_parsers(parser: argparse.ArgumentParser,
                 words: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                              argparse.ArgumentParser]]:
    """Every command's parser, by the words that reach it (``memdisk find``)."""
    nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not nested:
        yield words, parser
        return
    for action in nested:
        for name, sub in action.choices.items():
            yield from leaf_parsers(sub, (*words, name))


def test_every_command_takes_v_and_log_file_after_its_last_word() -> None:
    leaves = dict(leaf_parsers(build_parser()))
    assert ("memdisk", "find") in leaves and ("floppy", "verify") in leaves
    for words, parser in leaves.items():
        options = parser._option_string_actions
        assert "-v" in options and "--log-file" in options, " ".join(words)


def test_memdisk_find_v(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    result = cli("memdisk", "find", "-v", "--log-file", tmp_path / "run.log")
    assert "unrecognized arguments" not in result.err
    assert result.code in (0, 1)  # 1 only where the system has no memdisk
    # -v logs to the console too: the command line is the first thing logged.
    assert "memdisk find -v" in result.err

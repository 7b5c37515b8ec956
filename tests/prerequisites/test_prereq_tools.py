"""Finding tools and running them with streamed output."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from wizard.core.errors import WizardError
from wizard.core.tools import find_c_compiler, find_tool, run_streaming


def test_find_real_tools() -> None:
    make = find_tool("make")
    assert make is not None and make.version[0].isdigit()
    nasm = find_tool("nasm")
    assert nasm is not None and nasm.version[0].isdigit()
    assert find_c_compiler() is not None
    assert find_tool("surely-not-a-real-tool-name") is None


def test_lines_stream_including_carriage_returns() -> None:
    seen: list[str] = []
    script = ("import sys; sys.stdout.write('one\\rtwo\\nthree\\n'); sys.stdout.flush(); "
              "sys.stderr.write('err\\n')")
    result = run_streaming([sys.executable, "-c", script], on_line=seen.append,
                           split_cr=True)
    assert result.returncode == 0
    assert sorted(seen) == ["err", "one", "three", "two"]
    plain: list[str] = []
    run_streaming([sys.executable, "-c", script], on_line=plain.append)
    assert "one\rtwo" in plain


def test_exit_status_and_last_lines() -> None:
    script = "import sys\nfor i in range(50): print(i)\nsys.exit(3)"
    result = run_streaming([sys.executable, "-c", script], on_line=lambda _: None,
                           keep_lines=5)
    assert result.returncode == 3
    assert result.last_lines == ("45", "46", "47", "48", "49")


def test_missing_program(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match="cannot run"):
        run_streaming([str(tmp_path / "nothing")], on_line=lambda _: None)


def test_timeout_holds_after_output_closes() -> None:
    # The program closes its output, then keeps running past the deadline.
    script = "import os, time; os.close(1); os.close(2); time.sleep(30)"
    with pytest.raises(WizardError, match="did not finish within 1 seconds"):
        run_streaming([sys.executable, "-c", script], on_line=lambda _: None, timeout=1)

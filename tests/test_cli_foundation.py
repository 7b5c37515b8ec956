"""The command line's contract: version, help, one-line errors, no Textual."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.wizard_cli import run_wizard
from wizard import __version__
from wizard.cli import main as cli_main
from wizard.core.errors import WizardError

ROOT = Path(__file__).resolve().parent.parent


run_cli = run_wizard


def test_version_from_another_directory(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"euca-windows-wizard {__version__}"


def test_help_lists_every_registered_command() -> None:
    """Each built command has its own row in --help, and no other row is there."""
    import re

    result = run_cli("--help")
    assert result.returncode == 0
    listed = re.findall(r"^    (\w+) ", result.stdout, re.MULTILINE)
    assert listed == [module.rsplit(".", 1)[-1] for module in cli_main.COMMANDS]


PROBE = """
import sys
from wizard.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
leaked = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print("TEXTUAL:", ",".join(leaked))
"""


@pytest.mark.parametrize(
    "command", [["--help"]] + [[m.rsplit(".", 1)[-1], "--help"] for m in cli_main.COMMANDS]
    # Past --help: runs that import the engine (and fail on a missing file).
    + [["bundle", "-i", "/nonexistent.img", "-d", "/nonexistent-out"],
       ["unbundle", "-m", "/nonexistent.manifest.xml", "-k", "/nonexistent-pk.pem"]]
)
def test_headless_commands_import_no_textual(command: list[str], tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp_path),
               XDG_STATE_HOME=str(tmp_path / "state"))
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *command],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "TEXTUAL: \n" in result.stdout or result.stdout.rstrip().endswith("TEXTUAL:")


def _boom(args: object) -> int:
    raise ZeroDivisionError("boom")


def _operator_error(args: object) -> int:
    raise WizardError("the image /nowhere does not exist", "give the disk image's path with -i")


def _register_test_commands(subparsers) -> None:  # type: ignore[no-untyped-def]
    subparsers.add_parser("boom").set_defaults(handler=_boom)
    subparsers.add_parser("oops").set_defaults(handler=_operator_error)


@pytest.fixture()
def test_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    real = cli_main.build_parser

    def build() -> object:
        parser = real()
        for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
            _register_test_commands(action)
        return parser

    if not cli_main.COMMANDS:
        # No subcommand registered yet: build_parser still made the subparsers.
        pass
    monkeypatch.setattr(cli_main, "build_parser", build)


def test_operator_error_is_one_line_exit_1(test_commands, capsys) -> None:
    status = cli_main.main(["oops"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1
    assert "the image /nowhere does not exist. Fix: give the disk image's path with -i." in err
    assert "Traceback" not in err


def test_unexpected_error_points_at_the_log(test_commands, capsys, tmp_path: Path) -> None:
    log_file = tmp_path / "run.log"
    status = cli_main.main(["--log-file", str(log_file), "boom"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1
    assert str(log_file) in err
    assert "Traceback" not in err
    logged = log_file.read_text()
    assert "Traceback" in logged and "ZeroDivisionError: boom" in logged
    assert oct(log_file.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("spelling", [["-S", "{s}"], ["--secret-key={s}"], ["--secret", "{s}"]])
def test_secret_key_never_reaches_the_log(tmp_path: Path, spelling: list[str]) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET"
    log_file = tmp_path / "run.log"
    args = [a.format(s=secret) for a in spelling]
    # Nothing answers on this port: the command fails, after logging its command line.
    result = run_cli("--log-file", str(log_file), "register", "bucket/x.manifest.xml",
                     "-n", "an-image", "-U", "http://127.0.0.1:9/services/compute",
                     "-I", "AKIDEXAMPLE", *args)
    assert result.returncode == 1
    logged = log_file.read_text()
    assert "register" in logged
    assert secret not in logged
    assert secret not in result.stderr and secret not in result.stdout


def _multi_line(args: object) -> int:
    raise RuntimeError("first line\n  second line\n\nthird line")


def _silent(args: object) -> int:
    raise ValueError()


@pytest.mark.parametrize(("handler", "shown"), [
    (_multi_line, "unexpected RuntimeError: first line second line third line."),
    (_silent, "unexpected ValueError. The full report"),
])
def test_unexpected_error_is_one_line_whatever_its_message(
    monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path, handler, shown: str
) -> None:
    real = cli_main.build_parser

    def build() -> object:
        parser = real()
        for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
            action.add_parser("odd").set_defaults(handler=handler)  # type: ignore[union-attr]
        return parser

    monkeypatch.setattr(cli_main, "build_parser", build)
    log_file = tmp_path / "run.log"
    # -v too: the traceback stays in the log file, never on the console.
    status = cli_main.main(["-vv", "--log-file", str(log_file), "odd"])
    err = capsys.readouterr().err
    assert status == 1
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("euca-windows-wizard: error: ")]
    assert len(errors) == 1, err
    assert shown in errors[0]
    # Beside it only the -vv log lines: no ERROR record, no traceback lines.
    assert all(line in errors or line.startswith(("INFO: ", "DEBUG: ")) for line in lines), err
    assert "Traceback" not in err
    assert "Traceback" in log_file.read_text()


def test_verbose_after_the_subcommand(tmp_path: Path) -> None:
    """``unbundle -v`` as operators type it: log lines on stderr, the error line once."""
    log_file = tmp_path / "run.log"
    result = run_cli("unbundle", "-v", "--log-file", str(log_file), "-m",
                     str(tmp_path / "gone.manifest.xml"), "-k", str(tmp_path / "key.pem"),
                     cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("INFO: ") and "unbundle" in line for line in lines), lines
    errors = [line for line in lines if "does not exist" in line]
    assert len(errors) == 1, lines  # not once more as an "ERROR:" log line
    assert errors[0].startswith("euca-windows-wizard: error: ")
    assert "gone.manifest.xml" in log_file.read_text()
    quiet = run_cli("unbundle", "-m", str(tmp_path / "gone.manifest.xml"), "-k",
                    str(tmp_path / "key.pem"), cwd=tmp_path)
    assert not any(line.startswith("INFO: ") for line in quiet.stderr.splitlines())


def test_console_log_lines_start_on_a_clean_row(tmp_path: Path) -> None:
    """On a terminal a log line first clears the progress bar's row."""
    import io
    import logging

    from wizard.core.logs import get_logger, setup_logging

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    setup_logging(1, tmp_path / "run.log")
    console = [h for h in logging.getLogger("wizard").handlers
               if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]
    assert len(console) == 1
    stream = Tty()
    console[0].setStream(stream)  # type: ignore[type-var]
    get_logger("test").info("wrote part x")
    assert stream.getvalue() == "\r\x1b[KINFO: wrote part x\n"


def test_the_wheel_ships_assets_and_runs_from_elsewhere(tmp_path: Path) -> None:
    """Issue 2: after a non-editable install, the program run from an unrelated
    folder finds its assets. Built as pip builds it, installed into a folder
    of its own, run with the checkout nowhere on the path."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("euca_windows_wizard-*.whl")
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)], capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stderr
    (entry_points,) = site.glob("euca_windows_wizard-*.dist-info/entry_points.txt")
    assert "euca-windows-wizard = wizard.cli.main:main" in entry_points.read_text()
    shipped = {p.relative_to(ROOT / "assets") for p in (ROOT / "assets").rglob("*")
               if p.is_file()}
    assert shipped, "assets/ is empty"
    for relative in shipped:
        assert (site / "wizard" / "assets" / relative).is_file(), relative

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)  # the checkout is not on the path, the installed copy is
    probe = ("import wizard\nfrom wizard.core.assets import asset_path\n"
             "print(wizard.__file__)\nprint(asset_path('help', 'README.md'))\n")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           cwd=elsewhere, env=env, timeout=60, check=False)
    assert found.returncode == 0, found.stderr
    module, asset = found.stdout.splitlines()
    assert module.startswith(str(site)), module
    assert asset == str(site / "wizard" / "assets" / "help" / "README.md")
    version = subprocess.run([sys.executable, "-m", "wizard", "--version"], capture_output=True,
                             text=True, cwd=elsewhere, env=env, timeout=60, check=False)
    assert version.stdout.strip() == f"euca-windows-wizard {__version__}", version.stderr


def test_sigterm_runs_the_clean_up_to_its_end(monkeypatch: pytest.MonkeyPatch, capsys,
                                              tmp_path: Path) -> None:
    """SIGTERM becomes an exception (clean-up runs), a second one during the clean-up
    is ignored, and the handlers are put back afterwards."""
    import signal
    import time

    cleaned: list[str] = []

    def handler(args: object) -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
            cleaned.append("never")
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # systemd or an impatient operator, again
            cleaned.append("removed the parts")
        return 0

    real = cli_main.build_parser

    def build() -> object:
        parser = real()
        for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
            action.add_parser("busy").set_defaults(handler=handler)  # type: ignore[union-attr]
        return parser

    monkeypatch.setattr(cli_main, "build_parser", build)
    before = signal.getsignal(signal.SIGTERM)
    status = cli_main.main(["--log-file", str(tmp_path / "run.log"), "busy"])
    assert status == 1
    assert cleaned == ["removed the parts"]
    assert capsys.readouterr().err == ("euca-windows-wizard: error: interrupted by SIGTERM. "
                                       "Fix: run the same command again to resume.\n")
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.parametrize("args", [["nosuch"], ["bundle"], ["upload", "-b"], ["floppy"]])
def test_usage_errors_are_one_line_with_the_fix_exit_1(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "error:" in result.stderr and "Fix: see euca-windows-wizard" in result.stderr
    assert "Traceback" not in result.stderr

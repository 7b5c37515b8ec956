"""The Done screen at 80x24: the ids on their own lines, the copy keys
(Textual's copy_to_clipboard, recorded in ``app.clipboard``), and run
commands that are never broken mid-word and run as meant in a real shell."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.tui.screen_text import screen_lines, screen_text
from wizard.session.store import claim_session
from wizard.tui.app import WizardApp, make_app
from wizard.tui.choices import Choices
from wizard.tui.screens.done import DoneScreen

SIZE = (80, 24)
IDS = {"kernel": "eki-4a6b1c2d", "ramdisk": "eri-7e8f9a0b", "image": "emi-1c2d3e4f"}
EC2_URL = "http://127.0.0.1:8773/services/compute?x=1&y=2"


def aws_argv(command: str, tmp_path: Path) -> list[str]:
    """What the pasted command gives ``aws`` in a real sh (a function records it)."""
    record = tmp_path / "argv"
    script = f'aws() {{ printf "%s\\n" "$@" > {record}; }}\n{command}\n'
    subprocess.run(["sh", "-c", script], check=True)
    return record.read_text().splitlines()


async def open_done(pilot, ids: dict[str, str]) -> None:
    claim_session("winxp")
    pilot.app.push_screen(DoneScreen("winxp", ids))
    await pilot.pause()


async def test_the_ids_their_copy_keys_and_commands_that_paste(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    eucarc = tmp_path / "eucarc"
    eucarc.write_text(f"export EC2_URL='{EC2_URL}'\nexport S3_URL=http://127.0.0.1:8773/\n")
    app: WizardApp = make_app(open_running=False, choices=Choices(eucarc=str(eucarc)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await open_done(pilot, IDS)
        lines = [line.strip("║ ") for line in screen_lines(app)]
        assert "Kernel  (EKI)    eki-4a6b1c2d" in lines
        assert "Ramdisk (ERI)    eri-7e8f9a0b" in lines
        assert "Image   (EMI)    emi-1c2d3e4f    c copies it" in lines
        await pilot.press("c")
        assert app.clipboard == "emi-1c2d3e4f"
        await pilot.press("r")
        assert app.clipboard == "euca-run-instances -k KEY -t m1.small emi-1c2d3e4f"
        await pilot.press("a")
        aws = app.clipboard
        # Every line but the last ends in a continuation, each is on screen whole.
        assert len(aws.splitlines()) > 1
        assert all(line.endswith(" \\") for line in aws.splitlines()[:-1])
        shown = [line.strip() for line in screen_lines(app)]
        assert all(line.strip() in shown for line in aws.splitlines())
        assert all(len(line) <= 80 for line in screen_lines(app))
        assert aws_argv(aws, tmp_path) == [
            "ec2", "run-instances", "--endpoint-url", EC2_URL, "--image-id", "emi-1c2d3e4f",
            "--instance-type", "m1.small", "--key-name", "KEY"]
        # Where the session's files are, as a variable the replay command uses.
        assert f"SESSION={tmp_path / 'state'}" in screen_text(app).replace("\n ", "")


async def test_native_done_shows_the_emi_alone(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = make_app(open_running=False, choices=Choices(mode="native"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await open_done(pilot, {"image": "emi-1c2d3e4f"})
        text = screen_text(app)
        assert "emi-1c2d3e4f" in text and "EKI" not in text and "ERI" not in text
        assert "Windows boots natively" in text
        await pilot.press("c")
        assert app.clipboard == "emi-1c2d3e4f"
        await pilot.press("a")
        assert "--endpoint-url" not in app.clipboard  # no eucarc: none is made up
        assert aws_argv(app.clipboard, tmp_path)[-6:] == [
            "--image-id", "emi-1c2d3e4f", "--instance-type", "m1.small", "--key-name", "KEY"]


async def test_f1_shows_the_done_help_and_esc_goes_to_start(tmp_path: Path,
                                                            monkeypatch) -> None:
    from textual.widgets import Markdown

    from wizard.tui.help import HelpScreen

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(app.make_screen("disk"))
        await pilot.pause()
        await open_done(pilot, IDS)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        help_file = Path(__file__).resolve().parents[2] / "assets" / "help" / "done.md"
        assert app.screen.query_one(Markdown).source == help_file.read_text()
        await pilot.press("escape")
        await pilot.press("escape")  # the help says: Esc goes back to the Start screen
        assert getattr(app.screen, "NAME", None) == "start"

"""The endpoints' test result stays on the Credentials screen while the credentials
it tested stay the same.

Was: a reading of the credentials that ended after Ctrl+T's answer (one started
before it, the sandbox arriving, a pause in typing) put "Everything the build
needs is set. Ctrl+T tests the endpoints." back over the answer: the operator
saw the test result flash and vanish. Real endpoints: the sandbox cloud in its
own process, as ``--sandbox`` runs it.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tests.tui.conftest import here, text_of, wait_for
from wizard.tui.app import make_app
from wizard.tui.screens.credentials import CredentialsScreen


async def test_a_later_reading_of_the_same_credentials_keeps_the_test_result(
        sandbox_host, tmp_path: Path) -> None:
    app = make_app(sandbox=True, sandbox_folder=sandbox_host.folder, open_running=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.choices.eucarc == str(sandbox_host.eucarc), 60)
        app.push_screen(app.make_screen("credentials"))
        await wait_for(pilot, lambda: here(app) == "credentials")
        screen = app.screen
        assert isinstance(screen, CredentialsScreen)
        await wait_for(pilot, lambda: "Everything the build needs" in text_of(app, "#status"),
                       60)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "S3 endpoint:" in text_of(app, "#status"), 60)
        tested = text_of(app, "#status")
        assert "EC2 endpoint: answers" in tested and "S3 endpoint: answers" in tested

        # A reading of the very same credentials ends after the answer.
        before = screen.reading
        screen.reload()
        await wait_for(pilot, lambda: "Reading" not in text_of(app, "#status"), 60)
        await pilot.pause(0.2)
        assert screen.reading == before + 1
        assert text_of(app, "#status") == tested

        # Other credentials: the old answer is not theirs; the reading says what it found.
        other = tmp_path / "other-eucarc"
        other.write_text(sandbox_host.eucarc.read_text())
        field = screen.query_one("#eucarc", Input)
        field.value = str(other)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Everything the build needs" in text_of(app, "#status"),
                       60)
        assert "endpoint: answers" not in text_of(app, "#status")

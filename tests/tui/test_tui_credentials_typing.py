"""The Credentials screen: a eucarc path typed one key at a time, the sources
picked with keys, and a table that fits 80 columns.

Was: the sandbox's sample eucarc, arriving while the operator typed, replaced
the field under the cursor (the rest of the keys went into the middle of the
sandbox's path: "/tmp/rc/eucarcp/sandbox/eucarc"); "eucarc eucarc" in the
From column; values and the table cut at 80 columns.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from tests.tui.conftest import here, text_of, wait_for
from tests.tui.screen_text import screen_lines, screen_text
from wizard.credentials import ENV_NAMES
from wizard.tui.app import SandboxReady, WizardApp, make_app

SIZE = (80, 24)
EUCARC = """export EC2_URL=http://127.0.0.1:8773/services/compute
export S3_URL=http://127.0.0.1:8773/services/objectstorage
export EC2_ACCESS_KEY=AKIDTYPEDBYHAND
export EC2_SECRET_KEY=typedsecretkeyvalue42
export EC2_USER_ID=000123456789
"""


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No credentials in the environment, an empty home (no ~/.euca); the home."""
    for names in ENV_NAMES.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return home


def eucarc_file(folder: Path, name: str = "eucarc") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(EUCARC)
    return path


def found(app: WizardApp) -> dict[str, tuple[str, str]]:
    table = app.screen.query_one("#found", DataTable)
    rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
    return {row[0]: (row[1], row[2]) for row in rows}


async def open_credentials(app: WizardApp, pilot) -> Input:
    await pilot.pause()
    app.push_screen(app.make_screen("credentials"))
    await pilot.pause()
    assert here(app) == "credentials"
    field = app.screen.query_one("#eucarc", Input)
    assert app.focused is field
    return field


async def test_a_path_typed_key_by_key_is_read_once_typing_stops(bare: Path,
                                                                 tmp_path: Path) -> None:
    path = eucarc_file(tmp_path / "my creds", "lab.rc")
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        field = await open_credentials(app, pilot)
        for key in str(path):
            await pilot.press(key)
        assert field.value == str(path) and app.focused is field
        assert app.choices.eucarc == str(path)  # the choices follow every key
        # No Enter: the path names a file, it is read when typing pauses.
        await wait_for(pilot, lambda: "access key id" in found(app))
        rows = found(app)
        assert rows["access key id"] == ("AKIDTYPEDBYHAND", "lab.rc")  # from the file, once
        assert rows["secret key"][0] != "typedsecretkeyvalue42" and "…" in rows["secret key"][0]
        assert rows["your certificate"] == ("(not set)", "-")
        assert field.value == str(path) and app.focused is field  # untouched by the reading
        status = text_of(app, "#status")
        assert status.startswith("Not set: your certificate, your private key, "
                                 "the cloud's certificate. Fix: add them to the eucarc "
                                 "lab.rc"), status


async def test_the_sandbox_arriving_mid_typing_leaves_the_field_alone(
        bare: Path, tmp_path: Path, sandbox_host) -> None:
    path = str(eucarc_file(tmp_path / "rc"))
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        field = await open_credentials(app, pilot)
        await pilot.press(*path[:8])
        # The sandbox is ready now, as when its process answers while the operator types.
        app.sandbox = sandbox_host
        app.post_message(SandboxReady())
        await pilot.pause()
        await pilot.press(*path[8:])
        assert field.value == path
        assert app.choices.eucarc == path  # not the sandbox's sample eucarc
        await pilot.press("enter")
        await wait_for(pilot, lambda: found(app).get("access key id", ("",))[0]
                       == "AKIDTYPEDBYHAND")
        assert found(app)["EC2 (compute) URL"] == ("http://127.0.0.1:8773/services/compute",
                                                   "eucarc")
        assert "Fix: add them to the eucarc, or choose" in text_of(app, "#status")
        assert "eucarc eucarc" not in screen_text(app)


async def test_the_environment_overrides_the_eucarc_and_says_so(
        bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = eucarc_file(tmp_path / "rc")
    monkeypatch.setenv("EC2_URL", "http://127.0.0.1:9999/services/compute")
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        field = await open_credentials(app, pilot)
        await pilot.press(*str(path), "enter")
        await wait_for(pilot, lambda: "access key id" in found(app))
        assert found(app)["EC2 (compute) URL"] == ("http://127.0.0.1:9999/services/compute",
                                                   "$EC2_URL")
        assert found(app)["S3 (object storage) URL"][1] == "eucarc"
        assert field.value == str(path)


async def test_the_whole_table_fits_80_columns(bare: Path, tmp_path: Path) -> None:
    deep = tmp_path / ("a-very-long-folder-name-" * 3) / "credentials"
    path = eucarc_file(deep)
    (deep / "eucarc").write_text(EUCARC + f"export EC2_CERT={deep}/euca2-admin-cert.pem\n"
                                 f"export EC2_PRIVATE_KEY={deep}/euca2-admin-pk.pem\n"
                                 f"export EUCALYPTUS_CERT={deep}/cloud-cert.pem\n")
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        field = await open_credentials(app, pilot)
        field.value = str(path)  # typing is tested above
        await pilot.press("enter")
        await wait_for(pilot, lambda: "access key id" in found(app))
        # Drawn, not only held: a DataTable sizes its columns on its next refresh.
        await wait_for(pilot, lambda: "euca2-admin-cert.pem" in screen_text(app))
        lines = screen_lines(app)
        text = screen_text(app)
        assert all(len(line) <= 80 for line in lines)
        header = next(line for line in lines if "Setting" in line)
        assert header.split() == ["Setting", "Value", "From"]
        # Every row whole: the long paths keep their file name, after an ellipsis.
        for title in ("access key id", "your certificate", "the cloud's certificate",
                      "HTTPS verification"):
            assert title in text, text
        cert = next(line for line in lines if "your certificate" in line)
        assert "…" in cert and "euca2-admin-cert.pem  eucarc" in cert, cert
        assert "eucarc eucarc" not in text
        assert "Everything the build needs is set" in text_of(app, "#status")
        assert not any(mark in text for mark in "▁▂▃▄▅▆▇█▔"), text  # no scroll bars


async def test_ini_and_environment_picked_with_keys_say_what_to_do(bare: Path) -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_credentials(app, pilot)
        await pilot.press("shift+tab")  # the eucarc field -> the source row
        await pilot.press("right", "enter")
        await wait_for(pilot, lambda: "~/.euca" in text_of(app, "#status"))
        assert app.choices.source == "ini"
        assert "(•) ~/.euca/*.ini region" in screen_text(app)
        assert text_of(app, "#status") == (
            "No credentials: there is no ~/.euca/*.ini file. Fix: put your cloud's "
            "euca2ools .ini file in ~/.euca, or choose a eucarc.")
        await pilot.press("right", "space")
        await wait_for(pilot, lambda: "environment" in text_of(app, "#status"))
        assert app.choices.source == "environment"
        assert text_of(app, "#status") == (
            "No credentials in the environment. Fix: source your eucarc in the shell "
            "before you start the wizard, or choose the eucarc here.")
        assert "Traceback" not in screen_text(app)
        assert all(len(line) <= 80 for line in screen_lines(app))


async def test_an_ini_region_typed_by_name(bare: Path) -> None:
    euca = bare / ".euca"
    euca.mkdir()
    (euca / "lab.ini").write_text(
        "[region lab]\nec2-url = http://127.0.0.1:8773/services/compute\n"
        "s3-url = http://127.0.0.1:8773/services/objectstorage\nuser = admin\n\n"
        "[user admin]\nkey-id = AKIDFROMINI\nsecret-key = inisecretkeyvalue99\n")
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_credentials(app, pilot)
        await pilot.press("shift+tab", "right", "enter")
        await wait_for(pilot, lambda: "access key id" in found(app)
                       and found(app)["access key id"][0] == "AKIDFROMINI")  # the only region
        await pilot.press("tab", "tab")  # the source row -> eucarc -> region
        assert app.focused is app.screen.query_one("#region", Input)
        await pilot.press(*"nope", "enter")
        await wait_for(pilot, lambda: "nope" in text_of(app, "#status"))
        assert text_of(app, "#status") == (
            "There is no [region nope] in ~/.euca/*.ini (regions there: lab). Fix: type one "
            "of those names, or leave the field empty.")
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"lab")
        # Read once typing pauses (no Enter): the region's URLs come from its section.
        await wait_for(pilot, lambda: found(app).get("EC2 (compute) URL", ("",))[0]
                       .startswith("http://127.0.0.1:8773/services"))
        assert found(app)["access key id"][1] == "lab.ini [user admin]"
        assert found(app)["EC2 (compute) URL"][1] == "lab.ini [region lab]"


async def test_a_wrong_path_says_what_is_wrong_in_one_line(bare: Path, tmp_path: Path) -> None:
    app = make_app(open_running=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_credentials(app, pilot)
        missing = tmp_path / "nowhere" / "eucarc"
        await pilot.press(*str(missing))
        await pilot.press("enter")  # Enter reads it, and says why it cannot
        await wait_for(pilot, lambda: "does not exist" in text_of(app, "#status"))
        status = text_of(app, "#status")
        assert status.startswith(f"The eucarc {missing} does not exist. Fix: "), status
        assert "Traceback" not in screen_text(app)
        assert app.screen.query_one("#found", DataTable).row_count == 0

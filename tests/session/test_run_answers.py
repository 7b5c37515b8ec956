"""Answers files: each kind of mistake is one error naming the key and its line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.core.assets import asset_path
from wizard.core.errors import WizardError
from wizard.session.answers import (
    Answers,
    answers_to_toml,
    load_answers,
    parse_answers,
    sandbox_answers,
)

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
[cloud]
eucarc = "creds/eucarc"

[build]
name = "winxp"
bucket = "winxp-images"
arch = "i386"
mode = "memdisk"
disk = "xp.img"
floppy = "/data/win-boot.img"
memdisk = "/usr/lib/syslinux/memdisk"
"""


def parsed(text: str) -> Answers:
    return parse_answers(text, "answers.toml", base=Path("/base"))


def error_of(text: str) -> WizardError:
    with pytest.raises(WizardError) as caught:
        parsed(text)
    message = caught.value.one_line()
    assert "\n" not in message and "Fix:" in message
    return caught.value


def test_good_answers_resolve_paths_from_the_file_folder() -> None:
    answers = parsed(GOOD)
    assert answers.cloud.eucarc == Path("/base/creds/eucarc")
    assert answers.build.disk == Path("/base/xp.img")
    assert answers.build.floppy == Path("/data/win-boot.img")
    assert (answers.build.name, answers.build.bucket, answers.build.arch,
            answers.build.mode) == ("winxp", "winxp-images", "i386", "memdisk")


def test_round_trip_through_toml() -> None:
    answers = parsed(GOOD)
    assert parse_answers(answers_to_toml(answers), "x", base=Path("/elsewhere")) == answers


def test_the_secret_key_is_never_written_back() -> None:
    text = GOOD.replace('[cloud]\n', '[cloud]\nsecret_key = "TOPSECRETvalue123"\n'
                        'access_key = "AKID"\n')
    answers = parsed(text)
    assert answers.cloud.secret_key == "TOPSECRETvalue123"
    assert "TOPSECRETvalue123" not in repr(answers)
    written = answers_to_toml(answers)
    assert "TOPSECRETvalue123" not in written
    assert 'access_key = "AKID"' in written
    assert parse_answers(written, "x", base=Path("/base")).cloud.secret_key is None


def test_name_defaults_from_the_disk_image() -> None:
    answers = parsed(GOOD.replace('name = "winxp"\n', "").replace("xp.img", "My XP (sp3).img"))
    assert answers.build.name == "My-XP-sp3"


@pytest.mark.parametrize(("change", "key", "line", "words"), [
    (lambda t: t.replace('arch = "i386"', 'arch = "i386"\nachr = "x"'), "build.achr", 8,
     "unknown key"),
    (lambda t: t.replace('eucarc = "creds/eucarc"', 'eucarc = 5'), "cloud.eucarc", 2,
     "must be a string"),
    (lambda t: t.replace('bucket = "winxp-images"', 'bucket = ["a"]'), "build.bucket", 6,
     "must be a string"),
    (lambda t: t.replace('bucket = "winxp-images"\n', ""), "build.bucket", 4, "has no bucket"),
    (lambda t: t.replace('disk = "xp.img"\n', ""), "build.disk", 4, "has no disk"),
    (lambda t: t.replace('floppy = "/data/win-boot.img"\n', ""), "build.floppy", 4,
     "has no floppy"),
    (lambda t: t.replace('memdisk = "/usr/lib/syslinux/memdisk"\n', ""), "build.memdisk", 4,
     "has no memdisk"),
    (lambda t: t.replace('mode = "memdisk"', 'mode = "hvm"'), "build.mode", 8, "not memdisk"),
    (lambda t: t.replace('arch = "i386"', 'arch = "amd64"'), "build.arch", 7, "not i386"),
    (lambda t: t.replace('mode = "memdisk"', 'mode = "native"'), "build.floppy", 10,
     "for memdisk mode"),
    (lambda t: t + 'syslinux_source = "s.tar.gz"\n', "build.syslinux_source", 12, "both"),
    (lambda t: t.replace('name = "winxp"', 'name = "../etc"'), "build.name", 5,
     "not a session name"),
    (lambda t: t.replace('bucket = "winxp-images"', 'bucket = "  "'), "build.bucket", 6,
     "is empty"),
    (lambda t: t + "[extra]\nx = 1\n", "extra", 12, "unknown table"),
    (lambda t: t.replace('[cloud]\n', '[cloud]\nverify_ssl = "no"\n'), "cloud.verify_ssl", 2,
     "must be true or false"),
])
def test_each_mistake_names_its_key_and_line(change, key, line, words) -> None:  # type: ignore[no-untyped-def]
    error = error_of(change(GOOD))
    assert getattr(error, "key", None) == key
    assert key in error.message or key == "extra"
    assert f"line {line})" in error.message
    assert words in error.message


def test_no_build_table() -> None:
    error = error_of('[cloud]\neucarc = "x"\n')
    assert "build.bucket is missing: there is no [build] table" in error.message
    assert getattr(error, "key", None) == "build.bucket"


def test_broken_toml_names_its_line() -> None:
    error = error_of(GOOD.replace('arch = "i386"', 'arch = "i386'))
    assert "not valid TOML" in error.message and "line 7" in error.message


def test_native_mode_needs_only_the_disk() -> None:
    answers = parsed('[cloud]\nregion = "eucalyptus"\n[build]\nbucket = "b"\narch = "x86_64"\n'
                     'mode = "native"\ndisk = "/d/w2k3.img"\n')
    assert answers.build.floppy is None and answers.build.memdisk is None
    assert answers.cloud.region == "eucalyptus"
    assert answers.build.name == "w2k3"


def test_load_answers_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match="not found"):
        load_answers(tmp_path / "missing.toml")
    with pytest.raises(WizardError, match="is a folder"):
        load_answers(tmp_path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"[build]\n\xff\xfe\n")
    with pytest.raises(WizardError, match=r"not UTF-8 text \(line 2\)"):
        load_answers(binary)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"#" * (200 * 1024))
    with pytest.raises(WizardError, match="larger than"):
        load_answers(huge)


def test_the_shipped_examples_parse() -> None:
    memdisk = load_answers(asset_path("answers", "memdisk.toml"))
    assert memdisk.build.mode == "memdisk"
    assert memdisk.cloud.eucarc == Path("~/.euca/eucarc").expanduser()
    assert memdisk.build.disk == asset_path("answers").resolve() / "xp.img"
    native = load_answers(asset_path("answers", "native.toml"))
    assert native.build.mode == "native" and native.build.floppy is None


def test_sandbox_answers_name_the_sandbox_files(tmp_path: Path) -> None:
    (tmp_path / "sample-memdisk").write_bytes(b"x")
    (tmp_path / "eucarc").write_text(
        "export S3_URL=http://127.0.0.1:1/services/objectstorage\n"
        "export EC2_URL=http://127.0.0.1:1/services/compute\n"
        "export EC2_ACCESS_KEY='AKSANDBOX1'\nexport EC2_SECRET_KEY='sandbox-secret'\n"
        f"export EC2_CERT={tmp_path}/cert.pem\nexport EC2_PRIVATE_KEY={tmp_path}/pk.pem\n"
        f"export EUCALYPTUS_CERT={tmp_path}/cloud-cert.pem\nexport EC2_USER_ID='123456789012'\n")
    answers = sandbox_answers(tmp_path)
    assert answers.cloud.eucarc == tmp_path / "eucarc"
    # Every key given one by one: the environment cannot point the samples elsewhere.
    assert answers.cloud.s3_url == "http://127.0.0.1:1/services/objectstorage"
    assert answers.cloud.ec2_url == "http://127.0.0.1:1/services/compute"
    assert (answers.cloud.access_key, answers.cloud.secret_key, answers.cloud.account) == (
        "AKSANDBOX1", "sandbox-secret", "123456789012")
    assert answers.cloud.cloud_cert == tmp_path / "cloud-cert.pem"
    assert answers.build.disk == tmp_path / "sample-disk.img"
    assert answers.build.floppy == tmp_path / "sample-floppy.img"
    assert answers.build.memdisk == tmp_path / "sample-memdisk"
    assert answers.build.mode == "memdisk"


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EC2_", "AWS_", "S3_", "EUCA"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "wizard", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.parametrize(("change", "words"), [
    (lambda t: t.replace('arch = "i386"', 'arch = "i386"\nachr = "x"'),
     "unknown key build.achr (line 8)"),
    (lambda t: t.replace('bucket = "winxp-images"', "bucket = 7"),
     "build.bucket (line 6) must be a string"),
    (lambda t: t.replace('disk = "xp.img"\n', ""), "build.disk is missing: [build] (line 4)"),
], ids=["unknown", "type", "missing"])
def test_run_with_a_mistaken_answers_file_is_one_line(tmp_path: Path, change, words) -> None:  # type: ignore[no-untyped-def]
    answers = tmp_path / "answers.toml"
    answers.write_text(change(GOOD))
    result = cli("run", "--answers", answers, "--yes", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"euca-windows-wizard: error: the answers file {answers}: ")
    assert words in lines[0] and "Fix: " in lines[0]
    # Nothing was started: no session was made of it.
    assert not (Path(os.environ["XDG_STATE_HOME"]) / "euca-windows-wizard" / "sessions"
                / "winxp").exists()


def test_run_without_a_terminal_needs_yes(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(GOOD)
    result = cli("run", "--answers", answers, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == ("euca-windows-wizard: error: there is no terminal to "
                                     "confirm the build on. Fix: add --yes to run without "
                                     "asking.")
    result = cli("run", "--sandbox", cwd=tmp_path)
    assert result.returncode == 1 and "add --yes" in result.stderr


def test_run_needs_one_source(tmp_path: Path) -> None:
    result = cli("run", "--yes", cwd=tmp_path)
    assert result.returncode == 1 and "one of the arguments" in result.stderr
    result = cli("run", "--session", "nosuch", "--yes", cwd=tmp_path)
    assert result.returncode == 1
    assert "there is no session named 'nosuch'" in result.stderr


def test_run_answers_of_an_existing_session_must_be_its_own(tmp_path: Path) -> None:
    from wizard.session.state import SessionState, save_state
    from wizard.session.store import SessionPaths, create_session

    create_session(parsed(GOOD))
    # A step done with the saved answers: other answers would mix two builds.
    done = SessionState()
    done.mark("floppy", "done", outputs={"path": "/base/boot.img"})
    save_state(SessionPaths("winxp").state, done)
    answers = tmp_path / "answers.toml"
    answers.write_text(GOOD.replace("/base/", "").replace('"winxp-images"', '"other-bucket"')
                       .replace('"creds/eucarc"', '"/base/creds/eucarc"')
                       .replace('"xp.img"', '"/base/xp.img"'))
    for extra in ((), ("--detach",)):
        result = cli("run", "--answers", answers, "--yes", *extra, cwd=tmp_path)
        assert result.returncode == 1
        line = result.stderr.strip()
        assert "\n" not in line
        assert "session 'winxp' was started with other answers: build.bucket not as saved" in line
        assert "resume the session winxp as it was saved" in line

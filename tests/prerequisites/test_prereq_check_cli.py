"""The check command: the table, exit codes, one-line errors, masked secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.prerequisites.kit import ACCESS, SECRET, make_kit
from tests.wizard_cli import run_wizard

ROOT = Path(__file__).resolve().parents[2]


def clean_env(home: Path) -> dict[str, str]:
    """The test's environment without any cloud settings, and a fresh HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EC2_", "AWS_", "EUCA", "S3_"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home), COLUMNS="100")
    return env


def run_check(*args: str, home: Path):
    return run_wizard("check", *args, env=clean_env(home))



def test_ready_exits_0_and_masks_the_secret(
    tmp_path: Path, cloud: tuple[str, str], windows: dict[str, Path], private_xdg: Path
) -> None:
    eucarc = make_kit(tmp_path / "creds", *cloud)
    result = run_check("--eucarc", str(eucarc), "--disk", str(windows["xp_ide"]),
                       "--work-dir", str(tmp_path), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ready: everything the memdisk recipe needs is here." in result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert "wJal…" in result.stdout
    # The IDE install is a warning, not a failure.
    assert "warn   disk warning" in result.stdout
    assert "IDE" in result.stdout
    logs = list(private_xdg.rglob("*.log"))
    assert logs and all(SECRET not in log.read_text() for log in logs)


def test_not_ready_exits_1_with_fixes(tmp_path: Path, windows: dict[str, Path]) -> None:
    result = run_check("--disk", str(windows["qcow2"]), "--work-dir", str(tmp_path), home=tmp_path)
    assert result.returncode == 1
    assert "FAIL   disk image" in result.stdout
    # The engine names the input; check names its own flag after the fix.
    assert "or have the check convert it into a folder you choose (--convert-to)" in \
        " ".join(result.stdout.split())
    assert "FAIL   secret key" in result.stdout
    assert "Not ready:" in result.stdout
    assert "Traceback" not in result.stderr


def test_convert_to_shows_progress_and_passes(
    tmp_path: Path, cloud: tuple[str, str], windows: dict[str, Path]
) -> None:
    eucarc = make_kit(tmp_path / "creds", *cloud)
    work = tmp_path / "work"
    result = run_check("--eucarc", str(eucarc), "--disk", str(windows["qcow2"]),
                       "--convert-to", str(work), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Converting xp.qcow2 to raw" in result.stderr
    assert "100%" in result.stderr
    assert (work / "xp.raw").read_bytes() == windows["xp"].read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--convert-to", "/tmp"], "--convert-to needs --disk IMAGE"),
        (["--disk", "/nonexistent/disk.img"], "does not exist"),
        (["--timeout", "0"], "--timeout must be a positive"),
    ],
)
def test_operator_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_check(*args, home=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("euca-windows-wizard: error:")
    assert message in lines[0] and "Fix:" in lines[0]


def test_native_recipe_on_the_command_line(tmp_path: Path) -> None:
    result = run_check("--recipe", "native", "--work-dir", str(tmp_path), home=tmp_path)
    assert "Prerequisites of the native recipe" in result.stdout
    assert "-      memdisk" in result.stdout or "ok     memdisk" in result.stdout


def test_url_flags_override_the_eucarc(tmp_path: Path, cloud: tuple[str, str]) -> None:
    from tests.prerequisites.servers import closed_port

    eucarc = make_kit(tmp_path / "creds", *cloud)
    dead = f"http://127.0.0.1:{closed_port()}/services/compute"
    result = run_check("--eucarc", str(eucarc), "-U", dead, "--s3-url", cloud[1],
                       "--work-dir", str(tmp_path), "--timeout", "1", home=tmp_path)
    assert result.returncode == 1
    assert f"{dead} (from --url flag)" in result.stdout
    assert f"{cloud[1]} (from --s3-url flag)" in result.stdout
    assert "FAIL   EC2 endpoint" in result.stdout
    assert "ok     S3 endpoint" in result.stdout


def test_every_credential_fix_names_a_flag_check_takes(tmp_path: Path) -> None:
    # The fixes said "-U/--url (upload)" for the S3 URL and "-c/--cert" while
    # check had neither: an operator following them got a usage error.
    result = run_check("--work-dir", str(tmp_path), home=tmp_path)
    assert result.returncode == 1
    out = " ".join(result.stdout.split())
    for title, flag in (("S3 (object storage) URL", "--s3-url"), ("your certificate", "-c"),
                        ("your private key", "-k"), ("account id", "-u"),
                        ("the cloud's certificate", "--ec2cert"),
                        ("access key id", "-I"), ("secret key", "-S"),
                        ("EC2 (compute) URL", "-U")):
        assert f"give {title} ({flag})" in out or f"give the {title} ({flag})" in out, flag
    assert "(upload)" not in out and "(register)" not in out


def test_bundle_flags_fill_the_credentials(tmp_path: Path, cloud: tuple[str, str]) -> None:
    creds = tmp_path / "creds"
    make_kit(creds, *cloud)
    result = run_check(
        "-I", ACCESS, "-S", SECRET,
        "-U", cloud[0], "--s3-url", cloud[1], "-c", str(creds / "euca2-admin-cert.pem"),
        "-k", str(creds / "euca2-admin-pk.pem"), "-u", "1234-5678-9012",
        "--ec2cert", str(creds / "cloud-cert.pem"), "--work-dir", str(tmp_path),
        home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(from --cert flag)" in result.stdout
    assert "(from --privatekey flag)" in result.stdout
    assert "123456789012 (from --user flag)" in result.stdout
    assert "(from --ec2cert flag)" in result.stdout
    assert "key matches certificate  yes" in result.stdout


def test_the_table_fits_80_columns_and_keeps_paths_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from wizard.cli.check import print_table
    from wizard.prerequisites.checks import CheckResult

    monkeypatch.setenv("COLUMNS", "80")
    rows = [
        CheckResult("free space", True, "77.1 GiB free in "
                    "/root/.local/state/euca-windows-wizard/work, 10.0 MiB needed"),
        CheckResult("memdisk", False, "no distribution memdisk found",
                    "sudo apt-get install syslinux-common, or build one: "
                    "euca-windows-wizard memdisk build --source SYSLINUX.tar.gz"),
    ]
    out = io.StringIO()
    print_table(rows, "memdisk", out)
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    # Before: "/root/.local/state/euca-" then "windows-wizard/work" on the next line.
    assert "/root/.local/state/euca-windows-wizard/work," in text
    assert "syslinux-common," in text and "one: euca-windows-wizard memdisk" in text
    assert not any(line.endswith("-") for line in text.splitlines())


def test_a_bad_ca_bundle_is_a_row_not_a_crash(tmp_path: Path, cloud: tuple[str, str]) -> None:
    eucarc = make_kit(tmp_path / "creds", *cloud)
    https = cloud[0].replace("http://", "https://")
    result = run_check("--eucarc", str(eucarc), "--ca-bundle", str(eucarc), "-U", https,
                       "--work-dir", str(tmp_path), "--timeout", "1", home=tmp_path)
    assert result.returncode == 1
    assert "unexpected" not in result.stderr and result.stderr == ""
    # Long temporary paths are cut to the width: compare without white space.
    out = "".join(result.stdout.split())
    for words in (f"FAIL EC2 endpoint {https}: the CA bundle {eucarc} cannot be used",
                  "give a PEM file of CA certificates as the CA bundle (--ca-bundle)"):
        assert "".join(words.split()) in out, result.stdout

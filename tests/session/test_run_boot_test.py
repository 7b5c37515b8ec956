"""``run --boot-test``: once the image is available, one instance of it is launched,
its console shown and the instance terminated; against the sandbox the report says
that the sandbox boots nothing. Real processes against the sandbox ``run`` starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.session.test_run_sandbox import clean_env


def _run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", "run", *extra],
                          capture_output=True, text=True, cwd=tmp_path,
                          env=clean_env(tmp_path), timeout=600, check=False)


def test_run_boot_test_launches_the_image_and_reports(tmp_path: Path) -> None:
    result = _run(tmp_path, "--sandbox", "--yes", "--boot-test")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    image = result.stdout.strip().splitlines()[-1].split("\t")
    assert image[0] == "IMAGE" and image[1].startswith("emi-")
    report = [line for line in result.stderr.splitlines()
              if line.startswith(f"boot test of {image[1]}:")]
    assert len(report) == 1, result.stderr
    assert "the sandbox boots nothing" in report[0]
    assert "instance i-" in report[0]
    assert "Console output of i-" in result.stderr


def test_boot_test_with_detach_is_refused_in_one_line(tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text('[build]\nname = "x"\n')
    result = _run(tmp_path, "--answers", str(answers), "--yes", "--detach", "--boot-test")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--boot-test cannot go with --detach" in lines[0]
    assert "Fix:" in lines[0]

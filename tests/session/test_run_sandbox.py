"""``run --sandbox --yes``: the whole memdisk recipe, from nothing to the final ids, in a
real process started from an empty folder, against the sandbox cloud it starts itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EC2_", "AWS_", "S3_", "EUCA"))}
    env["PYTHONPATH"] = str(ROOT)
    env["HOME"] = str(home)
    # A real cloud's settings in the environment must not send the samples anywhere.
    env["EC2_URL"] = "http://127.0.0.1:9/services/compute"
    env["S3_URL"] = "http://127.0.0.1:9/services/objectstorage"
    return env


def test_run_sandbox_yes_goes_from_nothing_to_the_image(tmp_path: Path) -> None:
    cwd = tmp_path / "anywhere"
    cwd.mkdir()
    result = subprocess.run([sys.executable, "-m", "wizard", "run", "--sandbox", "--yes"],
                            capture_output=True, text=True, cwd=cwd, env=clean_env(tmp_path),
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines[-3:]] == ["KERNEL", "RAMDISK", "IMAGE"]
    ids = [line.split("\t")[1] for line in lines[-3:]]
    assert len(set(ids)) == 3 and all(ids)
    # Nothing written where it was started; the session is in the state folder.
    assert list(cwd.iterdir()) == []
    sessions = Path(os.environ["XDG_STATE_HOME"]) / "euca-windows-wizard" / "sessions"
    folder = sessions / "sandbox"
    state = json.loads((folder / "state.json").read_text())
    assert all(step["status"] == "done" for step in state["steps"].values())
    assert state["steps"]["image.register"]["outputs"]["image_id"] == ids[2]
    assert state["steps"]["image.bundle"]["inputs"]["kernel_id"] == ids[0]
    assert state["steps"]["image.bundle"]["inputs"]["ramdisk_id"] == ids[1]
    for path in (folder, *folder.rglob("*")):
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600) or path.suffix == ".xml" \
            or ".part." in path.name, (path, oct(mode))
    # The sandbox's folder (its eucarc, samples) went with the cloud.
    answers = (folder / "answers.toml").read_text()
    assert "secret_key =" not in answers
    sandbox_folder = Path(answers.split('eucarc = "', 1)[1].split('"', 1)[0]).parent
    assert not sandbox_folder.exists()
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    finished = [e["step"] for e in events if e["kind"] == "StepFinished"]
    assert finished == ["prerequisites", "memdisk", "floppy",
                        "kernel.bundle", "kernel.upload", "kernel.register",
                        "ramdisk.bundle", "ramdisk.upload", "ramdisk.register",
                        "image.bundle", "image.upload", "image.register"]
    started = [e["step"] for e in events if e["kind"] == "StepStarted"]
    assert started == finished  # one StepStarted per step: new phases are StepPhase

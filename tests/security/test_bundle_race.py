"""Two bundles of one name into one folder, and parts that go missing (issue 9 item 4).

Two real ``python -m wizard bundle`` processes are made to meet at the worst
moment without any timing: each one's stderr is a pipe filled to the brim
beforehand, so a process stops, blocked in write(2), at the first line it
says (``Bundling …``, after it has looked for an existing bundle, or its
one-line refusal). Both are held there (seen in /proc), then let go one at a
time. Whatever the order, the second is refused naming the first's pid (or
both end correctly), no run says ``Wrote manifest`` with a part missing, and
no run removes a file it did not create.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bundle.bundle_checks import (
    CREDENTIAL_VARS,
    ROOT,
    assert_one_error_line,
    part_entries,
    run_cli,
)
from tests.bundle.conftest import (  # noqa: F401 - fixtures, by name
    ACCOUNT,
    KeyFiles,
    bundle_keys,
    images,
    key_files,
    medium_image,
)
from wizard.bundle.bundler import BundleRequest, bundle_image
from wizard.bundle.keys import BundleKeys
from wizard.core.errors import WizardError
from wizard.core.events import Event, StepProgress

_WRITE_SYSCALL = {"x86_64": "1", "aarch64": "64"}.get(platform.machine())


def _full_pipe() -> tuple[int, int, int]:
    """A pipe whose buffer is full: (read end, write end, bytes in it)."""
    read_end, write_end = os.pipe()
    flags = fcntl.fcntl(write_end, fcntl.F_GETFL)
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    filled = 0
    for chunk in (b"#" * 4096, b"#"):
        try:
            while True:
                filled += os.write(write_end, chunk)
        except BlockingIOError:
            pass
    # Blocking again: the child's write must wait, not fail with EAGAIN.
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags)
    return read_end, write_end, filled


def _blocked_writing_stderr(pid: int) -> bool:
    """Whether ``pid`` sleeps in write(2) to its stderr pipe (from /proc)."""
    try:
        if "pipe_write" in Path(f"/proc/{pid}/wchan").read_text():
            return True
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return False
    return len(fields) > 1 and fields[0] == _WRITE_SYSCALL and fields[1] == "0x2"


@dataclass
class HeldRun:
    """A ``bundle`` process held at its first line on stderr."""

    proc: subprocess.Popen[bytes]
    stderr_pipe: int
    filler: int

    @property
    def pid(self) -> int:
        return self.proc.pid

    def let_go(self) -> tuple[int, str, str]:
        """Read its stderr to the end and wait: (exit status, stdout, stderr)."""
        chunks: list[bytes] = []

        def drain() -> None:
            while data := os.read(self.stderr_pipe, 65536):
                chunks.append(data)

        reader = threading.Thread(target=drain)
        reader.start()
        assert self.proc.stdout is not None
        out = self.proc.stdout.read().decode()
        code = self.proc.wait(timeout=120)
        reader.join(timeout=120)
        os.close(self.stderr_pipe)
        err = b"".join(chunks)
        assert err[:self.filler] == b"#" * self.filler
        return code, out, err[self.filler:].decode()


def _start_held(image: Path, dest: Path, keys: KeyFiles, home: Path) -> HeldRun:
    read_end, write_end, filler = _full_pipe()
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "bundle", "-i", str(image), "-d", str(dest),
         "-p", "race.img", "-c", str(keys.user_cert), "-k", str(keys.user_key),
         "-u", ACCOUNT, "--ec2cert", str(keys.cloud_cert)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=write_end, env=env)
    os.close(write_end)
    run = HeldRun(proc, read_end, filler)
    # Not a timing: the loop ends when /proc says so; the count only bounds
    # a process that never gets there (a few minutes on a loaded machine).
    for _ in range(30_000):
        if _blocked_writing_stderr(proc.pid):
            return run
        if proc.poll() is not None:
            code, out, err = run.let_go()
            pytest.fail(f"bundle ended before its first line ({code}): {out!r} {err!r}")
        time.sleep(0.005)  # leave the CPU to the child starting up
    pytest.fail("the bundle process never wrote to stderr")


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file and its bytes, but a lock file (that of a run still going)."""
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.endswith(".bundle-lock")}


def _assert_whole(out: str) -> None:
    """The run said ``Wrote manifest PATH``: every part it lists is there with its SHA-1."""
    last = out.strip().splitlines()[-1]
    assert last.startswith("Wrote manifest "), out
    manifest = Path(last.removeprefix("Wrote manifest "))
    assert manifest.is_file(), f"{manifest} reported but missing"
    parts = part_entries(manifest.read_bytes())
    assert len(parts) >= 4
    for _, filename, digest in parts:
        part = manifest.parent / filename
        assert part.is_file(), f"{part} listed in a reported bundle but missing"
        assert hashlib.sha1(part.read_bytes()).hexdigest() == digest, part


@pytest.mark.parametrize("first_to_finish", ["first started", "second started"])
def test_two_bundles_race_into_one_folder(
    medium_image: Path, key_files: KeyFiles, tmp_path: Path,  # noqa: F811
    first_to_finish: str,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    parent = tmp_path / "bundles"
    parent.mkdir()
    victim = parent / "notes.txt"
    victim.write_bytes(b"the operator's notes\n")
    dest = parent / "out"
    # "first started" finds the folder there (with a file of the operator's);
    # "second started" lets the first run create it, the case where a failing
    # run removed the whole folder, the other run's bundle with it.
    keep = None
    if first_to_finish == "first started":
        dest.mkdir()
        keep = dest / "README"
        keep.write_bytes(b"kept\n")
    before_parent = sorted(p.name for p in parent.iterdir())

    first = _start_held(medium_image, dest, key_files, home)
    second = _start_held(medium_image, dest, key_files, home)
    runs = [first, second] if first_to_finish == "first started" else [second, first]

    ended: dict[int, tuple[int, str, str]] = {}
    snapshots = []
    for run in runs:
        ended[run.pid] = run.let_go()
        snapshots.append(_snapshot(dest))

    # The earlier run's files are all there, byte for byte, after the later one.
    later = _snapshot(dest)
    for name, data in snapshots[0].items():
        assert later.get(name) == data, f"{name} of the run that ended first was changed"
    assert victim.read_bytes() == b"the operator's notes\n"
    assert sorted(p.name for p in parent.iterdir()) == sorted({*before_parent, "out"})
    if keep is not None:
        assert keep.read_bytes() == b"kept\n"

    (code_1, out_1, err_1), (code_2, out_2, err_2) = ended[first.pid], ended[second.pid]
    for code, out, err in ended.values():
        assert "Traceback" not in err
        if code == 0:
            _assert_whole(out)
        else:
            assert code == 1 and "Wrote manifest" not in out, (out, err)
    assert code_1 == 0 or code_2 == 0, (err_1, err_2)
    # A refused run names the one that holds the bundle's lock (today the
    # first, which takes it before its first line).
    if code_1 != 0:
        assert_one_error_line(err_1, f"process {second.pid}", "race.img", str(dest))
    if code_2 != 0:
        assert_one_error_line(err_2, f"process {first.pid}", "race.img", str(dest))
    # Nothing of the refused run's is left, nor a lock file: the bundle alone.
    winner = out_1 if code_1 == 0 else out_2
    manifest = Path(winner.strip().splitlines()[-1].removeprefix("Wrote manifest "))
    listed = [filename for _, filename, _ in part_entries(manifest.read_bytes())]
    assert sorted(later) == sorted([manifest.name, *listed, *(["README"] if keep else [])])


def _bundle_with(image: Path, dest: Path, keys: BundleKeys,
                 when_all_written: Callable[[], object]) -> None:
    def sink(event: Event) -> None:
        # The last progress event comes after the last part is closed and
        # before the manifest: what another program does to a part then.
        if isinstance(event, StepProgress) and event.parts_total is not None:
            when_all_written()

    bundle_image(BundleRequest(image, dest, keys, ACCOUNT), sink)


def test_a_part_removed_before_the_manifest_is_never_reported(
    medium_image: Path, bundle_keys: BundleKeys, tmp_path: Path,  # noqa: F811
) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(WizardError) as caught:
        _bundle_with(medium_image, dest, bundle_keys,
                     lambda: (dest / "medium.img.part.01").unlink())
    assert "medium.img.part.01 was removed or replaced" in caught.value.message
    assert sorted(p.name for p in dest.iterdir()) == []


def test_a_part_replaced_is_refused_and_the_other_file_kept(
    medium_image: Path, bundle_keys: BundleKeys, tmp_path: Path,  # noqa: F811
) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    other = b"another program's file\n"

    def replace_part() -> None:
        (dest / "medium.img.part.00").unlink()
        (dest / "medium.img.part.00").write_bytes(other)

    with pytest.raises(WizardError) as caught:
        _bundle_with(medium_image, dest, bundle_keys, replace_part)
    assert "medium.img.part.00 was removed or replaced" in caught.value.message
    # This run's own parts are gone; the file it did not write is not.
    assert sorted(p.name for p in dest.iterdir()) == ["medium.img.part.00"]
    assert (dest / "medium.img.part.00").read_bytes() == other


@pytest.mark.parametrize("planted", [".race.img.bundle-lock", "race.img.part.00",
                                     "race.img.manifest.xml"])
def test_a_link_planted_under_a_bundle_file_name_is_never_written_through(
    medium_image: Path, key_files: KeyFiles, tmp_path: Path, planted: str,  # noqa: F811
) -> None:
    """A link to the operator's file under the name of the lock, a part or the manifest:
    the run is refused with one line, or replaces the link; the file it points at keeps
    its bytes, and nothing else appears beside it."""
    home = tmp_path / "home"
    home.mkdir()
    victim_folder = tmp_path / "victim"
    victim_folder.mkdir()
    victim = victim_folder / "authorized_keys"
    victim.write_bytes(b"ssh-ed25519 AAAA the operator's key\n")
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / planted).symlink_to(victim)
    result = run_cli("bundle", "-i", str(medium_image), "-d", str(dest), "-p", "race.img",
                     "-c", str(key_files.user_cert), "-k", str(key_files.user_key),
                     "-u", ACCOUNT, "--ec2cert", str(key_files.cloud_cert), home=home)
    assert victim.read_bytes() == b"ssh-ed25519 AAAA the operator's key\n"
    assert sorted(p.name for p in victim_folder.iterdir()) == ["authorized_keys"]
    if result.returncode == 0:
        _assert_whole(result.stdout)
        assert not (dest / planted).is_symlink()
    else:
        assert_one_error_line(result.stderr, planted)
        assert sorted(p.name for p in dest.iterdir()) == [planted]

"""Memory stays bounded whatever the image size (issue 3: peak under 300 MiB).

A 384 MiB image that deflate cannot shrink (a random MiB repeated: its
repeats lie beyond deflate's 32 KiB window) is bundled and unbundled by the
CLI in child processes that report their own peak RSS. A tool that held the
image, the tar stream or the ciphertext in memory would exceed the bound.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.bundle.bundle_checks import CREDENTIAL_VARS, ROOT, file_sha1
from tests.bundle.conftest import ACCOUNT, MIB, KeyFiles

LIMIT = 300 * MIB
SIZE_MIB = 384

# VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across execve, so
# a child of this pytest process would report at least pytest's own peak.
_REPORTING_MAIN = (
    "import sys\n"
    "from wizard.cli.main import main\n"
    "status = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
    "print('peak-rss-kib', hwm, file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def _run(args: list[str], home: Path) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home))
    result = subprocess.run([sys.executable, "-c", _REPORTING_MAIN, *args], capture_output=True,
                            text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    peak = [line for line in result.stderr.splitlines() if line.startswith("peak-rss-kib ")]
    return result.stdout, int(peak[-1].split()[1]) * 1024


def test_bundle_and_unbundle_memory_is_bounded(key_files: KeyFiles, tmp_path: Path) -> None:
    image = tmp_path / "large.img"
    chunk = os.urandom(MIB)
    with open(image, "wb") as handle:
        for _ in range(SIZE_MIB):
            handle.write(chunk)
    home = tmp_path / "home"
    home.mkdir()
    try:
        stdout, bundle_peak = _run(
            ["bundle", "-i", str(image), "-d", str(tmp_path / "b"), "-c",
             str(key_files.user_cert), "-k", str(key_files.user_key), "-u", ACCOUNT,
             "--ec2cert", str(key_files.cloud_cert)], home)
        manifest = stdout.strip().splitlines()[-1].split()[-1]
        bundled = sum(p.stat().st_size for p in (tmp_path / "b").glob("large.img.part.*"))
        assert bundled > SIZE_MIB * MIB, "the data must not compress for this test to mean much"
        assert bundle_peak < LIMIT, f"bundle peak RSS {bundle_peak / MIB:.0f} MiB"
        # The figure is real: Python with its blocks in flight is well above nothing.
        assert bundle_peak > 30 * MIB, f"bundle peak RSS {bundle_peak / MIB:.0f} MiB"

        out = tmp_path / "u"
        out.mkdir()
        _, unbundle_peak = _run(["unbundle", "-m", manifest, "-k", str(key_files.user_key),
                                 "-d", str(out)], home)
        assert unbundle_peak < LIMIT, f"unbundle peak RSS {unbundle_peak / MIB:.0f} MiB"
        assert file_sha1(out / "large.img") == file_sha1(image)
    finally:
        # Hundreds of MiB: do not leave them to pytest's kept temporary folders.
        for leftover in (image, tmp_path / "b", tmp_path / "u"):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            elif leftover.exists():
                leftover.unlink()

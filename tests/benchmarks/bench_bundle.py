"""Benchmark: bundling against the euca2ools pipeline, side by side in one run.

    python tests/benchmarks/bench_bundle.py [--size-mib 256] [--workdir DIR]

Prints MB/s, the speed ratio to ``tar -cS | gzip -6 | openssl enc
-aes-128-cbc | split -b 10m`` (what euca2ools runs), the bundle sizes and the
peak RSS of each (its largest process, from wait4's rusage in a tiny
launcher, so this script's own size does not leak into the figure). Every run
starts from a warm page cache for both contenders (the image is read once
first), so the figures compare CPU work, not the disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from tests.benchmarks.disk_image import make_disk_image  # noqa: E402

PIPELINE = ("tar -cS -C {folder} {name} | gzip -6 | openssl enc -aes-128-cbc -K {key} -iv {iv} "
            "| split -b 10m - {out}/{name}.part.")

OURS = """
import sys
from pathlib import Path
from wizard.bundle.bundler import BundleRequest, bundle_image
from wizard.bundle.keys import BundleKeys
keys = BundleKeys.load(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
bundle_image(BundleRequest(Path(sys.argv[4]), Path(sys.argv[5]), keys, "123456789012"))
"""


# Linux keeps a process's peak RSS across execve: a child forked from this
# benchmark (which has read hundreds of MiB to make the image) would report
# at least this process's size, whatever it used itself. A tiny launcher of
# its own (no site, no imports but os and time) forks the contender instead,
# so the floor is a few MiB, below what either contender really uses.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status))
"""


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process tree (its largest process)."""
    done = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *argv], env=env,
                          stdout=subprocess.PIPE, text=True, check=False)
    seconds, rss, status = done.stdout.split()
    if done.returncode != 0 or int(status) != 0:
        raise SystemExit(f"benchmark command failed: {argv}")
    return float(seconds), int(rss)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def make_keys(folder: Path) -> list[str]:
    paths = []
    for who in ("user", "cloud"):
        key, cert = folder / f"{who}-pk.pem", folder / f"{who}-cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={who}"],
                       check=True, capture_output=True)
        paths += [str(cert), str(key)]
    return [paths[0], paths[1], paths[2]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3, help="best of N for each contender")
    parser.add_argument("--workdir", default=None, help="where to put the image and bundles")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-bundle-", dir=args.workdir))
    try:
        image = make_disk_image(work / "disk.img", args.size_mib << 20)
        size = image.stat().st_size
        with open(image, "rb") as warm:  # warm the page cache for both contenders
            while warm.read(1 << 20):
                pass
        keys = make_keys(work)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        results: dict[str, tuple[float, int, int]] = {}
        for label in ("pipeline", "euca-windows-wizard"):
            best: tuple[float, int, int] | None = None
            for _ in range(args.runs):
                out = work / "out"
                shutil.rmtree(out, ignore_errors=True)
                if label == "pipeline":
                    out.mkdir()
                    command = PIPELINE.format(folder=work, name=image.name, out=out,
                                              key=os.urandom(16).hex(), iv=os.urandom(16).hex())
                    seconds, rss = timed(["bash", "-o", "pipefail", "-c", command])
                else:
                    seconds, rss = timed([sys.executable, "-c", OURS, *keys, str(image), str(out)],
                                         env)
                bundle = sum(p.stat().st_size for p in out.glob("*.part.*"))
                if best is None or seconds < best[0]:
                    best = (seconds, rss, bundle)
            assert best is not None
            results[label] = best
        base_seconds, _, base_size = results["pipeline"]
        floor = timed(["true"])[1]
        print(f"image: {size / 2**20:.0f} MiB of OS-disk content; {os.cpu_count()} cores; "
              f"best of {args.runs}; peak RSS is the largest process of each (`true` "
              f"shows {floor / 2**20:.0f} MiB)")
        print(f"{'':22}{'seconds':>9}{'MiB/s':>9}{'speed-up':>10}{'bundle MiB':>12}"
              f"{'size ratio':>12}{'peak RSS MiB':>14}")
        for label, (seconds, rss, bundle) in results.items():
            print(f"{label:22}{seconds:9.2f}{size / seconds / 2**20:9.0f}"
                  f"{base_seconds / seconds:9.1f}x{bundle / 2**20:12.1f}"
                  f"{bundle / base_size:11.2f}x{rss / 2**20:14.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

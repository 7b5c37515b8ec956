"""Benchmark: parallel upload against a sequential one-part-at-a-time upload, on loopback.

Run on demand (pytest does not collect tests/benchmarks):

    python tests/benchmarks/bench_upload.py [--parts 8] [--latency-ms 0 50]

It starts the sandbox cloud (moto behind the /services/objectstorage path
proxy), bundles random data into real 10 MiB parts, and uploads the same
bundle with ``--concurrency`` 1 (what ec2-upload-bundle does), 2, 4 and 8,
each into an empty store. ``--latency-ms`` adds a delay to every request at
the proxy, the way a WAN link to a remote cloud would; on pure loopback the
store's own speed (moto, in Python) is the limit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from wizard.bundle.bundler import PART_SIZE, BundleRequest, bundle_image  # noqa: E402
from wizard.bundle.keys import BundleKeys  # noqa: E402
from wizard.cloud.endpoints import cloud_from_credentials  # noqa: E402
from wizard.cloud.sandbox import ACCOUNT, start_sandbox  # noqa: E402
from wizard.cloud.upload import upload_bundle  # noqa: E402
from wizard.credentials import load_credentials  # noqa: E402

MIB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", type=int, default=8, help="10 MiB parts in the bundle")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0],
                        help="delay added to each request at the proxy (ms)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeat", type=int, default=2, help="runs per setting (best kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, start_sandbox(Path(tmp) / "box",
                                                             samples=False) as box:
        folder = Path(tmp)
        image = folder / "random.img"
        with open(image, "wb") as out:
            for _ in range(args.parts):
                out.write(os.urandom(PART_SIZE - 4096))  # compressed + encrypted: ~1 part each
        keys = BundleKeys.load(box.cert, box.private_key, box.cloud_cert)
        bundle = bundle_image(BundleRequest(image=image, destination=folder / "bundle",
                                            keys=keys, user=ACCOUNT))
        sizes = [(bundle.manifest_path.parent / p.filename).stat().st_size
                 for p in bundle.manifest.parts]
        total = sum(sizes)
        creds = load_credentials(environ={}, eucarc=box.eucarc, ini_paths=[])
        cloud = cloud_from_credentials(creds, services=("s3",))
        print(f"bundle: {len(sizes)} parts, {total / MIB:.1f} MiB; store: moto on 127.0.0.1 "
              f"behind {box.s3_url}")
        print(f"{'latency':>8} {'concurrency':>11} {'seconds':>8} {'MiB/s':>7} {'speed-up':>8}")
        for latency in args.latency_ms:
            box.proxy.clear()
            if latency:
                box.proxy.inject("delay", lambda m, p: True, times=10**9,
                                 seconds=latency / 1000)
            baseline: float | None = None
            for concurrency in args.concurrency:
                times = []
                for _ in range(args.repeat):
                    box.reset()
                    start = time.perf_counter()
                    result = upload_bundle(bundle.manifest_path, "bench", cloud,
                                           concurrency=concurrency)
                    times.append(time.perf_counter() - start)
                    assert result.parts_sent == len(sizes)
                best = min(times)
                baseline = baseline or best
                print(f"{latency:>6.0f}ms {concurrency:>11} {best:>8.2f} "
                      f"{total / MIB / best:>7.1f} {baseline / best:>7.2f}x"
                      f"{'' if len(times) < 2 else f'  (median {statistics.median(times):.2f}s)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Times the Python read API against the CLI on large stores (release build), as ratios against
one `density trend` measured in the same run.

    DENSITY_BIN=.build/release/density python scripts/bench-read-api.py --work /tmp/bench

Builds (once, kept in --work) a 1,048,576-feature run of 1,000 checkpoints and a 1,024-feature run
of 10,000 checkpoints through `density record`, then prints the median of --repeats timings:
one `trend` of one feature, `Store.history` of 1,000 features (random, and one contiguous block),
`Store.summaries` of the 10,000-checkpoint run, and, when tensorboard is installed, the
TensorBoard backfill of the wide run.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import feature_density as fd  # noqa: E402


def build(db: str, run: str, features: int, checkpoints: int, seed: int) -> None:
    store = fd.Store(db)
    if any(r["name"] == run and r["checkpoints"] == checkpoints for r in (store.runs() if os.path.exists(db) else [])):
        return
    store.create(run, features=features)
    rng = np.random.default_rng(seed)
    # A few increments cycled, with features dying over time, as a training run's.
    increments = [rng.poisson(rng.gamma(0.3, 3.0, size=features)).astype(np.int64) for _ in range(8)]
    death = rng.integers(checkpoints // 4, checkpoints * 4, size=features)
    counts = np.zeros(features, dtype=np.int64)
    start = time.perf_counter()
    with fd.DensityRecorder(run, db=db) as recorder:
        for index in range(checkpoints):
            counts += np.where(death > index, increments[index % 8], 0)
            recorder.record(100 * (index + 1), counts, 4096 * (index + 1))
    print(f"built {run}: {checkpoints} checkpoints of {features} features in {time.perf_counter() - start:.1f} s",
          flush=True)


def median(repeats: int, body) -> float:
    body()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default="/tmp/density-read-bench")
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    os.makedirs(options.work, exist_ok=True)
    density = fd.find_density()
    print(f"density: {density}")
    wide = os.path.join(options.work, "wide.sqlite")
    long = os.path.join(options.work, "long.sqlite")
    build(wide, "wide", 1 << 20, 1000, 1)
    build(long, "long", 1024, 10_000, 2)
    store, long_store = fd.Store(wide), fd.Store(long)
    rng = np.random.default_rng(0)
    random_features = np.sort(rng.choice(1 << 20, size=1000, replace=False))
    block = np.arange(500_000, 501_000)

    trend = median(options.repeats, lambda: subprocess.run(
        [density, "trend", "wide", "--feature", "123457", "--format", "json", "--db", wide],
        check=True, stdout=subprocess.DEVNULL))
    rows = [("trend of 1 feature (1M x 1,000)", trend)]
    rows.append(("history of 1,000 random features", median(options.repeats, lambda: store.history("wide", random_features))))
    rows.append(("history of 1,000 contiguous features", median(options.repeats, lambda: store.history("wide", block))))
    rows.append(("summaries of 10,000 checkpoints", median(options.repeats, lambda: long_store.summaries("long"))))
    rows.append(("summaries of 1,000 checkpoints (1M)", median(options.repeats, lambda: store.summaries("wide"))))
    try:
        from feature_density import tensorboard
    except ImportError:
        tensorboard = None
    if tensorboard is not None:
        def backfill():
            with tempfile.TemporaryDirectory() as logdir:
                tensorboard.write(wide, "wide", logdir)
        rows.append(("tensorboard backfill, 1,000 checkpoints of 1M", median(max(1, options.repeats // 2), backfill)))
    for name, seconds in rows:
        print(f"{name:48s} {seconds * 1000:9.1f} ms   {seconds / trend:6.2f}x trend")


if __name__ == "__main__":
    main()

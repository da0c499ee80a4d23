#!/usr/bin/env python3
"""Load test of density-serve on loopback: N concurrent clients for S seconds while a writer
appends checkpoints; prints requests/s, p50/p99 latency and errors (any non-200).

    python3 scripts/serve-load-test.py [--clients 50] [--seconds 30] [--baseline OTHER/density-serve]

Uses the debug builds in .build/debug (or $DENSITY_BIN and density-serve beside it) and a store
in a temporary folder; sends traffic to 127.0.0.1 only, and stops by itself. With --baseline, the
same load first runs against that other density-serve binary (an earlier build, say) on a store
of its own made the same way, then against this one, and the ratio of their request rates is
printed: both figures come from one run on the same machine state."""

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "python"), os.path.join(HERE, "..", "python", "tests")]
os.environ.setdefault("DENSITY_BIN", os.path.join(HERE, "..", ".build", "debug", "density"))

import numpy as np  # noqa: E402
import feature_density as fd  # noqa: E402
from conftest import density  # noqa: E402
from serve_helpers import Server, wait_until  # noqa: E402

PATHS = ["/api/runs", "/api/runs/live/show", "/api/runs/live/show?step=-1", "/api/runs/live/trend?feature=17",
         "/api/runs/live/histogram?step=latest", "/api/runs/live/dead?window=-5:latest",
         "/api/runs/live/diff?from=-1", "/ui/runs/live/panels"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--features", type=int, default=4096)
    parser.add_argument("--baseline", help="another density-serve binary to measure first, under the same load")
    args = parser.parse_args()
    results = []
    for label, binary in ([("baseline", [args.baseline])] if args.baseline else []) + [("this build", None)]:
        print(f"{label}: {binary[0] if binary else 'density-serve beside ' + os.environ['DENSITY_BIN']}")
        results.append(measure(args, binary))
    if len(results) == 2:
        print(f"request rate, this build / baseline: {results[1][0] / results[0][0]:.2f}x")
    return 1 if results[-1][1] else 0  # this build must answer every request


def measure(args, binary):
    """Runs the load against one server; returns its requests/s and how many requests failed."""
    folder = tempfile.mkdtemp()
    db = os.path.join(folder, "load.sqlite")
    fd.Store(db).create("live", features=args.features)
    rng = np.random.default_rng(1)
    counts = np.zeros(args.features, dtype=np.int64)
    recorder = fd.DensityRecorder("live", db=db)
    step = 0
    for _ in range(10):
        step += 100
        counts += rng.poisson(3, args.features)
        recorder.record(step, counts, step * 10)
    server = Server(db, binary=binary)
    assert wait_until(lambda: server.get("/api/runs/live/show")[0] == 200)
    stop = threading.Event()
    latencies, errors, lock = [], [], threading.Lock()

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        i = index
        while not stop.is_set():
            path = PATHS[i % len(PATHS)]
            i += 1
            start = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()[:200]
                status = response.status
            except Exception as error:  # noqa: BLE001 - counted and reported
                status, body = repr(error), b""
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors.append((path, status, body))
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    appended = 0
    while time.perf_counter() - began < args.seconds:
        step += 100
        counts += rng.poisson(3, args.features)
        recorder.record(step, counts, step * 10)
        appended += 1
        time.sleep(0.25)
    stop.set()
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    recorder.close()
    server.stop()
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"{args.clients} clients, {took:.1f} s, {args.features} features, writer appended {appended} checkpoints")
    print(f"requests: {len(latencies)}  requests/s: {len(latencies) / took:.0f}  p50: {p(0.50):.1f} ms  p99: {p(0.99):.1f} ms  errors: {len(errors)}")
    if errors:
        print("first errors:", errors[:5])
    return len(latencies) / took, len(errors)


if __name__ == "__main__":
    sys.exit(main())

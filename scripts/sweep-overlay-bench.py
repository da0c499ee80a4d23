#!/usr/bin/env python3
"""Times what the sweep page asks of density-serve over a sweep of many stores: the runs table
(GET /api/runs) and an overlay of 8 runs (the 8 GET /api/runs/RUN/summaries the page sends at
once), plus a feature's trend in the same 8 runs, against one run's summaries as the baseline
measured in the same run. The stores are those `density-bench --only sweep` builds (64 runs of
16,384 features x 1,000 checkpoints in 8 stores; the issue's targets: runs <= 0.5 s, an overlay
of 8 runs <= 0.5 s).

    swift build -c release --product density-serve
    scripts/sweep-overlay-bench.py --serve .build/release/density-serve --db '/tmp/sweep-bench/work/sweep-8x8x1000x16384/*.sqlite'
"""

import argparse
import concurrent.futures
import http.client
import json
import re
import statistics
import subprocess
import time
import urllib.parse


def get(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: {response.status} {body[:300]!r}")
        return body
    finally:
        connection.close()


def timed(action, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", required=True, help="the density-serve binary (a release build)")
    parser.add_argument("--db", required=True, help="the stores: a quoted glob")
    parser.add_argument("--runs", type=int, default=8, help="runs overlaid (default 8)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--readers", type=int, default=8)
    options = parser.parse_args()
    server = subprocess.Popen([options.serve, "--db", options.db, "--port", "0", "--readers", str(options.readers)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        port = int(re.search(r"http://[^:]+:(\d+)/", line).group(1))
        runs = json.loads(get(port, "/api/runs"))
        stores = len({r["store"] for r in runs})
        # One run from each store, as a sweep's overlay mixes nodes.
        chosen, seen = [], set()
        for run in runs:
            if run["store"] not in seen and len(chosen) < options.runs:
                seen.add(run["store"])
                chosen.append(run)
        for run in runs:
            if len(chosen) < options.runs and run not in chosen:
                chosen.append(run)
        quote = lambda name: urllib.parse.quote(name, safe="")
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=options.runs)

        def overlay(endpoint):
            bodies = list(pool.map(lambda r: get(port, f"/api/runs/{quote(r['name'])}/{endpoint}"), chosen))
            return [json.loads(b) for b in bodies]

        drawn = overlay("summaries")
        assert all(len(d["step"]) == r["checkpoints"] for d, r in zip(drawn, chosen))
        rows = [
            ("GET /api/runs", timed(lambda: get(port, "/api/runs"), options.repeats)),
            ("one run's summaries (baseline)", timed(lambda: get(port, f"/api/runs/{quote(chosen[0]['name'])}/summaries"), options.repeats)),
            (f"overlay of {len(chosen)} runs (summaries, at once)", timed(lambda: overlay("summaries"), options.repeats)),
            (f"feature 5's trend in {len(chosen)} runs (points=400)", timed(lambda: overlay("trend?feature=5&points=400"), options.repeats)),
        ]
        base = rows[1][1][0]
        print(f"{len(runs)} runs in {stores} stores, {runs[0]['features']} features, {runs[0]['checkpoints']} checkpoints a run;"
              f" median and worst of {options.repeats}\n")
        print(f"| request | median s | worst s | x baseline |\n|---|---:|---:|---:|")
        for name, (median, worst) in rows:
            print(f"| {name} | {median:.3f} | {worst:.3f} | {median / base:.1f} |")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

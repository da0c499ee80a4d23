#!/usr/bin/env python3
"""What recording every step costs a training loop, at several widths, in one run.

The loop's step is 50 ms of waiting (a GPU step as the CPU sees it) plus one count added to an
int64 counts tensor; the recording loop also calls ``DensityRecorder.record`` every step. For each
width, in a process of its own (so that its peak RSS is its own), the loops without and with
recording alternate ``--repeats`` times. Reported: the per-step cost (recording loop minus the
plain loop, per step, and as a share of the 50 ms step); ``record()``'s median and p99 against a
copy of the state into a preallocated host buffer timed at each step of the plain loop (numpy's
one-memcpy copy on the CPU; left out of that loop's time), with torch's ``copy_`` and ``clone()``
for reference;
the states/s ``density record`` sustains when fed flat out (``record`` back to back, until
``close()`` returns); and the peak RSS of the trainer and of ``density record``.

    swift build -c release --product density
    DENSITY_BIN=.build/release/density ~/.cache/density-venv/bin/python scripts/loop-bench.py
    ... --widths 16384,1048576 --repeats 3 --device cuda        (scripts/gpu-check.sh)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

STEP_SECONDS = 0.05
STEPS = {16_384: 60, 131_072: 60, 1_048_576: 40, 16_777_216: 20}


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def measure(width: int, repeats: int, device: str, folder: str) -> dict:
    """One width, in this process: the figures as a dict."""
    import torch

    from feature_density import DensityRecorder
    from feature_density._binary import run_density

    steps = STEPS.get(width, 20)
    db = os.path.join(folder, f"bench-{width}.sqlite")
    run_density(["create", "loop", "--features", str(width), "--db", db])
    run_density(["create", "flat", "--features", str(width), "--db", db])
    counts = torch.zeros(width, dtype=torch.int64, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    # A copy of the state into a preallocated host buffer, timed at each step of the plain loop
    # (numpy's copy, one memcpy, on the CPU; torch's copy_ and a sync on a GPU) and left out of
    # that loop's time; torch's copy_ and clone() timed once more here.
    buffer = torch.empty_like(counts, device="cpu")

    def copy():
        if device == "cpu":
            buffer.numpy()[...] = counts.numpy()
        else:
            buffer.copy_(counts)
            sync()

    copies, torch_copies, clones = [], [], []
    for _ in range(20):
        began = time.perf_counter()
        buffer.copy_(counts)
        sync()
        torch_copies.append(time.perf_counter() - began)
        began = time.perf_counter()
        counts.clone()
        sync()
        clones.append(time.perf_counter() - began)

    step = 0
    plain, recording, record_times = [], [], []
    density_peak = 0
    recorder = DensityRecorder("loop", db=db)
    for _ in range(repeats):
        began, copying = time.perf_counter(), 0.0
        for _ in range(steps):
            step += 1
            counts[step % width] += 1
            time.sleep(STEP_SECONDS)
            called = time.perf_counter()
            copy()
            copies.append(time.perf_counter() - called)
            copying += copies[-1]
        plain.append((time.perf_counter() - began - copying) / steps)

        began = time.perf_counter()
        for _ in range(steps):
            step += 1
            counts[step % width] += 1
            time.sleep(STEP_SECONDS)
            called = time.perf_counter()
            recorder.record(step, counts, 64 * step)
            record_times.append(time.perf_counter() - called)
        recording.append((time.perf_counter() - began) / steps)
        density_peak = max(density_peak, peak_rss_kib(recorder.process.pid))
    recorder.flush()
    density_peak = max(density_peak, peak_rss_kib(recorder.process.pid))
    stats = recorder.stats
    recorder.close()
    record_times = record_times[1:]   # the first state waits for density's answer (fail fast)

    # Flat out: how many states/s density stores when record() is called back to back.
    flat = DensityRecorder("flat", db=db)
    flat_states = max(10, steps // 2)
    began = time.perf_counter()
    for i in range(1, flat_states + 1):
        counts[i % width] += 1
        flat.record(i, counts, 64 * i)
    flat.flush()
    density_peak = max(density_peak, peak_rss_kib(flat.process.pid))
    flat.close()
    flat_seconds = time.perf_counter() - began

    costs = [r - p for r, p in zip(recording, plain)]
    return {
        "width": width, "device": device, "steps": steps, "repeats": repeats,
        "plain_ms": [1e3 * p for p in plain], "recording_ms": [1e3 * r for r in recording],
        "cost_ms": [1e3 * c for c in costs], "cost_pct": [100 * c / STEP_SECONDS for c in costs],
        "record_median_ms": 1e3 * statistics.median(record_times), "record_p99_ms": 1e3 * percentile(record_times, 0.99),
        "copy_median_ms": 1e3 * statistics.median(copies), "copy_p99_ms": 1e3 * percentile(copies, 0.99),
        "torch_copy_median_ms": 1e3 * statistics.median(torch_copies), "clone_median_ms": 1e3 * statistics.median(clones),
        "waits": stats.waits, "wait_ms": 1e3 * stats.wait_seconds,
        "flat_states_per_s": flat_states / flat_seconds,
        "trainer_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "density_peak_rss_mib": density_peak / 1024,
        "state_mib": width * 8 / 2 ** 20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", default=",".join(str(w) for w in STEPS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dir", help="where the stores go (default: a temporary folder)")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)   # a width, measured in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.repeats, args.device, args.dir)))
        return
    results = []
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for width in (int(w) for w in args.widths.split(",")):
            output = subprocess.run([sys.executable, __file__, "--one", str(width), "--repeats", str(args.repeats),
                                     "--device", args.device, "--dir", folder], check=True, stdout=subprocess.PIPE,
                                    text=True).stdout
            results.append(json.loads(output.strip().splitlines()[-1]))
            r = results[-1]
            print(f"{width:>10,} features: plain {fmt(r['plain_ms'])} ms/step, recording {fmt(r['recording_ms'])} "
                  f"ms/step: cost {fmt(r['cost_ms'], 2)} ms ({fmt(r['cost_pct'], 1)}%); record() median "
                  f"{r['record_median_ms']:.3f} ms, p99 {r['record_p99_ms']:.3f} ms vs a copy {r['copy_median_ms']:.3f} ms "
                  f"(p99 {r['copy_p99_ms']:.3f} ms) "
                  f"({r['record_median_ms'] / r['copy_median_ms']:.1f}x; torch copy_ {r['torch_copy_median_ms']:.3f} ms, "
                  f"clone {r['clone_median_ms']:.3f} ms); waits "
                  f"{r['waits']} ({r['wait_ms']:.0f} ms); flat out {r['flat_states_per_s']:.1f} states/s; peak RSS "
                  f"trainer {r['trainer_peak_rss_mib']:.0f} MiB, density {r['density_peak_rss_mib']:.0f} MiB "
                  f"(state {r['state_mib']:.2f} MiB)", flush=True)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=1)


def fmt(values, digits=1) -> str:
    low, high = min(values), max(values)
    return f"{low:.{digits}f}" if len(values) == 1 or f"{low:.{digits}f}" == f"{high:.{digits}f}" \
        else f"{low:.{digits}f}-{high:.{digits}f}"


if __name__ == "__main__":
    main()

"""The reference torchmetrics metric recorded from a real 2-rank torch.distributed (gloo) job:
the store equals the synced state at every recorded step, and a job that loses a rank to SIGKILL
resumes with restore() to the uninterrupted job's final state."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from conftest import EXAMPLES, example_env, run_example
from feature_density import DensityError, Store
from feature_density_metric import FeatureDensityMetric, synthetic_activations

FEATURES, STEPS, EVERY = 48, 40, 2


def launch(db, log, ranks, pause):
    """The example as a 2-rank job (what torchrun does: RANK, WORLD_SIZE, MASTER_ADDR/PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    arguments = [sys.executable, os.path.join(EXAMPLES, "torchmetrics_example.py"), "--db", db, "--run", "job",
                 "--features", str(FEATURES), "--steps", str(STEPS), "--every", str(EVERY), "--ranks", ranks,
                 "--pause", str(pause), "--log", log]
    return [subprocess.Popen(arguments, env=example_env(RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                                                        MASTER_PORT=str(port)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for rank in range(2)]


def latest_step(store):
    if not os.path.exists(store.db):
        return 0
    try:
        runs = [r for r in store.runs() if r["name"] == "job"]
    except DensityError as error:
        # Read while rank 0 is still creating the store: the file exists but is still empty, or
        # its schema is not committed yet.
        if "older schema" in str(error) or "no store at" in str(error):
            return 0
        raise
    return runs[0]["latest_step"] if runs and runs[0]["latest_step"] is not None else 0


def expected(upto):
    """The synced state after steps 1..upto, computed here with the reference metric."""
    metric = FeatureDensityMetric(FEATURES)
    for step in range(1, upto + 1):
        for rank in range(2):
            metric.update(synthetic_activations(step, rank, FEATURES))
    return metric.neuron_fired_count.to(torch.int64).numpy(), int(metric.num_activation_vectors)


def check_log_against_store(store, log):
    """Every recorded step the job logged: the stored checkpoint is the synced state, exactly."""
    lines = [json.loads(line) for line in open(log)]
    assert lines, "the job logged no recorded step"
    for entry in lines:
        state = store.state("job", entry["step"])
        assert state["step"] == entry["step"]
        assert state["neuron_fired_count"].tolist() == [int(c) for c in entry["counts"]]
        assert state["num_activation_vectors"] == entry["vectors"]
        density = np.float32(state["neuron_fired_count"]) / np.float32(state["num_activation_vectors"])
        assert density.view(np.int32).tolist() == np.array(entry["density"], dtype=np.float32).view(np.int32).tolist()
    return [entry["step"] for entry in lines]


@pytest.mark.parametrize("ranks", ["each", "zero"])
def test_a_two_rank_job_records_the_synced_state_and_resumes_after_a_rank_is_killed(tmp_path, ranks):
    db, store = str(tmp_path / "job.sqlite"), Store(str(tmp_path / "job.sqlite"))
    first_log, second_log = str(tmp_path / "first.jsonl"), str(tmp_path / "second.jsonl")

    # First life: rank 1 is SIGKILLed once a dozen steps are stored; rank 0 then fails in its next
    # collective (or is killed, as torchrun tears a job down).
    processes = launch(db, first_log, ranks, pause=0.15)
    deadline = time.time() + 120
    while latest_step(store) < 12:
        assert time.time() < deadline and processes[1].poll() is None, processes[1].communicate()
        time.sleep(0.05)
    processes[1].send_signal(signal.SIGKILL)
    try:
        processes[0].wait(timeout=60)
    except subprocess.TimeoutExpired:
        processes[0].kill()
    for process in processes:
        process.communicate()
    assert processes[1].returncode == -signal.SIGKILL and processes[0].returncode != 0
    killed_at = latest_step(store)
    assert 12 <= killed_at < STEPS, "the kill must land mid-run"
    first_steps = check_log_against_store(store, first_log)

    # Second life: both ranks restore the stored state and train to the end.
    processes = launch(db, second_log, ranks, pause=0)
    outputs = [process.communicate(timeout=240) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert f"trained steps {killed_at + 1} to {STEPS}" in outputs[0][0]
    second_steps = check_log_against_store(store, second_log)
    assert second_steps[0] > killed_at and second_steps[-1] == STEPS

    counts, vectors = expected(STEPS)
    final = store.state("job", STEPS)
    assert final["neuron_fired_count"].tolist() == counts.tolist() and final["num_activation_vectors"] == vectors
    assert [r for r in store.runs() if r["name"] == "job"][0]["pending_steps"] == 0
    # Every stored checkpoint, not only those logged, is the uninterrupted job's state at its step.
    for step in store.checkpoints("job")["step"][:: 5]:
        counts, vectors = expected(int(step))
        assert store.state("job", int(step))["neuron_fired_count"].tolist() == counts.tolist()


def test_restore_loads_the_exact_state_and_warns_where_float32_cannot_hold_it(tmp_path):
    from feature_density import DensityRecorder
    from feature_density.torchmetrics import restore
    db = str(tmp_path / "big.sqlite")
    Store(db).create("big", features=3)
    counts = np.array([2 ** 24 + 1, 5, 0], dtype=np.int64)
    with DensityRecorder("big", db=db) as recorder:
        recorder.record(9, counts, 2 ** 25)
    metric = FeatureDensityMetric(3)
    with pytest.warns(RuntimeWarning, match="2\\^24"):
        start = restore(metric, "big", db=db)
    assert start == 10 and int(metric.num_activation_vectors) == 2 ** 25
    assert metric.neuron_fired_count.tolist() == [float(np.float32(2 ** 24 + 1)), 5.0, 0.0]
    fresh = FeatureDensityMetric(3)
    Store(db).create("empty", features=3)
    assert restore(fresh, "empty", db=db) == 0


def test_the_example_runs_on_one_process_and_resumes(tmp_path):
    db = str(tmp_path / "one.sqlite")
    run_example("torchmetrics_example.py", "--db", db, "--run", "one", "--steps", "7", "--every", "3",
                "--features", str(FEATURES))
    assert Store(db).checkpoints("one")["step"].tolist() == [3, 6, 7]   # the last step, sent on exit
    result = run_example("torchmetrics_example.py", "--db", db, "--run", "one", "--steps", "12", "--every", "3",
                         "--features", str(FEATURES))
    assert "trained steps 8 to 12" in result.stdout
    metric = FeatureDensityMetric(FEATURES)
    for step in range(1, 13):
        metric.update(synthetic_activations(step, 0, FEATURES))
    assert Store(db).state("one")["neuron_fired_count"].tolist() == metric.neuron_fired_count.to(torch.int64).tolist()

"""The recorder beside the loop, with real torch and real `density record` processes: signals to
the trainer's process group lose nothing, a SIGKILL loses at most the states in flight and resumes
to the uninterrupted run, configuration errors raise before training goes on, every hook counts
with the run's fire threshold exactly as `density ingest` does, loggers and mirrors are forwarded."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch

import feature_density as fd
from conftest import PYTHON_DIR, density, example_env
from feature_density import Store
from feature_density.tracker import DensityTracker
from feature_density_metric import FeatureDensityMetric, synthetic_activations

LOOP = os.path.join(PYTHON_DIR, "tests", "recording_loop.py")
FEATURES = 64


def expected(step: int):
    """The counts and vectors after steps 1..step of recording_loop.py."""
    counts = sum((synthetic_activations(s, 0, FEATURES) > 0).sum(dim=0) for s in range(1, step + 1))
    return counts.numpy().tolist(), 32 * step


def start_loop(db, log, *arguments):
    """recording_loop.py in a process group of its own, as a shell starts a job."""
    return subprocess.Popen([sys.executable, LOOP, "--db", db, "--run", "r", "--log", log, *arguments],
                            env=example_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def logged(log):
    """The recorder's pid and the steps the loop handed to the recorder, from its log."""
    if not os.path.exists(log):
        return None, []
    lines = open(log).read().split("\n")[:-1]
    pid = next((int(line.split()[1]) for line in lines if line.startswith("pid")), None)
    return pid, [int(line.split()[1]) for line in lines if line.startswith("step")]


def wait_for_steps(alive, log, count, timeout=120, skipped_by_every=False):
    """Waits until the loop logged ``count`` steps (and, with ``skipped_by_every``, its last step
    is one every=10 skips: a signal now lands in the 100 ms pause after it)."""
    deadline = time.time() + timeout
    while True:
        steps = logged(log)[1]
        if len(steps) >= count and (not skipped_by_every or steps[-1] % 10 == 5):
            return
        assert alive(), "the loop stopped"
        assert time.time() < deadline, "the loop did not get going"
        time.sleep(0.005)


def wait_for_exit(pid, timeout=60):
    """Waits for a process this test did not start (density record, orphaned by a SIGKILL)."""
    deadline = time.time() + timeout
    while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
        assert time.time() < deadline, f"density record (pid {pid}) did not finish"
        time.sleep(0.05)


@pytest.mark.parametrize("api, sig", [("recorder", signal.SIGINT), ("tracker", signal.SIGINT),
                                      ("tracker", signal.SIGTERM)])
def test_a_signal_to_the_process_group_stores_the_last_state_passed_to_record(db, api, sig):
    density("create", "r", "--features", str(FEATURES), "--db", db)
    log = db + ".log"
    process = start_loop(db, log, "--api", api, "--every", "10", "--pause", "0.1")
    wait_for_steps(lambda: process.poll() is None, log, 15, skipped_by_every=True)
    os.killpg(process.pid, sig)          # what Ctrl-C in the terminal does (SIGINT), or `kill -TERM -PGID`
    out, err = process.communicate(timeout=60)
    assert process.returncode != 0 and "trained to the end" not in out
    assert ("KeyboardInterrupt" in err) == (sig == signal.SIGINT), err
    pid, steps = logged(log)
    last = steps[-1]
    assert last % 10 == 5, "the last step must be one that every=10 skipped for this test to mean something"
    state = Store(db).state("r")
    assert state["step"] == last
    counts, vectors = expected(last)
    assert state["neuron_fired_count"].tolist() == counts and state["num_activation_vectors"] == vectors
    assert Store(db).checkpoints("r")["step"].tolist() == list(range(10, last, 10)) + [last]
    assert not os.path.exists(f"/proc/{pid}")


def test_ctrl_c_in_a_tmux_pane_stores_the_last_state_passed_to_record(db):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    density("create", "r", "--features", str(FEATURES), "--db", db)
    log, socket = db + ".log", f"fd-test-{os.getpid()}"
    env = example_env()
    command = (f"exec env PYTHONPATH={shlex.quote(env['PYTHONPATH'])} DENSITY_BIN={shlex.quote(env['DENSITY_BIN'])} "
               f"{shlex.quote(sys.executable)} {LOOP} --db {db} --run r --log {log} --every 10 --pause 0.1 "
               f"2> {db}.err")
    tmux = ["tmux", "-L", socket]
    subprocess.run(tmux + ["new-session", "-d", "-s", "loop", "-x", "120", "-y", "30", command], check=True)
    try:
        trainer = int(subprocess.run(tmux + ["display-message", "-p", "-t", "loop", "#{pane_pid}"], check=True,
                                     capture_output=True, text=True).stdout)
        wait_for_steps(lambda: os.path.exists(f"/proc/{trainer}"), log, 15, skipped_by_every=True)
        subprocess.run(tmux + ["send-keys", "-t", "loop", "C-c"], check=True)   # Ctrl-C, as typed
        wait_for_exit(trainer)
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)
    assert "KeyboardInterrupt" in open(db + ".err").read()
    pid, steps = logged(log)
    assert not os.path.exists(f"/proc/{pid}")        # density record finished before the trainer exited
    state = Store(db).state("r")
    assert steps[-1] % 10 == 5 and state["step"] == steps[-1]
    counts, vectors = expected(steps[-1])
    assert state["neuron_fired_count"].tolist() == counts and state["num_activation_vectors"] == vectors


def test_a_sigkill_loses_at_most_the_states_in_flight_and_resumes_to_the_uninterrupted_run(tmp_path):
    whole, split = str(tmp_path / "whole.sqlite"), str(tmp_path / "split.sqlite")
    for db in (whole, split):
        density("create", "r", "--features", str(FEATURES), "--db", db)
    uninterrupted = start_loop(whole, str(tmp_path / "whole.log"), "--api", "tracker", "--steps", "40")

    log = str(tmp_path / "split.log")
    process = start_loop(split, log, "--api", "tracker", "--pause", "0.01", "--steps", "40")
    wait_for_steps(lambda: process.poll() is None, log, 15)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    pid, steps = logged(log)
    wait_for_exit(pid)                   # density stores every frame it received whole, then exits
    stored = Store(split).checkpoints("r")["step"].tolist()
    assert stored == list(range(1, stored[-1] + 1))
    assert 0 <= steps[-1] - stored[-1] <= 2, f"handed up to step {steps[-1]}, stored up to {stored[-1]}"
    assert stored[-1] < 40

    resumed = start_loop(split, log, "--api", "tracker", "--steps", "40", "--resume")
    assert "trained to the end" in resumed.communicate(timeout=120)[0]
    assert "trained to the end" in uninterrupted.communicate(timeout=120)[0]
    a, b = Store(whole), Store(split)
    assert a.checkpoints("r")["step"].tolist() == b.checkpoints("r")["step"].tolist() == list(range(1, 41))
    for step in (stored[-1], stored[-1] + 1, 40):
        assert a.state("r", step)["neuron_fired_count"].tolist() == b.state("r", step)["neuron_fired_count"].tolist()
    counts, vectors = expected(40)
    assert b.state("r")["neuron_fired_count"].tolist() == counts and b.state("r")["num_activation_vectors"] == vectors


# MARK: - fail fast


@pytest.fixture
def run4(db):
    density("create", "r", "--features", "4", "--db", db)
    return "r"


def test_an_unknown_run_raises_at_start_in_every_integration(db, run4):
    from feature_density import saelens
    from feature_density.torchmetrics import MetricRecorder
    from sae_lens import StandardTrainingSAE, StandardTrainingSAEConfig

    sae = StandardTrainingSAE(StandardTrainingSAEConfig(d_in=8, d_sae=4))
    for start in (lambda: fd.DensityRecorder("nope", db=db), lambda: DensityTracker("nope", db=db),
                  lambda: saelens.attach(sae, "nope", db=db), lambda: MetricRecorder(FeatureDensityMetric(4), "nope", db=db)):
        with pytest.raises(fd.DensityError, match="no run named 'nope'"):
            start()


def test_a_width_or_shape_that_is_not_the_runs_raises_before_anything_is_stored(db, run4):
    from feature_density import saelens
    from feature_density.torchmetrics import MetricRecorder
    from sae_lens import StandardTrainingSAE, StandardTrainingSAEConfig

    with pytest.raises(ValueError, match="the SAE has 24 features.*run 'r' has \\[4\\].*--features 24"):
        saelens.attach(StandardTrainingSAE(StandardTrainingSAEConfig(d_in=8, d_sae=24)), "r", db=db)
    with pytest.raises(ValueError, match="shape \\[5\\], run 'r' has \\[4\\]"):
        MetricRecorder(FeatureDensityMetric(5), "r", db=db)
    with fd.DensityRecorder("r", db=db) as recorder:
        with pytest.raises(ValueError, match="shape \\[5\\], run 'r' has 4 features"):
            recorder.record(1, np.zeros(5, dtype=np.int64), 1)
    with DensityTracker("r", db=db) as tracker:
        with pytest.raises(ValueError, match=r"\[2, 16, 4\] do not fit run 'r' \(\[4\]\).*acts.reshape\(-1, 4\)"):
            tracker.update(torch.ones(2, 16, 4))           # [batch, seq, features]: not read as components
        with pytest.raises(ValueError, match=r"\[2, 5\] do not fit"):
            tracker.update(torch.ones(2, 5))
    with pytest.raises(fd.NoCheckpointError):
        fd.load_state("r", db=db)


def test_a_first_state_density_refuses_raises_from_record(db, run4):
    with fd.DensityRecorder("r", db=db) as recorder:
        recorder.record(10, np.array([1, 1, 0, 0]), 5)
    recorder = fd.DensityRecorder("r", db=db)           # a restart that forgot to resume
    with pytest.raises(fd.DensityError, match="refused the first state.*step 3"):
        recorder.record(3, np.array([1, 0, 0, 0]), 1)
    with pytest.raises(fd.DensityError):
        recorder.close()
    assert Store(db).checkpoints("r")["step"].tolist() == [10]


def test_invalid_dtypes_and_steps_raise_value_error_and_bfloat16_counts_are_stored_exactly(db, run4):
    with fd.DensityRecorder("r", db=db) as recorder:
        for step, message in [(2 ** 63, "step must be 0 to 2\\^63 - 1"), (-1, "step must be 0"),
                              (1.5, "step must be a whole number")]:
            with pytest.raises(ValueError, match=message):
                recorder.record(step, np.zeros(4), 1)
        with pytest.raises(ValueError, match="dtype bool"):
            recorder.record(1, torch.zeros(4, dtype=torch.bool), 1)
        with pytest.raises(ValueError, match="dtype complex64"):
            recorder.record(1, torch.zeros(4, dtype=torch.complex64), 1)
        with pytest.raises(ValueError, match="num_activation_vectors must be 0 to 2\\^63 - 1"):
            recorder.record(1, np.zeros(4), 2 ** 63)
        assert recorder.record(1, torch.tensor([3, 0, 256, 1], dtype=torch.bfloat16), 300)
        with pytest.warns(RuntimeWarning, match="bfloat16 counts above 256 \\(up to 258 at step 2\\)"):
            recorder.record(2, torch.tensor([3, 0, 258, 1], dtype=torch.bfloat16), 302)
            recorder.flush()
        assert recorder.record(3, torch.tensor([4, 0, 300, 1], dtype=torch.float16), 350)
    assert Store(db).state("r", 1)["neuron_fired_count"].tolist() == [3, 0, 256, 1]
    assert Store(db).state("r", 3)["neuron_fired_count"].tolist() == [4, 0, 300, 1]


def test_flush_returns_once_every_state_is_stored_and_sends_nothing_more(db, run4):
    """flush() before a model checkpoint: every state handed over is in the store when it
    returns, read by another process while the recorder still runs; density answered on each
    frame as it committed, so no frame was sent twice."""
    import threading

    with fd.DensityRecorder("r", db=db) as recorder:
        for step in range(1, 7):
            recorder.record(step, np.array([step, 0, 2 * step, 1], dtype=np.int64), 10 * step)
            if step % 2:
                continue
            done = threading.Event()
            flusher = threading.Thread(target=lambda: (recorder.flush(), done.set()), daemon=True)
            flusher.start()
            flusher.join(timeout=60)
            assert done.is_set(), f"flush() did not return within 60 s after step {step}"
            assert Store(db).state("r")["neuron_fired_count"].tolist() == [step, 0, 2 * step, 1]
        assert recorder._sender.written == 6
        assert recorder._sender.stored == 6
    assert Store(db).checkpoints("r")["step"].tolist() == list(range(1, 7))


def test_float32_counts_past_2_24_warn_once_as_density_checkpoint_does(db, run4):
    with fd.DensityRecorder("r", db=db) as recorder:
        with pytest.warns(UserWarning, match="float32 counts above 2\\^24") as caught:
            for step in range(1, 4):
                recorder.record(step, torch.tensor([2.0 ** 24 + 2 * step, 0, 0, 0]), 2 ** 25 + 2 * step)
            recorder.flush()
            recorder.record(4, torch.tensor([2.0 ** 25, 0, 0, 0]), 2 ** 26)
            recorder.flush()
    assert sum("2^24" in str(w.message) for w in caught) == 1
    assert Store(db).state("r")["neuron_fired_count"].tolist() == [2 ** 25, 0, 0, 0]


def test_an_sae_that_never_trains_warns_on_close(db):
    from feature_density import saelens
    from sae_lens import StandardTrainingSAE, StandardTrainingSAEConfig

    density("create", "toy", "--features", "24", "--db", db)
    sae = StandardTrainingSAE(StandardTrainingSAEConfig(d_in=8, d_sae=24))
    sae.eval()
    with pytest.warns(RuntimeWarning, match="no training forward pass while attached"):
        with saelens.attach(sae, "toy", db=db, every=2):
            for _ in range(3):
                sae.encode(torch.randn(4, 8))
    with pytest.raises(fd.NoCheckpointError):
        fd.load_state("toy", db=db)


# MARK: - fire threshold


def edge_batches(threshold: float):
    """Batches [8, 6] around a threshold: its float32 rounding and the floats either side of it,
    0, NaN, +inf, -inf, and random values; the last is float16."""
    t32 = np.float32(threshold)
    edges = np.array([t32, np.nextafter(t32, np.float32(1)), np.nextafter(t32, np.float32(-1)), 0, np.nan, np.inf,
                      -np.inf, threshold], dtype=np.float32)
    generator = np.random.default_rng(7)
    batches = []
    for i in range(5):
        batch = generator.normal(threshold, 0.2, size=(8, 6)).astype(np.float32)
        batch[:, i] = edges
        batches.append(batch)
    half = np.array([threshold, np.float16(threshold), np.nextafter(np.float16(threshold), np.float16(1)), 0.05, 1, -1],
                    dtype=np.float16)
    batches.append(np.tile(half, (8, 1)))
    return batches


@pytest.mark.parametrize("threshold", [0.1, -0.3, 0.0])
def test_every_hook_counts_with_the_runs_fire_threshold_as_density_ingest_does(tmp_path, threshold):
    from feature_density import saelens
    from feature_density.torchmetrics import MetricRecorder
    from sae_lens import StandardTrainingSAE, StandardTrainingSAEConfig

    db = str(tmp_path / "runs.sqlite")
    batches = edge_batches(threshold)
    for run in ("ingest", "tracker", "saelens", "metric"):
        density("create", run, "--features", "6", "--fire-threshold", repr(threshold), "--db", db)
    files = []
    for i, batch in enumerate(batches):
        files.append(str(tmp_path / f"batch-{i}.npy"))
        np.save(files[-1], batch)
    density("ingest", "ingest", "--step", str(len(batches)), *files, "--db", db)

    with DensityTracker("tracker", db=db, every=4) as tracker:
        assert tracker.fire_threshold == threshold
        for step, batch in enumerate(batches, start=1):
            tracker.update(torch.from_numpy(batch))
            tracker.step(step)

    sae = StandardTrainingSAE(StandardTrainingSAEConfig(d_in=3, d_sae=6))
    sae.train()
    with saelens.attach(sae, "saelens", db=db, every=4):
        for batch in batches:                    # the hook point sees exactly these activations
            sae.hook_sae_acts_post(torch.from_numpy(batch).requires_grad_(False))

    metric = FeatureDensityMetric(6, fire_threshold=threshold)
    with MetricRecorder(metric, "metric", db=db, every=4) as recorder:
        for step, batch in enumerate(batches[:-1], start=1):   # the reference metric keeps float32 counts
            metric.update(torch.from_numpy(batch))
            recorder.record(step)
    store = Store(db)
    reference = store.state("ingest")
    assert reference["num_activation_vectors"] == 48
    for run in ("tracker", "saelens"):
        state = store.state(run)
        assert state["step"] == len(batches) and state["num_activation_vectors"] == 48
        assert state["neuron_fired_count"].tolist() == reference["neuron_fired_count"].tolist(), run
    # the metric saw the float32 batches only: compare with ingest of those
    density("create", "ingest32", "--features", "6", "--fire-threshold", repr(threshold), "--db", db)
    density("ingest", "ingest32", "--step", "5", *files[:-1], "--db", db)
    assert store.state("metric")["neuron_fired_count"].tolist() == store.state("ingest32")["neuron_fired_count"].tolist()
    assert 0 < int(reference["neuron_fired_count"].sum()) < 48 * 6


def test_a_metric_counting_with_another_threshold_is_refused(db):
    from feature_density.torchmetrics import MetricRecorder

    density("create", "t", "--features", "4", "--fire-threshold", "0.5", "--db", db)
    with pytest.raises(ValueError, match="counts activations > 0.5.*the metric counts > 0.0"):
        MetricRecorder(FeatureDensityMetric(4), "t", db=db)


# MARK: - loggers, mirrors, figures


class Logger:
    def __init__(self, fail=None):
        self.calls, self.fail = [], fail

    def attach(self, run, db):
        self.calls.append(("attach", run, db))

    def stored(self, step):
        self.calls.append(("stored", step))
        if self.fail == "stored":
            raise OSError("disk full")

    def close(self):
        self.calls.append(("close",))


def test_loggers_are_told_of_each_state_and_a_failing_one_warns_once(db, run4):
    good, bad = Logger(), Logger(fail="stored")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fd.DensityRecorder("r", db=db, every=2, loggers=[good, bad]) as recorder:
            for step in range(1, 6):
                recorder.record(step, np.array([step, 0, 0, 0]), step)
    assert good.calls == [("attach", "r", db), ("stored", 2), ("stored", 4), ("stored", 5), ("close",)]
    assert bad.calls == good.calls
    failures = [w for w in caught if "Logger.stored failed" in str(w.message)]
    assert len(failures) == 1 and "disk full" in str(failures[0].message)
    assert failures[0].category is RuntimeWarning
    assert Store(db).checkpoints("r")["step"].tolist() == [2, 4, 5]


def test_every_integration_forwards_loggers_and_mirrors(db, run4, tmp_path):
    from feature_density import saelens
    from feature_density.torchmetrics import MetricRecorder
    from sae_lens import StandardTrainingSAE, StandardTrainingSAEConfig

    mirror = str(tmp_path / "mirror")
    sae = StandardTrainingSAE(StandardTrainingSAEConfig(d_in=8, d_sae=4))
    for make in (lambda l: fd.DensityRecorder("r", db=db, loggers=l, mirror=mirror, mirror_every=30),
                 lambda l: DensityTracker("r", db=db, loggers=l, mirror=mirror, mirror_every=30),
                 lambda l: saelens.attach(sae, "r", db=db, loggers=l, mirror=mirror, mirror_every=30),
                 lambda l: MetricRecorder(FeatureDensityMetric(4), "r", db=db, loggers=l, mirror=mirror,
                                          mirror_every=30)):
        logger = Logger()
        made = make([logger])
        recorder = getattr(made, "recorder", made)
        assert recorder.command[recorder.command.index("--mirror"):][:4] == ["--mirror", mirror, "--mirror-every", "30"]
        assert logger.calls == [("attach", "r", db)]
        try:
            made.close()
        except fd.DensityError:
            pass                      # a density without --mirror refuses the command line
        assert logger.calls[-1] == ("close",)
    with pytest.raises(ValueError, match="mirror_every needs mirror"):
        fd.DensityRecorder("r", db=db, mirror_every=5)


def test_a_recorder_behind_the_loop_waits_drops_nothing_and_warns_once_with_its_rate(db):
    features = 1 << 21
    density("create", "wide", "--features", str(features), "--db", db)
    counts = torch.zeros(features, dtype=torch.int64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fd.DensityRecorder("wide", db=db) as recorder:
            for step in range(1, 41):                  # no training at all: density cannot keep up
                counts[step % features] += 1
                assert recorder.record(step, counts, step)
            stats = recorder.stats
    assert Store(db).checkpoints("wide")["step"].tolist() == list(range(1, 41))
    assert stats.sent == 40 and stats.waits > 0 and stats.wait_seconds > 0
    assert stats.states_per_second is not None and stats.states_per_second > 0
    slow = [w for w in caught if "states/s of run 'wide'" in str(w.message)]
    assert len(slow) == 1 and "record less often" in str(slow[0].message)
    assert recorder.stats.stored == 40


def test_a_cuda_tensor_is_recorded_without_a_sync_on_the_loop():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here; scripts/gpu-check.sh runs this on a GPU machine")
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        db = os.path.join(folder, "runs.sqlite")
        density("create", "g", "--features", "4096", "--db", db)
        batches = [torch.randn(64, 4096, device="cuda", generator=None) for _ in range(12)]
        with DensityTracker("g", db=db, every=5) as tracker:
            for step, batch in enumerate(batches, start=1):
                tracker.update(batch)
                tracker.step(step)
            assert tracker.counts.device.type == "cuda"
        expected_counts = sum((b > 0).sum(dim=0) for b in batches).cpu().tolist()
        assert Store(db).state("g")["neuron_fired_count"].tolist() == expected_counts
        assert Store(db).checkpoints("g")["step"].tolist() == [5, 10, 12]

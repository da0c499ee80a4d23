"""TensorBoard and W&B receive exactly what the store holds: backfilled, and live through the
recorder's logger contract (attach, stored, close), read back from their own files."""

import glob
import json
import os

import numpy as np
import pytest

import feature_density as fd
from feature_density import Store
from conftest import density

STEPS = (100, 200, 300, 400)


def _record(db, run, shape, steps, start_counts=None, seed=0):
    rng = np.random.default_rng(seed)
    counts = np.zeros(shape, dtype=np.int64) if start_counts is None else start_counts
    vectors = 0 if start_counts is None else Store(db).state(run)["num_activation_vectors"]
    rates = np.logspace(-6.5, -0.1, int(np.prod(shape))).reshape(shape)
    rates.reshape(-1)[:3] = 0                                   # dead pairs
    with fd.DensityRecorder(run, db=db) as recorder:
        for step in steps:
            batch = 200_000
            counts = counts + rng.binomial(batch, rates)
            vectors += batch
            recorder.record(step, counts, vectors)
    return counts


@pytest.fixture
def store(db):
    store = Store(db)
    store.create("flat", features=300)
    store.create("multi", features=100, components=2)
    _record(db, "flat", (300,), STEPS, seed=1)
    _record(db, "multi", (2, 100), STEPS, seed=2)
    return store


def _cli(store, *arguments):
    return json.loads(density(*arguments, "--format", "json", "--db", store.db).stdout)


def _expected(store, run, steps):
    """Per step: `density histogram --step S --bins 50` and `density show --step S`."""
    return {step: (_cli(store, "histogram", run, "--step", str(step), "--bins", "50"),
                   _cli(store, "show", run, "--step", str(step))) for step in steps}


# MARK: - TensorBoard

def _tensorboard_events(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    accumulator = EventAccumulator(logdir, size_guidance={"histograms": 0, "scalars": 0})
    accumulator.Reload()
    return accumulator


def _check_tensorboard(store, run, logdir, steps):
    events = _tensorboard_events(logdir)
    tags = events.Tags()
    assert set(tags["histograms"]) == {"feature_density/histogram"}
    assert set(tags["scalars"]) == {f"feature_density/{n}" for n in
                                    ("vectors", "dead", "dense", "mean_density", "mean_log10_density")}
    histograms = events.Histograms("feature_density/histogram")
    assert [h.step for h in histograms] == list(steps)           # each checkpoint once
    expected = _expected(store, run, steps)
    summaries = store.summaries(run)
    for event in histograms:
        histogram, show = expected[event.step]
        value = event.histogram_value
        assert list(map(int, value.bucket)) == [b["count"] for b in histogram["bins"]]
        assert np.allclose(value.bucket_limit, [b["high"] for b in histogram["bins"]])
        assert value.num == show["features"] * (show["components"] or 1)
    for name in ("vectors", "dead", "dense", "mean_density"):
        scalars = events.Scalars(f"feature_density/{name}")
        assert [s.step for s in scalars] == list(steps)
        for scalar in scalars:
            assert scalar.value == np.float32(expected[scalar.step][1][name])   # TensorBoard keeps float32
    logs = {s.step: s.value for s in events.Scalars("feature_density/mean_log10_density")}
    for row, step in enumerate(summaries["step"]):
        assert logs[int(step)] == np.float32(summaries["mean_log10_density"][row])


@pytest.mark.parametrize("run", ["flat", "multi"])
def test_tensorboard_backfill_reads_back_exact_histograms_and_scalars(store, run, tmp_path):
    from feature_density import tensorboard
    logdir = str(tmp_path / "tb")
    assert tensorboard.write(store.db, run, logdir) == len(STEPS)
    _check_tensorboard(store, run, logdir, STEPS)


def test_tensorboard_backfills_a_sweep_of_stores_one_folder_a_run(tmp_path):
    """tensorboard.write_runs over a glob of stores: a folder per run, a name two stores hold as
    name@store, each folder exactly its own store's run; a run with no checkpoint gets none."""
    from feature_density import tensorboard
    stores = {}
    for node, seed in (("node-0", 3), ("node-1", 4)):
        db = str(tmp_path / f"{node}.sqlite")
        Store(db).create("l1", features=300)
        _record(db, "l1", (300,), STEPS, seed=seed)
        stores[node] = Store(db)
    stores["node-1"].create("waiting", features=300)
    logdir = str(tmp_path / "tb")
    written = tensorboard.write_runs(str(tmp_path / "node-*.sqlite"), logdir)
    assert written == {"l1@node-0.sqlite": len(STEPS), "l1@node-1.sqlite": len(STEPS), "waiting": 0}
    assert sorted(os.listdir(logdir)) == ["l1@node-0.sqlite", "l1@node-1.sqlite"]
    for node, store in stores.items():
        _check_tensorboard(store, "l1", os.path.join(logdir, f"l1@{node}.sqlite"), STEPS)
    # the two folders hold different runs, so the check above tells them apart
    zero, one = (_tensorboard_events(os.path.join(logdir, f"l1@{n}.sqlite")) for n in ("node-0", "node-1"))
    assert ([list(h.histogram_value.bucket) for h in zero.Histograms("feature_density/histogram")]
            != [list(h.histogram_value.bucket) for h in one.Histograms("feature_density/histogram")])
    # runs named
    again = tensorboard.write_runs(stores["node-0"].db, str(tmp_path / "one"), runs=["l1"])
    assert again == {"l1": len(STEPS)} and os.listdir(tmp_path / "one") == ["l1"]


def test_tensorboard_refuses_a_missing_run_and_ambiguous_targets(store, tmp_path):
    from feature_density import tensorboard
    with pytest.raises(fd.DensityError, match="nope"):
        tensorboard.write(store.db, "nope", str(tmp_path / "tb"))
    with pytest.raises(ValueError, match="logdir"):
        tensorboard.write(store.db, "flat")


def _drive(logger, db, run, first, later):
    """The recorder's side of the contract: attach, stored after each frame, close at the end."""
    logger.attach(run, db)
    counts = _record(db, run, (300,), first, seed=5)
    for step in first:
        logger.stored(step)
    counts = _record(db, run, (300,), later, start_counts=counts, seed=6)
    for step in later:
        logger.stored(step)
    logger.close()


def test_tensorboard_logger_logs_each_checkpoint_once_as_they_land(db, tmp_path):
    from feature_density import tensorboard
    store = Store(db)
    store.create("live", features=300)
    logdir = str(tmp_path / "live")
    logger = tensorboard.Logger(logdir, every_seconds=0)       # reads at every stored()
    _drive(logger, db, "live", (10, 20), (30, 40, 50))
    assert logger.logged_step == 50
    _check_tensorboard(store, "live", logdir, (10, 20, 30, 40, 50))
    slow = tensorboard.Logger(str(tmp_path / "slow"), every_seconds=3600)   # one read, then close's catch-up
    store.create("live2", features=300)
    _drive(slow, db, "live2", (10, 20), (30,))
    _check_tensorboard(store, "live2", str(tmp_path / "slow"), (10, 20, 30))


# MARK: - W&B

@pytest.fixture
def offline(tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return wandb


def _wandb_rows(wandb_run, tmp_path):
    import wandb
    from wandb_records import history
    wandb.teardown()                                            # the service writes the file out
    folders = glob.glob(os.path.join(str(tmp_path), "wandb", f"offline-run-*-{wandb_run.id}"))
    assert len(folders) == 1
    return history(folders[0])


def _check_wandb(store, run, rows, steps, saelens):
    expected = _expected(store, run, steps)
    summaries = store.summaries(run)
    ours = [r for r in rows if "feature_density/step" in r]
    assert ours, f"no rows of ours in {[sorted(r) for r in rows]}"
    assert [r["feature_density/step"] for r in ours] == list(steps)            # each checkpoint once
    for row in ours:
        step = row["feature_density/step"]
        histogram, show = expected[step]
        index = list(summaries["step"]).index(step)
        for name in ("vectors", "dead", "dense", "mean_density"):
            assert row[f"feature_density/{name}"] == show[name]                 # JSON keeps float64
        assert row["feature_density/mean_log10_density"] == summaries["mean_log10_density"][index]
        logged = row["feature_density/histogram"]
        assert logged["_type"] == "histogram" and logged["values"] == [b["count"] for b in histogram["bins"]]
        assert np.allclose(logged["bins"], [histogram["bins"][0]["low"]] + [b["high"] for b in histogram["bins"]])
        if saelens:
            counts = np.array(logged["values"])
            assert row["sparsity/dead_features"] == show["dead"]
            assert row["sparsity/below_1e-5"] == counts[:25].sum() and row["sparsity/below_1e-6"] == counts[:20].sum()
            assert row["metrics/mean_log10_feature_sparsity"] == row["feature_density/mean_log10_density"]
            assert row["plots/feature_density_line_chart"]["values"] == logged["values"]
        else:
            assert not any(key.startswith(("sparsity/", "metrics/", "plots/")) for key in row)


@pytest.mark.parametrize("run,saelens", [("flat", True), ("multi", False)])
def test_wandb_backfill_is_in_the_offline_runs_own_file(store, run, saelens, offline, tmp_path):
    from feature_density import wandb as fd_wandb
    wandb_run = offline.init(project="density-test", name=run)
    wandb_run.log({"train/loss": 1.0})                          # the run may be past our steps already
    assert fd_wandb.write(store.db, run, wandb_run, saelens=saelens) == len(STEPS)
    wandb_run.finish()
    _check_wandb(store, run, _wandb_rows(wandb_run, tmp_path), STEPS, saelens)


def test_wandb_backfills_a_sweep_one_wandb_run_a_run_with_its_meta(offline, tmp_path):
    """wandb.write_runs over a glob of stores: one offline W&B run per recorded run, named as
    density runs names it, its meta as the config, each holding exactly its own store's values."""
    from feature_density import wandb as fd_wandb
    from wandb_records import records
    stores = {}
    for node, seed in (("node-0", 3), ("node-1", 4)):
        db = str(tmp_path / f"{node}.sqlite")
        density("create", "l1", "--features", "300", "--meta", json.dumps({"l1": 0.001, "seed": seed}), "--db", db)
        _record(db, "l1", (300,), STEPS, seed=seed)
        stores[node] = Store(db)
    stores["node-1"].create("waiting", features=300)
    active = offline.init(project="density-test", name="mine")   # the user's own run: refused, left alone
    with pytest.raises(RuntimeError, match="a W&B run is active"):
        fd_wandb.write_runs(stores["node-0"].db)
    active.finish()
    written = fd_wandb.write_runs(str(tmp_path / "node-*.sqlite"), project="density-test", group="sweep")
    assert sorted(written) == ["l1@node-0.sqlite", "l1@node-1.sqlite", "waiting"]
    assert written["waiting"] == (None, 0)
    import wandb
    assert wandb.run is None                                    # each W&B run was finished
    wandb.teardown()
    for node, store in stores.items():
        run_id, logged = written[f"l1@{node}.sqlite"]
        assert logged == len(STEPS)
        (folder,) = glob.glob(os.path.join(str(tmp_path), "wandb", f"offline-run-*-{run_id}"))
        from wandb_records import history
        _check_wandb(store, "l1", history(folder), STEPS, saelens=False)
        (path,) = glob.glob(os.path.join(folder, "run-*.wandb"))
        config, names = {}, []
        for record in records(path):
            kind = record.WhichOneof("record_type")
            if kind == "config":
                config.update({item.key: json.loads(item.value_json) for item in record.config.update})
            elif kind == "run":
                names.append(record.run.display_name)
                config.update({item.key: json.loads(item.value_json) for item in record.run.config.update})
        assert names and set(names) == {f"l1@{node}.sqlite"}
        assert config.get("l1") == 0.001 and config.get("seed") == {"node-0": 3, "node-1": 4}[node], config


def test_wandb_logger_logs_each_checkpoint_once_as_they_land(db, offline, tmp_path):
    from feature_density import wandb as fd_wandb
    store = Store(db)
    store.create("live", features=300)
    wandb_run = offline.init(project="density-test", name="live")
    logger = fd_wandb.Logger(every_seconds=0, saelens=True)     # wandb.run, taken at attach
    _drive(logger, db, "live", (10, 20), (30, 40, 50))
    wandb_run.finish()
    _check_wandb(store, "live", _wandb_rows(wandb_run, tmp_path), (10, 20, 30, 40, 50), True)


def test_a_slow_or_failing_destination_never_holds_the_recorders_sender(db):
    import time
    from feature_density._live import SummaryLogger

    class Slow(SummaryLogger):
        def __init__(self):
            super().__init__(every_seconds=0)
            self.rows = []

        def _log(self, summaries, row):
            time.sleep(0.5)
            self.rows.append(int(summaries["step"][row]))

    class Failing(SummaryLogger):
        def _log(self, summaries, row):
            raise OSError("disk full")

    store = Store(db)
    store.create("live", features=300)
    _record(db, "live", (300,), (10, 20))
    slow = Slow()
    slow.attach("live", db)
    started = time.monotonic()
    slow.stored(20)
    slow.stored(20)                                             # a catch-up under way: nothing more
    assert time.monotonic() - started < 0.4
    slow.close()
    assert slow.rows == [10, 20]                                # each once, all by close()
    failing = Failing(every_seconds=0)
    failing.attach("live", db)
    with pytest.warns(RuntimeWarning, match="disk full"):
        failing.stored(20)
        failing._worker.join()
    with pytest.raises(OSError, match="disk full"):             # close() raises; the recorder warns
        failing.close()


def test_a_recorder_drives_the_tensorboard_logger_it_is_given(db, tmp_path):
    """The two halves of the logger contract together: DensityRecorder(loggers=[...]) calls attach,
    stored and close, and TensorBoard holds every stored checkpoint once, equal to the CLI."""
    from feature_density import tensorboard
    store = Store(db)
    store.create("both", features=300)
    logdir = str(tmp_path / "both")
    logger = tensorboard.Logger(logdir, every_seconds=0)
    rng = np.random.default_rng(9)
    rates = np.logspace(-6.5, -0.1, 300)
    counts, vectors = np.zeros(300, dtype=np.int64), 0
    steps = (10, 20, 30, 40)
    with fd.DensityRecorder("both", db=db, every=10, loggers=[logger]) as recorder:
        for step in range(1, 41):
            counts = counts + rng.binomial(10_000, rates)
            vectors += 10_000
            recorder.record(step, counts, vectors)
    assert logger.logged_step == 40
    assert store.checkpoints("both")["step"].tolist() == list(steps)
    _check_tensorboard(store, "both", logdir, steps)

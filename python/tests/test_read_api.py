"""The one-call read API (history, summaries, checkpoints, load_state) against the CLI's own
answers, on runs with and without components."""

import json

import numpy as np
import pytest

import feature_density as fd
import feature_density.state as state_module
from feature_density import Store
from conftest import density

STEPS = (5, 10, 15, 20, 25)


def _record(store, db, run, shape, seed):
    rng = np.random.default_rng(seed)
    counts, vectors, states = np.zeros(shape, dtype=np.int64), 0, {}
    mask = np.ones(shape, dtype=np.int64)
    mask.reshape(-1)[:2] = 0                                    # two pairs never fire
    with fd.DensityRecorder(run, db=db) as recorder:
        for step in STEPS:
            counts, vectors = counts + rng.integers(0, 40, size=shape) * mask, vectors + 40
            recorder.record(step, counts, vectors)
            states[step] = counts.copy()
    return np.stack([states[s] for s in STEPS]), np.array([40 * (i + 1) for i in range(len(STEPS))])


@pytest.fixture
def runs(db):
    store = Store(db)
    store.create("flat", features=7)
    store.create("multi", features=5, components=3)
    flat = _record(store, db, "flat", (7,), 1)
    multi = _record(store, db, "multi", (3, 5), 2)
    return store, {"flat": flat, "multi": multi}


def test_history_equals_the_recorded_states_with_steps_and_vectors(runs):
    store, truth = runs
    counts, vectors = truth["flat"]
    history = store.history("flat", [6, 0, 3, 0])
    assert isinstance(history, np.ndarray) and history.dtype == np.int64 and history.shape == (5, 4)
    assert history.tolist() == counts[:, [6, 0, 3, 0]].tolist()
    assert history.steps.tolist() == list(STEPS) and history.vectors.tolist() == vectors.tolist()
    assert history.features.tolist() == [6, 0, 3, 0]
    assert np.array_equal(history.density(), counts[:, [6, 0, 3, 0]] / vectors[:, None])
    every = store.history("flat", "all")
    assert every.tolist() == counts.tolist()
    for feature in (0, 4):                                      # the CLI's own trend agrees
        trend = json.loads(density("trend", "flat", "--feature", str(feature), "--format", "json", "--db", store.db).stdout)
        assert [p["count"] for p in trend["points"]] == history_column(store, "flat", feature)


def history_column(store, run, feature):
    return store.history(run, [feature])[:, 0].tolist()


def test_history_of_a_run_with_components(runs, tmp_path):
    store, truth = runs
    counts, _ = truth["multi"]
    assert store.history("multi", [1, 4], component=2).tolist() == counts[:, 2, [1, 4]].tolist()
    mixed = store.history("multi", ["0:3", "2:0", "1:1"])
    assert mixed.tolist() == np.stack([counts[:, 0, 3], counts[:, 2, 0], counts[:, 1, 1]], axis=1).tolist()
    assert mixed.components.tolist() == [0, 2, 1] and mixed.features.tolist() == [3, 0, 1]
    kept = store.history("multi", "all", out=str(tmp_path / "all.safetensors"))
    assert isinstance(kept.base, np.memmap) or isinstance(kept, np.memmap) or kept.base is not None
    assert kept.tolist() == counts.reshape(5, 15).tolist()      # row-major (component, feature) pairs
    assert kept.components.tolist() == [c for c in range(3) for _ in range(5)]
    with pytest.raises(fd.DensityError, match="component"):
        store.history("multi", [1], component=3)
    with pytest.raises(fd.DensityError, match="feature"):
        store.history("flat", [7])


def test_summaries_equal_show_and_histogram_at_every_checkpoint(runs):
    store, truth = runs
    for run in ("flat", "multi"):
        counts, vectors = truth[run]
        summaries = store.summaries(run)
        assert summaries["step"].tolist() == list(STEPS) and summaries.vectors.tolist() == vectors.tolist()
        assert summaries.histogram.shape == (5, 50) and summaries.edges[0] == -10 and summaries.edges[-1] == 0
        for row, step in enumerate(STEPS):
            show = json.loads(density("show", run, "--step", str(step), "--format", "json", "--db", store.db).stdout)
            assert (summaries.dead[row], summaries.dense[row], summaries.vectors[row]) == \
                (show["dead"], show["dense"], show["vectors"])
            assert summaries.mean_density[row] == show["mean_density"]
            histogram = json.loads(density("histogram", run, "--step", str(step), "--bins", "50", "--format", "json",
                                           "--db", store.db).stdout)
            assert summaries.histogram[row].tolist() == [b["count"] for b in histogram["bins"]]
            exact = np.log10(counts[row].reshape(-1) / vectors[row] + 1e-10).mean()
            assert abs(summaries.mean_log10_density[row] - exact) <= 0.1 + 1e-12
        checkpoints = store.checkpoints(run)
        assert checkpoints["step"].tolist() == list(STEPS) and checkpoints["vectors"].tolist() == vectors.tolist()


def test_summaries_to_pandas():
    pd = pytest.importorskip("pandas")
    answer = {"run": "x", "features": 2, "components": None, "edges": list(np.linspace(-10, 0, 51)),
              "step": [1, 2], "vectors": [0, 10], "non_finite": [0, 0], "dead": [2, 1], "dense": [0, 1],
              "mean_density": [None, 0.05], "mean_log10_density": [None, -5.95],
              "histogram": [[2] + [0] * 49, [1] + [0] * 48 + [1]]}
    frame = fd.Summaries(answer).to_pandas(histogram=True)
    assert isinstance(frame, pd.DataFrame) and frame.index.tolist() == [1, 2]
    assert frame["dead"].tolist() == [2, 1] and np.isnan(frame["mean_density"].iloc[0])
    assert frame[-10.0].tolist() == [2, 1] and frame[-0.2].tolist() == [0, 1]


def test_load_state_with_discard_later_is_one_process(runs, monkeypatch):
    store, truth = runs
    calls = []
    real = state_module.run_density
    monkeypatch.setattr(state_module, "run_density", lambda arguments, d=None: calls.append(arguments) or real(arguments, d))
    state = fd.load_state("multi", db=store.db, step=17, discard_later=True)
    assert len(calls) == 1 and calls[0][0] == "resume"
    assert state["step"] == 15 and state["num_activation_vectors"] == 120
    assert state["neuron_fired_count"].tolist() == truth["multi"][0][2].tolist()
    assert store.checkpoints("multi")["step"].tolist() == [5, 10, 15]          # later ones discarded
    assert store.checkpoints("flat")["step"].tolist() == list(STEPS)           # the other run untouched
    calls.clear()
    assert fd.load_state("flat", db=store.db)["step"] == 25 and len(calls) == 1


def test_a_sweep_of_stores_reads_as_one_through_a_glob(tmp_path):
    """Store('mirrors/*.sqlite'): the runs of every store, a name two hold told apart as
    name@store, and each question about a run answered from the store holding it."""
    truth = {}
    for node, seed in (("node-0", 3), ("node-1", 4)):
        db = str(tmp_path / f"{node}.sqlite")
        Store(db).create("l1", features=7)
        truth[node] = _record(Store(db), db, "l1", (7,), seed)
    copying = tmp_path / "half-copied.sqlite"
    copying.write_bytes(b"SQLite format 3\0 cut short")
    sweep = Store(str(tmp_path / "*.sqlite"))
    with pytest.warns(UserWarning, match="skipped the store .*half-copied.sqlite"):
        assert sorted(r["name"] for r in sweep.runs()) == ["l1@node-0.sqlite", "l1@node-1.sqlite"]
    copying.unlink()
    for node in ("node-0", "node-1"):
        counts, vectors = truth[node]
        alone = Store(str(tmp_path / f"{node}.sqlite"))
        history = sweep.history(f"l1@{node}.sqlite", [6, 1])
        assert history.tolist() == counts[:, [6, 1]].tolist() and history.vectors.tolist() == vectors.tolist()
        got, want = sweep.summaries(f"l1@{node}.sqlite"), alone.summaries("l1")
        assert all(np.array_equal(got[key], want[key]) for key in ("step", "vectors", "dead", "dense", "histogram"))
    assert not np.array_equal(sweep.history("l1@node-0.sqlite", [6]), sweep.history("l1@node-1.sqlite", [6]))
    with pytest.raises(fd.DensityError, match="in 2 stores"):
        sweep.history("l1", [0])

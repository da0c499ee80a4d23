"""The read API answers through the CLI, and its answers agree with each other and with the data."""

import numpy as np
import pytest

import feature_density as fd
from feature_density import Store


@pytest.fixture
def store(db):
    store = Store(db)
    store.create("r", features=6)
    rng = np.random.default_rng(3)
    counts, vectors, states = np.zeros(6, dtype=np.int64), 0, {}
    with fd.DensityRecorder("r", db=db) as recorder:
        for step in (5, 10, 15, 20, 25):
            fired = rng.integers(0, 10, size=6) * np.array([1, 1, 1, 1, 0, int(step <= 10)])
            counts, vectors = counts + fired, vectors + 10
            recorder.record(step, counts, vectors)
            states[step] = (counts.copy(), vectors)
    store.states = states
    return store


def test_runs_state_window_trend_history_and_dead_agree(store):
    (run,) = store.runs()
    assert run["name"] == "r" and run["checkpoints"] == 5 and run["latest_step"] == 25 and run["vectors"] == 50
    for step, (counts, vectors) in store.states.items():
        state = store.state("r", step)
        assert state["neuron_fired_count"].tolist() == counts.tolist() and state["num_activation_vectors"] == vectors
    window = store.window("r", 10, "latest")
    assert (window["from"], window["to"], window["vectors"]) == (10, 25, 30)
    assert window["counts"].tolist() == (store.states[25][0] - store.states[10][0]).tolist()
    assert window["density"].tolist() == (window["counts"] / 30).tolist()
    history = store.history("r", [0, 5, 4])
    assert history.dtype == np.int64 and history.shape == (5, 3)
    assert history.tolist() == [[store.states[s][0][f] for f in (0, 5, 4)] for s in (5, 10, 15, 20, 25)]
    trend = store.trend("r", 0)
    assert trend["step"].tolist() == [5, 10, 15, 20, 25] and trend["count"].tolist() == history[:, 0].tolist()
    assert np.isnan(trend["window_density"][0])
    dead = store.dead("r", 10, 25)
    assert dead["features"].tolist() == [4, 5] and dead["vectors"] == 30
    steps = sorted(store.states)
    fired_5 = [s for prev, s in zip([None] + steps, steps)
               if store.states[s][0][5] > (store.states[prev][0][5] if prev else 0)]
    assert dead["last_fired_step"].tolist() == [-1, fired_5[-1] if fired_5 else -1]  # 4 never fired

def test_a_wrong_query_raises_with_densitys_message(store):
    with pytest.raises(fd.DensityError, match="feature"):
        store.trend("r", 99)
    with pytest.raises(fd.DensityError, match="no run named"):
        store.window("nope", "start", "latest")


def test_create_with_exist_ok_keeps_the_same_run_and_refuses_another_shape(store, monkeypatch, tmp_path):
    store.create("r", features=6, exist_ok=True)                # the same run: kept, data intact
    assert store.state("r")["num_activation_vectors"] == 50
    with pytest.raises(fd.DensityError, match="'r'"):
        store.create("r", features=7, exist_ok=True)           # another shape under the same name
    monkeypatch.setenv("DENSITY_DB", str(tmp_path / "from-env.sqlite"))
    Store().create("e", features=2, exist_ok=True)              # no store yet: created at $DENSITY_DB
    Store().create("e", features=2, exist_ok=True)
    assert [r["name"] for r in Store(str(tmp_path / "from-env.sqlite")).runs()] == ["e"]

"""The plain-PyTorch tracker: a real training loop recorded every N steps, killed (its model and
metric checkpoints at the last recorded step), resumed, gives the uninterrupted run's store."""

import numpy as np
import torch

from conftest import run_example
from feature_density import Store
from feature_density.tracker import DensityTracker


def test_a_resumed_training_loop_ends_with_the_uninterrupted_runs_state(tmp_path):
    whole, split = str(tmp_path / "whole.sqlite"), str(tmp_path / "split.sqlite")
    run_example("pytorch_example.py", "--db", whole, "--checkpoint", str(tmp_path / "whole.pt"), "--steps", "45")
    run_example("pytorch_example.py", "--db", split, "--checkpoint", str(tmp_path / "split.pt"), "--steps", "23")
    resumed = run_example("pytorch_example.py", "--db", split, "--checkpoint", str(tmp_path / "split.pt"),
                          "--steps", "45", "--resume")
    assert "trained to step 45" in resumed.stdout
    a, b = Store(whole), Store(split)
    assert a.checkpoints("pytorch-example")["step"].tolist() == [10, 20, 30, 40, 45]
    assert b.checkpoints("pytorch-example")["step"].tolist() == [10, 20, 23, 30, 40, 45]
    final = a.state("pytorch-example")
    assert final["num_activation_vectors"] == 45 * 64
    assert final["neuron_fired_count"].tolist() == b.state("pytorch-example")["neuron_fired_count"].tolist()
    assert 0 < int(final["neuron_fired_count"].max()) <= 45 * 64


def test_counts_are_exactly_those_of_the_activations(db):
    Store(db).create("t", features=5, components=2)
    batches = [torch.randn(8, 2, 5, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    with DensityTracker("t", db=db, every=4) as tracker:
        for step, batch in enumerate(batches, start=1):
            tracker.update(batch)
            tracker.step(step)
        assert tracker.counts.dtype == torch.int64 and tracker.counts.device == batch.device
    expected = sum((b > 0).sum(dim=0) for b in batches).numpy()
    state = Store(db).state("t")
    assert state["step"] == 6 and state["num_activation_vectors"] == 48
    assert state["neuron_fired_count"].shape == (2, 5)
    assert np.array_equal(state["neuron_fired_count"], expected)

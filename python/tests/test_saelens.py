"""A real SAELens training run (SyntheticSAERunner, CPU, no download) recorded with attach():
the store's window over SAELens' last feature_sampling_window gives SAELens' sparsity.safetensors
(the correctly rounded float32 log10 of torch's float32 density: within one ulp of what SAELens'
torch wrote, identical on at least 99.5% of features), and its dead features are SAELens'."""

import numpy as np
import torch
from safetensors.numpy import load_file

from conftest import run_example
from feature_density import Store

STEPS, WINDOW, BATCH = 200, 100, 256


def test_attach_records_what_saelens_measures(tmp_path):
    db, out = str(tmp_path / "runs.sqlite"), str(tmp_path / "saelens-output")
    run_example("saelens_example.py", "--db", db, "--run", "sae", "--out", out, "--steps", str(STEPS),
                "--window", str(WINDOW), "--every", "10", timeout=600)
    store = Store(db)
    saelens = load_file(f"{out}/sparsity.safetensors")["sparsity"]
    assert saelens.dtype == np.float32 and saelens.shape == (512,)

    # Every training step is one checkpoint step: 20 checkpoints, the last at SAELens' last step.
    steps = store.checkpoints("sae")
    assert steps["step"].tolist() == list(range(10, STEPS + 1, 10))
    assert steps["vectors"].tolist() == [BATCH * s for s in range(10, STEPS + 1, 10)]

    window = store.window("sae", STEPS - WINDOW, STEPS)
    assert window["vectors"] == WINDOW * BATCH
    ours = store.saelens_sparsity("sae", STEPS - WINDOW, STEPS)
    ulps = np.abs(ours.view(np.int32).astype(np.int64) - saelens.view(np.int32).astype(np.int64))
    assert ulps.max() <= 1, f"{np.count_nonzero(ulps > 1)} features differ by more than one ulp"
    assert np.count_nonzero(ulps == 0) >= 0.995 * saelens.size

    # The export is the correctly rounded log10 of torch's own float32 density.
    density = torch.from_numpy(window["counts"]).float() / window["vectors"] + 1e-10
    reference = np.log10(density.numpy().astype(np.longdouble)).astype(np.float32)
    assert ours.view(np.int32).tolist() == reference.view(np.int32).tolist()

    dead = store.dead("sae", STEPS - WINDOW, STEPS)["features"]
    zero_frequency = torch.log10(torch.zeros(1) + 1e-10).numpy()[0]      # what SAELens writes for 0 firings
    saelens_dead = np.flatnonzero(saelens == zero_frequency)
    assert len(dead) > 0, "the run should have dead features for this check to mean something"
    assert dead.tolist() == saelens_dead.tolist()
    assert np.all(window["counts"][dead] == 0) and np.all(window["counts"][np.setdiff1d(np.arange(512), dead)] > 0)


def test_only_training_passes_count_and_attach_resumes_from_the_store(tmp_path):
    from sae_lens import StandardTrainingSAE, StandardTrainingSAEConfig

    from feature_density import saelens
    db = str(tmp_path / "runs.sqlite")
    Store(db).create("toy", features=24)
    torch.manual_seed(0)
    sae = StandardTrainingSAE(StandardTrainingSAEConfig(d_in=8, d_sae=24))
    batches = [torch.randn(16, 8, generator=torch.Generator().manual_seed(i)) for i in range(9)]
    expected = torch.zeros(24, dtype=torch.int64)

    def train(batches):
        for batch in batches:
            sae.train()
            acts = sae.encode(batch)                     # a training forward pass: counted
            expected.add_((acts > 0).sum(dim=0))
            sae.eval()
            sae.encode(batch)                            # evaluation: not counted
            sae.train()
            with torch.no_grad():
                sae.encode(batch)                        # no gradients: not a training step

    with saelens.attach(sae, "toy", db=db, every=4):
        train(batches[:5])
    assert Store(db).checkpoints("toy")["step"].tolist() == [4, 5]
    handle = saelens.attach(sae, "toy", db=db, every=4, resume=True)
    assert handle.step == 5 and handle.vectors == 80
    train(batches[5:])
    handle.close()
    state = Store(db).state("toy")
    assert state["step"] == 9 and state["num_activation_vectors"] == 9 * 16
    assert state["neuron_fired_count"].tolist() == expected.tolist()

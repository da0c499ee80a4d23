"""The reference metric: sparse_autoencoder's ``FeatureDensityMetric``, a torchmetrics ``Metric``
(float32 counts, an int64 scalar vector count, both summed across processes), and the synthetic
activations the examples train on."""

import torch
from torchmetrics import Metric


class FeatureDensityMetric(Metric):
    """Per-feature fraction of activation vectors on which the feature fired (``> fire_threshold``,
    0 as in the reference; a run created with ``--fire-threshold T`` is recorded from a metric with
    ``fire_threshold=T``)."""

    full_state_update = False

    def __init__(self, num_learned_features: int, num_components: int | None = None, fire_threshold: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.fire_threshold = fire_threshold
        shape = (num_learned_features,) if num_components is None else (num_components, num_learned_features)
        self.add_state("neuron_fired_count", default=torch.zeros(shape, dtype=torch.float32), dist_reduce_fx="sum")
        self.add_state("num_activation_vectors", default=torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, learned_activations: torch.Tensor, **kwargs) -> None:
        self.num_activation_vectors += learned_activations.shape[0]
        self.neuron_fired_count += torch.gt(learned_activations, self.fire_threshold).sum(dim=0, dtype=torch.int64).float()

    def compute(self) -> torch.Tensor:
        return self.neuron_fired_count / self.num_activation_vectors


def synthetic_activations(step: int, rank: int, features: int) -> torch.Tensor:
    """One rank's SAE activations at a step, [32, features], a function of (step, rank) alone; the
    later features fire less, and the last ones almost never."""
    generator = torch.Generator().manual_seed(1_000 * step + rank)
    return torch.randn(32, features, generator=generator) - torch.linspace(0, 3.5, features)

"""FeatureDensity from Python: record a sparse autoencoder's exact feature-density state while it
trains, resume from it, and read the store back as numpy arrays.

numpy is the only dependency; torch, torchmetrics and SAELens are used when present. The work is
done by the ``density`` tool the wheel ships (see :func:`find_density`).

Record and resume::

    from feature_density import DensityRecorder, NoCheckpointError, load_state
    try:
        state = load_state("l1-1e-3", db="runs.sqlite")        # the latest checkpoint
        start = state["step"] + 1
    except NoCheckpointError:                                  # nothing recorded yet
        start = 0
    with DensityRecorder("l1-1e-3", db="runs.sqlite", every=100) as recorder:
        for step in range(start, total):
            ...                                                # train; metric.update(activations)
            recorder.record(step, metric.neuron_fired_count, metric.num_activation_vectors)

``record`` copies the state and returns; a thread beside the loop writes it to ``density record``
(see :class:`DensityRecorder`).

Integrations: :mod:`feature_density.torchmetrics`, :mod:`feature_density.saelens`,
:class:`feature_density.tracker.DensityTracker` (plain PyTorch). Reading: :class:`Store`
(``Store(db).run(name)`` displays in notebooks). Destinations: :mod:`feature_density.tensorboard`,
:mod:`feature_density.wandb`.
"""

from ._binary import find_density
from ._display import Run
from ._read import History, Summaries
from ._state_io import encode_state, frame, read_safetensors, safetensors_bytes, save_state
from .errors import NO_CHECKPOINT_EXIT_CODE, DensityError, DensityNotFoundError, NoCheckpointError
from .recorder import DensityRecorder, RecorderStats
from .state import load_state
from .store import Store

__version__ = "0.1.0"

__all__ = ["DensityRecorder", "RecorderStats", "load_state", "History", "Summaries", "Run", "save_state", "encode_state", "frame", "read_safetensors",
           "safetensors_bytes", "Store", "find_density", "DensityError", "NoCheckpointError",
           "DensityNotFoundError", "NO_CHECKPOINT_EXIT_CODE"]

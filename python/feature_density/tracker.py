"""Feature density from a plain PyTorch training loop, counted where the activations live."""

from __future__ import annotations

from .errors import NoCheckpointError
from .recorder import DensityRecorder
from .state import load_state

__all__ = ["DensityTracker"]


class DensityTracker:
    """Counts firings (``> 0``) on the activations' own device and sends the state every N steps.

    ::

        from feature_density.tracker import DensityTracker
        with DensityTracker("l1-1e-3", db="runs.sqlite", every=100, resume=True) as tracker:
            for step in range(tracker.start, total):
                acts = sae.encode(batch)                # [batch, features] or [batch, components, features]
                tracker.update(acts)
                ...                                     # loss, backward, optimizer step
                tracker.step(step)                      # sends every 100th step; the last one on exit

    The counts are an int64 tensor on the device of the first activations seen (the GPU in real
    use): nothing leaves it but the state every ``every`` steps.

    Args:
        run, db, every, density: As :class:`DensityRecorder`.
        resume: Start from the run's latest checkpoint (counts, vectors and ``start``); later
            checkpoints are discarded (``load_state(..., discard_later=True)``).
    """

    def __init__(self, run: str, db: str | None = None, every: int = 1, density: str | None = None,
                 resume: bool = False):
        self.counts = None
        self.vectors = 0
        #: The first step to train: 0, or the resumed checkpoint's step + 1.
        self.start = 0
        if resume:
            try:
                state = load_state(run, db=db, density=density, discard_later=True)
                import torch

                self.counts = torch.from_numpy(state["neuron_fired_count"])
                self.vectors = state["num_activation_vectors"]
                self.start = state["step"] + 1
            except NoCheckpointError:
                pass
        self.recorder = DensityRecorder(run, db=db, every=every, density=density)

    def update(self, activations) -> None:
        """Adds a batch: ``activations`` is ``[batch, features]`` or ``[batch, components, features]``."""
        import torch

        with torch.no_grad():
            acts = activations.detach()
            if acts.dim() not in (2, 3):
                raise ValueError(f"activations must be [batch, features] or [batch, components, features], "
                                 f"got shape {list(acts.shape)}")
            fired = (acts > 0).sum(dim=0)
            if self.counts is None:
                self.counts = torch.zeros_like(fired, dtype=torch.int64)
            elif self.counts.device != fired.device:
                self.counts = self.counts.to(fired.device)
            if self.counts.shape != fired.shape:
                raise ValueError(f"activations of shape {list(acts.shape)} do not match the counts' "
                                 f"{list(self.counts.shape)}")
            self.counts += fired
        self.vectors += acts.shape[0]

    def step(self, step: int, force: bool = False) -> bool:
        """Sends the state at ``step`` when ``step % every == 0`` (or ``force``); returns whether it did."""
        if self.counts is None:
            return False
        return self.recorder.record(step, self.counts, self.vectors, force=force)

    def close(self) -> int:
        """Sends the last skipped step and waits for ``density`` (see :meth:`DensityRecorder.close`)."""
        return self.recorder.close()

    def __enter__(self) -> "DensityTracker":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.recorder.__exit__(exc_type, exc, traceback)

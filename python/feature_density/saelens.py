"""Recording an SAELens training run: one line, a hook on the SAE's ``hook_sae_acts_post``.

::

    from feature_density import saelens
    handle = saelens.attach(sae, "l1-1e-3", db="runs.sqlite", every=100)
    SAETrainer(cfg, sae, data).fit()            # or SyntheticSAERunner(cfg).run(), ...
    handle.close()                              # sends the last step; raises if density failed

What counts: a feature fired on an activation vector when its ``hook_sae_acts_post`` value is
``> 0`` (the reference metric's rule; SAELens' own statistics count ``!= 0``, the same for the
non-negative activations its SAEs produce). Only forward passes made while ``sae.training`` and
with gradients enabled count (SAELens evaluates in ``eval()`` mode under ``no_grad``), and each such
forward pass is one training step: SAELens' trainer makes exactly one per step (``SAETrainer.
_train_step``), so after step k (1-based) the recorded step is k, matching the trainer's
``n_training_steps`` once the step completes. The counts stay on the SAE's device as an int64
tensor; only every ``every``-th state is copied to the CPU and sent.

Resume: ``attach(..., resume=True)`` continues the run's latest stored checkpoint (its counts and
its step), which matches a trainer restored from an SAELens checkpoint saved at that step.
"""

from __future__ import annotations

from .errors import NoCheckpointError
from .recorder import DensityRecorder
from .state import load_state

__all__ = ["attach", "SAELensHandle"]


class SAELensHandle:
    """What :func:`attach` returns: the live counts and the recorder; ``close()`` stops it."""

    def __init__(self, sae, recorder: DensityRecorder, step: int, counts, vectors: int):
        self.sae = sae
        self.recorder = recorder
        #: Training steps seen so far (the step of the latest state).
        self.step = step
        #: Per-feature firing counts since the run started, an int64 tensor on the SAE's device.
        self.counts = counts
        #: Activation vectors seen since the run started.
        self.vectors = vectors
        self._hook = sae.hook_sae_acts_post.register_forward_hook(self._on_forward)

    def _on_forward(self, module, inputs, output) -> None:
        import torch

        if not (self.sae.training and torch.is_grad_enabled()):
            return
        with torch.no_grad():
            acts = output.to_dense() if getattr(output, "is_sparse", False) else output
            acts = acts.detach().reshape(-1, acts.shape[-1])
            if self.counts is None:
                self.counts = torch.zeros(acts.shape[-1], dtype=torch.int64, device=acts.device)
            self.counts += (acts > 0).sum(dim=0)
        self.vectors += acts.shape[0]
        self.step += 1
        self.recorder.record(self.step, self.counts, self.vectors)

    def close(self) -> int:
        """Removes the hook, sends the last step (if ``every`` skipped it) and waits for ``density``.

        Raises:
            DensityError: density failed (a wrong run name, a refused state), with its message.
        """
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        return self.recorder.close()

    def __enter__(self) -> "SAELensHandle":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        self.recorder.__exit__(exc_type, exc, traceback)


def attach(sae, run: str, db: str | None = None, every: int = 1, density: str | None = None,
           resume: bool = False) -> SAELensHandle:
    """Records the feature density of ``sae`` as it trains, into run ``run`` of the store ``db``.

    Args:
        sae: An SAELens SAE (any module with a ``hook_sae_acts_post`` hook point).
        run: The run (``density create RUN --features d_sae`` first).
        db: The store (default: ``$DENSITY_DB``, else ``./density.sqlite``).
        every: Record every ``every``-th training step; the last step is sent by ``close()``.
        density: The ``density`` binary (default: the one this package ships).
        resume: Continue from the run's latest checkpoint (its counts and step) instead of zero.

    Returns:
        The handle; ``close()`` it (or use it as a context manager) when training ends.
    """
    if not hasattr(sae, "hook_sae_acts_post"):
        raise ValueError("the SAE has no hook_sae_acts_post hook point; pass an SAELens SAE")
    step, counts, vectors = 0, None, 0
    if resume:
        try:
            state = load_state(run, db=db, density=density, discard_later=True)
        except NoCheckpointError:
            state = None
        if state is not None:
            import torch

            device = next(sae.parameters()).device
            counts = torch.from_numpy(state["neuron_fired_count"]).to(device)
            step, vectors = state["step"], state["num_activation_vectors"]
    recorder = DensityRecorder(run, db=db, every=every, density=density)
    return SAELensHandle(sae, recorder, step, counts, vectors)

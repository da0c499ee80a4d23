"""Recording an SAELens training run: one line, a hook on the SAE's ``hook_sae_acts_post``.

::

    from feature_density import saelens
    handle = saelens.attach(sae, "l1-1e-3", db="runs.sqlite", every=100)
    SAETrainer(cfg, sae, data).fit()            # or SyntheticSAERunner(cfg).run(), ...
    handle.close()                              # sends the last step; raises if density failed

What counts: a feature fired on an activation vector when its ``hook_sae_acts_post`` value is
``>`` the run's fire threshold (``density create --fire-threshold``, 0 by default: the reference
metric's rule; SAELens' own statistics count ``!= 0``, the same for the non-negative activations
its SAEs produce). Only forward passes made while ``sae.training`` and with gradients enabled count
(SAELens evaluates in ``eval()`` mode under ``no_grad``), and each such forward pass is one
training step: SAELens' trainer makes exactly one per step (``SAETrainer._train_step``), so after
step k (1-based) the recorded step is k, matching the trainer's ``n_training_steps`` once the step
completes. The counts stay on the SAE's device as an int64 tensor; only every ``every``-th state is
copied to the host, without blocking training (see :class:`~feature_density.DensityRecorder`).

Resume: ``attach(..., resume=True)`` continues the run's latest stored checkpoint (its counts and
its step), which matches a trainer restored from an SAELens checkpoint saved at that step.
"""

from __future__ import annotations

from ._resume import CountsView, FiringCounter

__all__ = ["attach", "SAELensHandle"]


class SAELensHandle(CountsView):
    """What :func:`attach` returns: the live counts and the recorder; ``close()`` stops it."""

    def __init__(self, sae, counter: FiringCounter):
        self.sae = sae
        self._counter = counter
        self.recorder = counter.recorder
        self._hook = sae.hook_sae_acts_post.register_forward_hook(self._on_forward)

    @property
    def step(self) -> int:
        """Training steps seen so far (the step of the latest state)."""
        return self._counter.step

    def _on_forward(self, module, inputs, output) -> None:
        import torch

        if not (self.sae.training and torch.is_grad_enabled()):
            return
        acts = output.to_dense() if getattr(output, "is_sparse", False) else output
        self._counter.count(acts.detach().reshape(-1, acts.shape[-1]))
        self._counter.mark(self._counter.step + 1)

    def _remove_hook(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def close(self) -> int:
        """Removes the hook, sends the last step (if ``every`` skipped it) and waits for ``density``.
        Warns when the SAE made no training forward pass while attached.

        Raises:
            DensityError: density failed (a wrong run name, a refused state), with its message.
        """
        self._remove_hook()
        return self._counter.close(
            f"run '{self.recorder.run}': the SAE made no training forward pass while attached (only passes in "
            f"sae.train() mode with gradients enabled count), so nothing was recorded")

    def __enter__(self) -> "SAELensHandle":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self._remove_hook()
        if exc_type is None:
            self.close()
            return
        self._counter.exit(exc_type, exc, traceback)


def attach(sae, run: str, db: str | None = None, every: int = 1, density: str | None = None,
           resume: bool = False, loggers=(), mirror: str | None = None,
           mirror_every: float | None = None) -> SAELensHandle:
    """Records the feature density of ``sae`` as it trains, into run ``run`` of the store ``db``.

    Args:
        sae: An SAELens SAE (any module with a ``hook_sae_acts_post`` hook point).
        run: The run (``density create RUN --features d_sae`` first).
        db: The store (default: ``$DENSITY_DB``, else ``./density.sqlite``).
        every: Record every ``every``-th training step; the last step is sent by ``close()``.
        density: The ``density`` binary (default: the one this package ships).
        resume: Continue from the run's latest checkpoint (its counts and step) instead of zero.
        loggers, mirror, mirror_every: As :class:`~feature_density.DensityRecorder`.

    Returns:
        The handle; ``close()`` it (or use it as a context manager) when training ends.

    Raises:
        ValueError: an SAE without the hook point, or whose width (``cfg.d_sae``) is not the run's.
        DensityError: an unknown store or run.
    """
    if not hasattr(sae, "hook_sae_acts_post"):
        raise ValueError("the SAE has no hook_sae_acts_post hook point; pass an SAELens SAE")
    width = getattr(getattr(sae, "cfg", None), "d_sae", None)
    counter = FiringCounter(run, db=db, every=every, density=density, resume=resume, loggers=loggers,
                            mirror=mirror, mirror_every=mirror_every, what="hook_sae_acts_post activations",
                            width=width)
    if counter.counts is not None:
        counter.counts = counter.counts.to(next(sae.parameters()).device)
    return SAELensHandle(sae, counter)

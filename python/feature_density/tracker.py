"""Feature density from a plain PyTorch training loop, counted where the activations live."""

from __future__ import annotations

from ._resume import CountsView, FiringCounter

__all__ = ["DensityTracker"]


class DensityTracker(CountsView):
    """Counts firings (``> the run's fire threshold``) on the activations' own device and sends the
    state every N steps.

    ::

        from feature_density.tracker import DensityTracker
        with DensityTracker("l1-1e-3", db="runs.sqlite", every=100, resume=True) as tracker:
            for step in range(tracker.start, total):
                acts = sae.encode(batch)                # [batch, features] or [batch, components, features]
                tracker.update(acts)
                ...                                     # loss, backward, optimizer step
                tracker.step(step)                      # sends every 100th step; the last one on exit

    The counts are an int64 tensor on the device of the first activations seen (the GPU in real
    use): only the state of every ``every``-th step is copied to the host, without blocking the
    loop (see :class:`~feature_density.DensityRecorder`).

    Args:
        run, db, every, density, loggers, mirror, mirror_every: As :class:`DensityRecorder`.
        resume: Start from the run's latest checkpoint (counts, vectors and ``start``); later
            checkpoints are discarded (``load_state(..., discard_later=True)``).

    Raises:
        DensityError: an unknown store or run, at once.
    """

    def __init__(self, run: str, db: str | None = None, every: int = 1, density: str | None = None,
                 resume: bool = False, loggers=(), mirror: str | None = None, mirror_every: float | None = None):
        self._counter = FiringCounter(run, db=db, every=every, density=density, resume=resume, loggers=loggers,
                                      mirror=mirror, mirror_every=mirror_every)
        self.recorder = self._counter.recorder
        #: The first step to train: 0, or the resumed checkpoint's step + 1.
        self.start = self._counter.step + 1 if resume and self._counter.counts is not None else 0

    def update(self, activations) -> None:
        """Adds a batch: ``activations`` is ``[batch, features]`` or ``[batch, components, features]``
        (the run's shape).

        Raises:
            ValueError: activations of another shape (such as ``[batch, seq, features]``), saying
                what to pass.
        """
        self._counter.count(activations)

    def step(self, step: int, force: bool = False) -> bool:
        """Sends the state at ``step`` when ``step % every == 0`` (or ``force``); returns whether it did."""
        return self._counter.mark(step, force)

    def flush(self) -> None:
        """Waits until every state sent so far is stored (see :meth:`DensityRecorder.flush`)."""
        self.recorder.flush()

    def close(self) -> int:
        """Sends the last skipped step and waits for ``density`` (see :meth:`DensityRecorder.close`);
        warns when no activations were ever added."""
        return self._counter.close(f"DensityTracker of run '{self.recorder.run}' closed without any update(): "
                                   f"nothing was counted or recorded")

    def __enter__(self) -> "DensityTracker":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
            return
        self._counter.exit(exc_type, exc, traceback)

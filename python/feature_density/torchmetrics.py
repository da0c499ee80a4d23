"""Recording and restoring a torchmetrics ``Metric`` whose states are ``neuron_fired_count`` and
``num_activation_vectors`` (the reference ``FeatureDensityMetric``).

Record (every ``every`` steps; the last step is sent when the block ends)::

    from feature_density.torchmetrics import MetricRecorder, restore
    start = restore(metric, "l1-1e-3", db="runs.sqlite")       # 0 when nothing is recorded yet
    with MetricRecorder(metric, "l1-1e-3", db="runs.sqlite", every=100) as recorder:
        for step in range(start, total):
            ...                                                # metric.update(activations)
            recorder.record(step)

Under ``torch.distributed`` (every rank runs the same lines):

- ``ranks="each"`` (the default there): each rank records its own partial state with
  ``--rank/--world-size``; a step becomes a checkpoint, the sum, once every rank wrote it. No
  collective is added to training.
- ``ranks="zero"``: the state is synced (torchmetrics' ``sync_context``, a collective every rank
  joins at each recorded step) and rank 0 alone records it.

``restore`` loads the exact stored state: into rank 0 under ``torch.distributed`` (the other ranks
get zeros, so the sum is the stored state), with a warning where float32 cannot hold the counts.
"""

from __future__ import annotations

import warnings

from ._resume import latest_state
from .recorder import DensityRecorder

__all__ = ["MetricRecorder", "restore", "FLOAT32_EXACT_LIMIT"]

#: Counts above this are not exact in float32 (the reference metric's dtype for its counts).
FLOAT32_EXACT_LIMIT = 2 ** 24


def _distributed():
    """(rank, world size) when torch.distributed is initialized, else None."""
    try:
        import torch.distributed as dist
    except ImportError:
        return None
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return None


class MetricRecorder:
    """Sends ``metric``'s state to ``density record`` every ``every`` steps.

    Args:
        metric: A torchmetrics ``Metric`` with states ``neuron_fired_count`` and
            ``num_activation_vectors``.
        run, db, every, density, loggers, mirror, mirror_every: As :class:`DensityRecorder`.
        ranks: Under torch.distributed, ``"each"`` (every rank records its partial state) or
            ``"zero"`` (rank 0 records the synced state); ignored otherwise.

    Raises:
        ValueError: a metric whose counts are not of the run's shape, or that counts with another
            fire threshold than the run's (the metric's ``fire_threshold`` attribute, 0 when it has
            none, as the reference metric's ``torch.gt(acts, 0)``).
        DensityError: an unknown store or run.
    """

    def __init__(self, metric, run: str, db: str | None = None, every: int = 1, ranks: str = "each",
                 density: str | None = None, loggers=(), mirror: str | None = None,
                 mirror_every: float | None = None):
        if ranks not in ("each", "zero"):
            raise ValueError(f"ranks must be 'each' or 'zero', got {ranks!r}")
        for name in ("neuron_fired_count", "num_activation_vectors"):
            if not hasattr(metric, name):
                raise ValueError(f"the metric has no state {name!r}; it must keep neuron_fired_count and "
                                 f"num_activation_vectors, as FeatureDensityMetric does")
        self.metric = metric
        self.every = every
        distributed = _distributed()
        self.synced = distributed is not None and ranks == "zero"
        self.rank = distributed[0] if distributed else 0
        self._pending_step = None
        options = dict(db=db, every=every, density=density, loggers=loggers, mirror=mirror, mirror_every=mirror_every)
        if distributed is None:
            self.recorder = DensityRecorder(run, **options)
        elif ranks == "each":
            self.recorder = DensityRecorder(run, rank=distributed[0], world_size=distributed[1], **options)
        else:
            self.recorder = DensityRecorder(run, **options) if self.rank == 0 else None
        if self.recorder is not None:
            self._check(metric, self.recorder)

    @staticmethod
    def _check(metric, recorder: DensityRecorder) -> None:
        """The metric's counts have the run's shape and count with the run's fire threshold."""
        shape = tuple(metric.neuron_fired_count.shape)
        threshold = float(getattr(metric, "fire_threshold", 0.0))
        run_threshold = recorder.run_info.get("fire_threshold", 0.0)
        problem = None
        if shape != recorder.shape:
            problem = (f"the metric's neuron_fired_count has shape {list(shape)}, run '{recorder.run}' has "
                       f"{list(recorder.shape)}: is it the right run?")
        elif threshold != run_threshold:
            problem = (f"run '{recorder.run}' counts activations > {run_threshold} (its fire threshold), the metric "
                       f"counts > {threshold}: record it into a run created with --fire-threshold {threshold}, or "
                       f"give the metric a fire_threshold of {run_threshold}")
        if problem:
            recorder.close()
            raise ValueError(problem)

    def record(self, step: int, force: bool = False) -> bool:
        """Sends the metric's state at ``step`` when ``step % every == 0`` (or ``force``).

        With ``ranks="zero"``, every rank must call it (the sync is a collective).

        Returns:
            Whether this process handed a state to ``density``.
        """
        metric = self.metric
        if not self.synced:
            return self.recorder.record(step, metric.neuron_fired_count, metric.num_activation_vectors, force=force)
        if step % self.every and not force:
            self._pending_step = step
            return False
        self._pending_step = None
        with metric.sync_context(should_sync=True, should_unsync=True):
            if self.recorder is None:
                return False
            return self.recorder.record(step, metric.neuron_fired_count, metric.num_activation_vectors, force=True)

    def close(self) -> int:
        """Sends the last skipped step and waits for ``density`` (see :meth:`DensityRecorder.close`)."""
        if self.synced and self._pending_step is not None:
            self.record(self._pending_step, force=True)
        return self.recorder.close() if self.recorder is not None else 0

    def __enter__(self) -> "MetricRecorder":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self.synced and exc_type is not None:
            self._pending_step = None  # another rank may be gone: no collective on the way out
        if self.recorder is not None:
            self.recorder.__exit__(exc_type, exc, traceback)


def restore(metric, run: str, db: str | None = None, step="latest", density: str | None = None,
            discard_later: bool = True) -> int:
    """Loads the run's stored state at ``step`` into ``metric`` (latest by default).

    Every rank calls it under torch.distributed: rank 0 loads the state (and, with
    ``discard_later``, deletes the later checkpoints and the partial states of steps a dead rank
    never completed, so those steps can be recorded again), then the ranks meet at a barrier.

    Returns:
        The first step to train: the checkpoint's step + 1, or 0 when the run has no checkpoint yet
        (the metric is then reset).

    Raises:
        DensityError: any failure other than "no checkpoint yet" (a wrong store path, an unknown
            run, ...): training does not silently start again from step 0.
    """
    import torch

    distributed = _distributed()
    lead = distributed is None or distributed[0] == 0
    state = None
    try:
        if lead:
            state = latest_state(run, db=db, density=density, step=step, discard_later=discard_later)
    finally:
        if distributed is not None:
            import torch.distributed as dist
            dist.barrier()
    if not lead:
        state = latest_state(run, db=db, density=density, step=step, discard_later=False)
    if state is None:
        metric.reset()
        return 0
    counts = torch.from_numpy(state["neuron_fired_count"])
    target = metric.neuron_fired_count
    if tuple(target.shape) != tuple(counts.shape):
        raise ValueError(f"run '{run}' stores counts of shape {list(counts.shape)}, the metric's are "
                         f"{list(target.shape)}: is it the right run?")
    largest = int(counts.max()) if counts.numel() else 0
    if target.dtype.is_floating_point and target.dtype != torch.float64 and largest > FLOAT32_EXACT_LIMIT:
        warnings.warn(f"run '{run}' at step {state['step']} has counts up to {largest}, above 2^24 = "
                      f"16,777,216: the metric's {target.dtype} state cannot hold them exactly and rounds them "
                      f"(the store keeps them exact)", RuntimeWarning, stacklevel=2)
    with torch.no_grad():
        if lead:
            target.copy_(counts.to(device=target.device, dtype=target.dtype))
            metric.num_activation_vectors.fill_(state["num_activation_vectors"])
        else:
            target.zero_()
            metric.num_activation_vectors.fill_(0)
    return state["step"] + 1

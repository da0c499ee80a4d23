"""The one resume path and the one firing counter under every integration (``saelens.attach``,
``DensityTracker``, ``torchmetrics.MetricRecorder``/``restore``)."""

from __future__ import annotations

import warnings

from .errors import NoCheckpointError
from .recorder import DensityRecorder, run_info
from .state import load_state

__all__ = ["latest_state", "fire_threshold_for", "FiringCounter", "CountsView"]


def latest_state(run: str, db: str | None = None, density: str | None = None, step="latest",
                 discard_later: bool = True) -> dict | None:
    """The run's stored state at ``step`` (the latest by default) to resume from, with the later
    checkpoints discarded; None when the run has no checkpoint yet.

    Raises:
        DensityError: anything but "no checkpoint yet" (a wrong store, an unknown run): training
            must not silently start again from step 0.
    """
    try:
        return load_state(run, db=db, step=step, density=density, discard_later=discard_later)
    except NoCheckpointError:
        return None


def _shape(info: dict) -> tuple:
    return (info["features"],) if info["components"] is None else (info["components"], info["features"])


def fire_threshold_for(dtype, threshold: float) -> float:
    """The threshold to compare activations of ``dtype`` with, so that ``acts > t`` in torch fires
    exactly where ``density ingest`` fires: float32 and narrower activations are compared with the
    threshold rounded to float32 (torch rounds a Python number to the tensor's dtype, as density
    does to float32); bfloat16/float16 with the largest value of their dtype not above it, so the
    comparison in their own dtype is the exact one."""
    import torch

    if dtype == torch.float64 or not dtype.is_floating_point:
        return float(threshold)
    exact = torch.tensor(threshold, dtype=torch.float64).to(torch.float32)
    if dtype == torch.float32:
        return float(exact)
    narrow = exact.to(dtype)
    if float(narrow) > float(exact):
        narrow = torch.nextafter(narrow, torch.tensor(float("-inf"), dtype=dtype))
    return float(narrow)


class FiringCounter:
    """Counts firings (``> the run's fire threshold``) of activations on their own device as an
    int64 tensor, and records the state at due steps with one :class:`DensityRecorder`.

    The recorder is started (and the run's shape and threshold read) before anything is counted;
    with ``resume`` the run's latest checkpoint is the starting point. Only due steps are copied
    to the host; the last step, when ``every`` skipped it, is sent by ``close()``.
    """

    def __init__(self, run: str, db=None, every: int = 1, density=None, resume: bool = False, loggers=(),
                 mirror=None, mirror_every=None, what: str = "activations", width: int | None = None):
        self.what = what
        if width is not None:   # checked before anything is resumed or started
            shape = _shape(run_info(run, db, density))
            if shape != (width,):
                raise ValueError(f"the SAE has {width} features (cfg.d_sae), run '{run}' has {list(shape)}: "
                                 f"attach it to a run created with `density create {run} --features {width}`")
        state = latest_state(run, db=db, density=density) if resume else None
        self.recorder = DensityRecorder(run, db=db, every=every, density=density, loggers=loggers, mirror=mirror,
                                        mirror_every=mirror_every)
        info = self.recorder.run_info
        if "fire_threshold" not in info:
            raise RuntimeError("this `density` does not report runs' fire thresholds (density runs --format json); "
                               "install the feature_density wheel it came with, or a newer one")
        self.shape = self.recorder.shape
        self.threshold = float(info["fire_threshold"])
        self._thresholds: dict = {}
        self.counts = None
        self.vectors = 0
        self.step = 0
        self.passes = 0
        self._pending = None        # the last step passed to step() and skipped
        self._since = None          # counts added since that step (an exception before its next step)
        self._since_vectors = 0
        if state is not None:
            import torch

            self.counts = torch.from_numpy(state["neuron_fired_count"])
            self.vectors = state["num_activation_vectors"]
            self.step = state["step"]

    def count(self, activations) -> None:
        """Adds a batch: activations of shape ``[batch, *run shape]``.

        Raises:
            ValueError: activations whose shape is not ``[batch, features]`` (or ``[batch,
                components, features]`` for a run with components), saying what to pass.
        """
        import torch

        with torch.no_grad():
            acts = activations.detach()
            if acts.dim() != 1 + len(self.shape) or tuple(acts.shape[1:]) != self.shape:
                expected = "[batch, features]" if len(self.shape) == 1 else "[batch, components, features]"
                hint = ""
                if len(self.shape) == 1 and acts.dim() > 2 and acts.shape[-1] == self.shape[0]:
                    hint = (f"; for one vector per token, flatten the leading axes: "
                            f"acts.reshape(-1, {self.shape[0]})")
                raise ValueError(f"{self.what} of shape {list(acts.shape)} do not fit run '{self.recorder.run}' "
                                 f"({list(self.shape)}): pass {expected}{hint}")
            threshold = self._thresholds.get(acts.dtype)
            if threshold is None:
                threshold = self._thresholds[acts.dtype] = fire_threshold_for(acts.dtype, self.threshold)
            fired = (acts > threshold).sum(dim=0)
            if self.counts is None:
                self.counts = torch.zeros(self.shape, dtype=torch.int64, device=fired.device)
            elif self.counts.device != fired.device:
                self.counts = self.counts.to(fired.device)
            self.counts += fired
            if self._pending is not None:
                self._since = fired if self._since is None else self._since + fired
                self._since_vectors += acts.shape[0]
        self.vectors += acts.shape[0]
        self.passes += 1

    def mark(self, step: int, force: bool = False) -> bool:
        """The state now is that of ``step``: sends it when due; returns whether it did."""
        self.step = step
        self._since, self._since_vectors = None, 0
        if self.counts is None:
            return False
        if step % self.recorder.every and not force:
            self._pending = step
            return False
        self._pending = None
        return self.recorder.record(step, self.counts, self.vectors, force=True)

    def close(self, silent_reason: str | None = None) -> int:
        """Sends the last skipped step and waits for density (see :meth:`DensityRecorder.close`).

        ``silent_reason``: the warning when nothing was ever counted (a hook that saw no training pass).
        """
        self._send_pending()
        if self.passes == 0 and silent_reason:
            warnings.warn(silent_reason, RuntimeWarning, stacklevel=3)
        return self.recorder.close()

    def exit(self, exc_type, exc, traceback) -> None:
        """Leaves a ``with`` block: the last step is sent even when an exception ends it."""
        try:
            self._send_pending()
        finally:
            self.recorder.__exit__(exc_type, exc, traceback)

    def _send_pending(self) -> None:
        if self._pending is None or self.counts is None or not self.recorder.enabled:
            return
        step, self._pending = self._pending, None
        counts, vectors = self.counts, self.vectors
        if self._since is not None:   # counted after the step: not part of its state
            counts, vectors = counts - self._since, vectors - self._since_vectors
        self.recorder.record(step, counts, vectors, force=True)


class CountsView:
    """The live state of a hook's :class:`FiringCounter` (``self._counter``)."""

    _counter: FiringCounter

    @property
    def counts(self):
        """Per-feature firing counts since the run started: an int64 tensor on the activations'
        device (None before any)."""
        return self._counter.counts

    @property
    def vectors(self) -> int:
        """Activation vectors seen since the run started."""
        return self._counter.vectors

    @property
    def fire_threshold(self) -> float:
        """The run's fire threshold: an activation fires when it is greater."""
        return self._counter.threshold

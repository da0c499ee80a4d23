"""What the TensorBoard and W&B destinations share: reading a run's summaries in one call and
logging the checkpoints not logged yet, as a backfill or live beside a recorder."""

from __future__ import annotations

import math
import threading
import time
import warnings

import numpy as np

from .errors import NoCheckpointError
from .store import Store

__all__ = ["SummaryLogger", "histogram_range"]


def histogram_range(histogram: np.ndarray, edges: np.ndarray) -> tuple[float, float, float, float]:
    """``(min, max, sum, sum_squares)`` of the log10 densities a 50-bin histogram holds, for the
    histogram formats that want them: the lower edge of the first non-empty bin, the upper edge of
    the last, and sums with every value at its bin's midpoint (dead features at -10 exactly)."""
    filled = np.nonzero(histogram)[0]
    if filled.size == 0:
        return 0.0, 0.0, 0.0, 0.0
    middles = (edges[:-1] + edges[1:]) / 2
    middles[0] = edges[0] if filled[0] == 0 else middles[0]
    counts = histogram.astype(np.float64)
    return float(edges[filled[0]]), float(edges[filled[-1] + 1]), float(counts @ middles), float(counts @ middles ** 2)


class SummaryLogger:
    """A logger for ``DensityRecorder(..., loggers=[...])``: after ``attach(run, db)``, each
    ``stored(step)`` reads the run's summaries (one ``density summaries``) at most every
    ``every_seconds`` and logs the checkpoints not logged yet, on a thread of its own so that the
    recorder's sender never waits for it; ``close()`` logs the rest, once every state the recorder
    sent is stored. Subclasses say how a checkpoint is logged (``_log``).

    Args:
        every_seconds: The least time between two reads of the store while training runs.
        density: The ``density`` binary (default: the one this package ships).
    """

    def __init__(self, every_seconds: float = 30.0, density: str | None = None):
        self.every_seconds = float(every_seconds)
        self.density = density
        self.run: str | None = None
        self.db: str | None = None
        self.logged_step: int | None = None     # the last checkpoint logged
        self._last_read = -math.inf
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def attach(self, run: str, db: str | None) -> None:
        """Called once by the recorder when it starts."""
        self.run, self.db = run, db

    def stored(self, step: int) -> None:
        """Called by the recorder after it sent the state of ``step``: starts a catch-up in the
        background when ``every_seconds`` have passed since the last read and none is running."""
        if time.monotonic() - self._last_read < self.every_seconds:
            return
        if self._worker is not None and self._worker.is_alive():
            return
        self._last_read = time.monotonic()
        self._worker = threading.Thread(target=self._catch_up_quietly, name="density-logger", daemon=True)
        self._worker.start()

    def _catch_up_quietly(self) -> None:
        try:
            self.catch_up()
        except Exception as error:  # a destination's trouble must never reach training
            warnings.warn(f"{type(self).__name__}: could not log run {self.run!r}: {error}", RuntimeWarning)

    def close(self) -> None:
        """Called by the recorder once every state is stored: waits for a catch-up under way, logs
        the checkpoints left, then finishes the destination."""
        try:
            if self._worker is not None:
                self._worker.join()
            self.catch_up()
        finally:
            self._finish()

    def catch_up(self) -> int:
        """Logs every checkpoint stored after the last one logged; returns how many."""
        if self.run is None:
            raise RuntimeError("attach(run, db) first: the logger does not know which run to read")
        with self._lock:
            self._last_read = time.monotonic()
            try:
                summaries = Store(self.db, self.density).summaries(self.run)
            except NoCheckpointError:
                return 0
            rows = np.arange(summaries.count) if self.logged_step is None else \
                np.nonzero(summaries["step"] > self.logged_step)[0]
            for row in rows:
                self._log(summaries, int(row))
            if rows.size:
                self.logged_step = int(summaries["step"][rows[-1]])
                self._flush()
            return int(rows.size)

    def _log(self, summaries, row: int) -> None:
        raise NotImplementedError

    def _flush(self) -> None:
        pass

    def _finish(self) -> None:
        pass

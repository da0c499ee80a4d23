"""A run's exact density history in TensorBoard, through torch's ``SummaryWriter``.

Per checkpoint, at its step: the histogram of log10(density + 1e-10) (``feature_density/histogram``)
and the scalars ``feature_density/dead``, ``dense``, ``mean_log10_density``, ``mean_density`` and
``vectors``. Backfill a recorded run::

    from feature_density import tensorboard
    tensorboard.write("runs.sqlite", "l1-1e-3", "tb/l1-1e-3")      # then: tensorboard --logdir tb

or log live while recording: ``DensityRecorder(..., loggers=[tensorboard.Logger("tb/l1-1e-3")])``.
A sweep, each run in a folder of its own so that TensorBoard overlays them::

    tensorboard.write_runs("mirrors/*.sqlite", "tb")                 # tb/l1-1e-3, tb/l1-3e-3, ...

The histogram is the 50 bins stored with each checkpoint (0.2 wide over [-10, 0], the first
holding the dead features): TensorBoard bucket ``i`` holds stored bin ``[e_i, e_i+1)`` and is
labelled by its upper edge ``e_i+1``, so its counts are exactly ``density histogram --step S
--bins 50``'s. ``mean_log10_density`` comes from that histogram (within 0.1 of the exact mean).
"""

from __future__ import annotations

import os

from ._live import SummaryLogger, histogram_range
from .store import Store

__all__ = ["write", "write_runs", "Logger", "log_checkpoint", "PREFIX"]

PREFIX = "feature_density/"


def _summary_writer(logdir):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:  # torch without the tensorboard package
        raise ImportError(f"feature_density.tensorboard needs torch and tensorboard "
                          f"(pip install torch tensorboard): {error}") from error
    return SummaryWriter(log_dir=logdir)


def log_checkpoint(writer, summaries, row: int, prefix: str = PREFIX) -> None:
    """Writes checkpoint ``row`` of :class:`~feature_density.Summaries` to a ``SummaryWriter``."""
    step = int(summaries["step"][row])
    writer.add_scalar(prefix + "vectors", int(summaries["vectors"][row]), step)
    writer.add_scalar(prefix + "dead", int(summaries["dead"][row]), step)
    writer.add_scalar(prefix + "dense", int(summaries["dense"][row]), step)
    if summaries["vectors"][row] > 0:  # no vectors: no densities, so no histogram and no means
        writer.add_scalar(prefix + "mean_density", float(summaries["mean_density"][row]), step)
        writer.add_scalar(prefix + "mean_log10_density", float(summaries["mean_log10_density"][row]), step)
        histogram = summaries["histogram"][row]
        low, high, total, squares = histogram_range(histogram, summaries.edges)
        writer.add_histogram_raw(prefix + "histogram", min=low, max=high, num=int(histogram.sum()), sum=total,
                                 sum_squares=squares, bucket_limits=summaries.edges[1:].tolist(),
                                 bucket_counts=histogram.tolist(), global_step=step)


def write(db: str | None, run: str, logdir: str | None = None, writer=None, prefix: str = PREFIX,
          density: str | None = None) -> int:
    """Backfills every checkpoint of ``run`` into TensorBoard, from one read of the stored summaries.

    Args:
        db: The store (default: ``$DENSITY_DB``, else ``./density.sqlite``).
        run: The run's name.
        logdir: The folder to write the event file into (a new ``SummaryWriter``, closed at the end).
        writer: A ``SummaryWriter`` of your own instead (left open).
        prefix: The start of every tag.
        density: The ``density`` binary (default: the one this package ships).

    Returns:
        The number of checkpoints written.
    """
    if (logdir is None) == (writer is None):
        raise ValueError("give logdir (a folder for a new event file) or writer (a SummaryWriter), not both")
    summaries = Store(db, density).summaries(run)
    own = writer is None
    writer = writer if writer is not None else _summary_writer(logdir)
    try:
        for row in range(summaries.count):
            log_checkpoint(writer, summaries, row, prefix)
        writer.flush()
    finally:
        if own:
            writer.close()
    return summaries.count


def write_runs(db: str | None, logdir: str, runs=None, prefix: str = PREFIX, density: str | None = None) -> dict:
    """Backfills every run of the store, or of a sweep's stores (a quoted glob such as
    ``"mirrors/*.sqlite"``), each into ``logdir/<run>``: TensorBoard shows the runs of a folder
    side by side, so the sweep's histograms and scalars overlay.

    A run two stores hold is named ``name@store`` (as ``density runs`` lists it); a ``/`` in a
    name becomes ``_`` in its folder's name. A run with no checkpoint yet gets no folder.

    Args:
        db: The store or stores (default: ``$DENSITY_DB``, else ``./density.sqlite``).
        logdir: The folder that gets one folder per run.
        runs: The runs' names (default: every run).
        prefix: The start of every tag.
        density: The ``density`` binary (default: the one this package ships).

    Returns:
        Each run's name and the number of checkpoints written for it (0: none yet).
    """
    from .errors import NoCheckpointError

    names = list(runs) if runs is not None else [row["name"] for row in Store(db, density).runs()]
    written = {}
    for name in names:
        folder = name.replace("/", "_").replace(os.sep, "_")
        if folder in (".", ".."):
            folder = "_" + folder
        try:
            written[name] = write(db, name, os.path.join(logdir, folder), prefix=prefix, density=density)
        except NoCheckpointError:
            written[name] = 0
    return written


class Logger(SummaryLogger):
    """Logs the checkpoints a ``DensityRecorder`` stores into TensorBoard as they land (the same
    tags as :func:`write`): pass it in ``loggers=[...]``.

    Args:
        logdir: The folder for a new ``SummaryWriter`` (closed by ``close()``), or
        writer: a ``SummaryWriter`` of your own (left open).
        every_seconds: The least time between two reads of the store while training runs.
        prefix: The start of every tag.
    """

    def __init__(self, logdir: str | None = None, writer=None, every_seconds: float = 30.0, prefix: str = PREFIX,
                 density: str | None = None):
        if (logdir is None) == (writer is None):
            raise ValueError("give logdir (a folder for a new event file) or writer (a SummaryWriter), not both")
        super().__init__(every_seconds, density)
        self.logdir, self.prefix = logdir, prefix
        self._own = writer is None
        self.writer = writer if writer is not None else _summary_writer(logdir)

    def _log(self, summaries, row: int) -> None:
        log_checkpoint(self.writer, summaries, row, self.prefix)

    def _flush(self) -> None:
        self.writer.flush()

    def _finish(self) -> None:
        if self._own:
            self.writer.close()
        else:
            self.writer.flush()
